"""The words the PDF report and the exports use for the newer fields of a published goal: the
outlook's horizon, a preliminary release's missing verdict (verdict_reason "preliminary") and an
achieved count under min_cell (achieved_below). The HTML pages say the same in
templates/analysis/_macros.html, with the same message ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Translate = Callable[..., str]


def period_kind(period: str | None) -> str:
    """"year" (2026), "term" (2026-VT, 2026-HT) or "quarter" (2026-Q3)."""
    p = period or ""
    return "year" if len(p) == 4 else "term" if p[5:] in ("VT", "HT") else "quarter"


def _kind_of(f: dict, period: str | None) -> str:
    horizon = ((f.get("outlook") or {}).get("horizon") or "")
    if horizon.startswith("end_of_"):
        return horizon[len("end_of_"):]
    return period_kind(period)


def preliminary_verdict(f: dict, period: str | None, _: Translate) -> str:
    """Why a preliminary release has no verdict, in the words of the period."""
    kind = _kind_of(f, period)
    if kind == "year":
        return _("Preliminary figures: whether the goal is met is decided when the year is over.")
    if kind == "quarter":
        return _("Preliminary figures: whether the goal is met is decided when the quarter is over.")
    return _("Preliminary figures: whether the goal is met is decided when the term is over.")


def is_preliminary(f: dict) -> bool:
    return f.get("verdict") == "undetermined" and f.get("verdict_reason") == "preliminary"


def outlook_text(o: dict | None, pct: Callable[[float], str], _: Translate) -> str | None:
    """The outlook of an undetermined goal in one sentence, or None when there is nothing to say."""
    o = o or {}
    kind = o.get("kind")
    if kind == "will_not_settle_soon":
        horizon = o.get("horizon")
        if horizon == "end_of_term":
            return _("The final figures will probably not settle it when the term is over: the share is too close "
                     "to the target, or too few answers are still to come.")
        if horizon == "end_of_quarter":
            return _("The final figures will probably not settle it when the quarter is over: the share is too "
                     "close to the target, or too few answers are still to come.")
        if horizon == "end_of_year":
            return _("The final figures will probably not settle it when the year is over: the share is too close "
                     "to the target, or too few answers are still to come.")
        return _("The share is so close to the target that more answers will not settle it soon.")
    if kind != "next_release" or o.get("probability") is None:
        return None
    p = {"p": pct(o["probability"])}
    horizon = o.get("horizon")
    if horizon == "end_of_term":
        return _("If answers keep coming as before, the chance that the final figures settle the verdict when "
                 "the term is over is about %(p)s %%.") % p
    if horizon == "end_of_quarter":
        return _("If answers keep coming as before, the chance that the final figures settle the verdict when "
                 "the quarter is over is about %(p)s %%.") % p
    if horizon == "end_of_year":
        return _("If answers keep coming as before, the chance that the final figures settle the verdict when "
                 "the year is over is about %(p)s %%.") % p
    if horizon == "next_quarter":
        return _("If next quarter brings as many answers as this period, the chance that they settle the verdict "
                 "is about %(p)s %%.") % p
    if horizon == "next_year":
        return _("If next year brings as many answers as this period, the chance that they settle the verdict "
                 "is about %(p)s %%.") % p
    return _("If next term brings as many answers as this period, the chance that they settle the verdict is "
             "about %(p)s %%.") % p


def fewer_than(f: dict, _: Translate) -> str | None:
    """"fewer than 5" for a shown cell whose achieved count is hidden, else None."""
    below = f.get("achieved_below")
    if f.get("achieved") is None and below:
        return _("fewer than %(m)s") % {"m": below}
    return None


def achieved_cell(f: dict, _: Translate) -> Any:
    """The achieved count as an export shows it: the count, "fewer than 5", or empty (suppressed)."""
    return fewer_than(f, _) or f.get("achieved")
