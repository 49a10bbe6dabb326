"""Reporting periods from the stored month: 2026, 2026-VT, 2026-HT, 2026-Q3."""

from __future__ import annotations

import datetime as dt
import re

from youthvoice.errors import FieldError

_PERIOD = re.compile(r"^(\d{4})(?:-(VT|HT|Q[1-4]))?$")


def parse_period(period: str) -> tuple[int, int]:
    """Inclusive month range as YYYYMM integers."""
    m = _PERIOD.match(period or "")
    if not m:
        raise FieldError("period", "use YYYY, YYYY-VT, YYYY-HT or YYYY-Qn, for example 2026-HT")
    year, part = int(m.group(1)), m.group(2)
    if not 2000 <= year <= 2100:
        raise FieldError("period", "year out of range")
    if part is None:
        first, last = 1, 12
    elif part == "VT":
        first, last = 1, 6
    elif part == "HT":
        first, last = 7, 12
    else:
        q = int(part[1])
        first, last = 3 * q - 2, 3 * q
    return year * 100 + first, year * 100 + last


def current_term(day: dt.date) -> str:
    return f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"


def split_period(period: str) -> tuple[int, str]:
    """(year, part) with part "", "VT", "HT" or "Q1".."Q4"; validates like parse_period."""
    first, _ = parse_period(period)
    return first // 100, period[5:] if len(period) > 4 else ""


def periods_of_year(year: int) -> list[str]:
    return [str(year), f"{year}-VT", f"{year}-HT", *(f"{year}-Q{q}" for q in range(1, 5))]
