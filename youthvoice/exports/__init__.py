"""Exports staff can open in Excel: survey answers, workshop statements, exit records, effect goals."""
