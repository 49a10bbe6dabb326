"""What the analysis JSON API takes and gives."""

from __future__ import annotations

import msgspec


class ExitIn(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    month: str
    outcome: str
    gender: str
    age_band: str


class ExitSaved(msgspec.Struct):
    unit: str
    month: str
    outcome: str
