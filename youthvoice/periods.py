"""Reporting periods from the stored month: 2026, 2026-VT, 2026-HT, 2026-Q3."""

from __future__ import annotations

import datetime as dt
import re

from youthvoice.errors import FieldError
from youthvoice.i18n import N_

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


# ---------- periods in words ----------

_WORDS = {
    "": N_("the year %(year)s, Jan–Dec"),
    "VT": N_("spring term %(year)s, Jan–Jun"),
    "HT": N_("autumn term %(year)s, Jul–Dec"),
    "Q1": N_("1st quarter %(year)s, Jan–Mar"),
    "Q2": N_("2nd quarter %(year)s, Apr–Jun"),
    "Q3": N_("3rd quarter %(year)s, Jul–Sep"),
    "Q4": N_("4th quarter %(year)s, Oct–Dec"),
}
_SHORT = {"VT": N_("spring %(year)s"), "HT": N_("autumn %(year)s")}
# When a period's groups (gender parity, breakdowns) are shown: once it has ended.
_WHEN_SHOWN = {
    "": N_("Shown when the year has ended."),
    "VT": N_("Shown when the term has ended."),
    "HT": N_("Shown when the term has ended."),
    "Q": N_("Shown when the quarter has ended."),
}


def period_kind(period: str) -> str:
    """"year", "term" or "quarter"."""
    _, part = split_period(period)
    return "year" if not part else "quarter" if part.startswith("Q") else "term"


def period_words(period: str, gettext) -> str:
    """The period as a steering group reads it: "vårterminen 2026, jan–jun", "3:e kvartalet 2026, jul–sep".
    `gettext` translates (the page's `_`); an invalid period is returned as it is."""
    try:
        year, part = split_period(period)
    except FieldError:
        return period
    return gettext(_WORDS[part]) % {"year": year}


def period_short(period: str, gettext) -> str:
    """A short label for a chart axis: "vår 2026"; years and quarters as their code."""
    try:
        year, part = split_period(period)
    except FieldError:
        return period
    return gettext(_SHORT[part]) % {"year": year} if part in _SHORT else period


def shown_when_ended(period: str, gettext) -> str:
    """What stands in place of the groups while the period is open: "Visas när terminen är slut."."""
    try:
        _, part = split_period(period)
    except FieldError:
        return gettext(_WHEN_SHOWN[""])
    return gettext(_WHEN_SHOWN[part[:1] if part.startswith("Q") else part])
