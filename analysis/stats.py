"""Effect-goal statistics: pure functions, no database, no HTTP.

Groups are small (10-200 answers), so every share comes with its n, a 95 %
Wilson interval, an exact binomial p-value and a verdict that may be
"undetermined". Disclosure control lives here too, so that every caller
hides the same cells.

Rounding happens only when a dict for output is built; verdicts are decided
on unrounded values.
"""

from __future__ import annotations

from math import sqrt
from typing import TypedDict

from scipy.special import bdtr

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
GENDERS = ("woman", "man", "non_binary", "undisclosed")
PARITY_BAND = (0.40, 0.60)  # Swedish government: an even distribution is 40-60 % each


class GoalFigures(TypedDict, total=False):
    target: float
    n: int
    achieved: int
    share: float | None
    ci95: list[float]
    p_below_target: float | None
    verdict: str
    answers_needed: int | None


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Two-sided Wilson score interval; it behaves well at 0 and n, unlike the Wald interval.

    k may be fractional (answers_needed asks about a share kept exactly constant).
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k == 0 or k == n the bound is exactly 0 or 1; float rounding would leave a hair off.
    return (0.0 if k <= 0 else max(0.0, centre - half)), (1.0 if k >= n else min(1.0, centre + half))


def p_below_target(k: int, n: int, target: float) -> float | None:
    """Exact one-sided binomial p-value for "the true share is below the target"."""
    if n == 0:
        return None
    # P(X <= k) for X ~ Bin(n, target), which is binomtest(..., alternative="less").pvalue.
    # scipy.special alone, imported on first use: scipy.stats costs ~0.5 s and ~50 MB more (BENCHMARKS.md).
    return min(1.0, float(bdtr(k, n, target)))


def verdict(lo: float, hi: float, target: float) -> str:
    if lo >= target:
        return "met"
    if hi < target:
        return "not_met"
    return "undetermined"


def newcombe_diff(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (his method 10) for p1 - p2, built from two Wilson intervals."""
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return (d - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def answers_needed(k: int, n: int, target: float, max_extra: int = 100000) -> int | None:
    """About how many more answers, at the present share, would settle the verdict.

    0 if already settled; None if there is no share yet, the share equals the
    target (more answers never settle it) or it takes more than max_extra.
    The share is kept exactly (k' = share * (n + m), not rounded to whole
    answers): at a fixed share the Wilson bounds only narrow as n grows, so
    "decided" is monotone in m and the search below finds the smallest m.
    Rounding k' instead makes the verdict flicker near the boundary and the
    answer jump by tens.
    """
    if n == 0:
        return None
    share = k / n

    def decided(m: int) -> bool:
        return verdict(*wilson(share * (n + m), n + m), target) != "undetermined"

    if decided(0):
        return 0
    if share == target:
        return None
    lo, hi = 0, 1  # decided(lo) is False; look for an hi where it is True
    while not decided(hi):
        if hi >= max_extra:
            return None
        lo, hi = hi, min(2 * hi, max_extra)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decided(mid):
            hi = mid
        else:
            lo = mid
    return hi


def goal_figures(achieved: int, n: int, target: float, min_cell: int) -> GoalFigures:
    """The CONTRACT goal fields; below min_cell only the target and "suppressed"."""
    if n < min_cell:
        return {"target": target, "verdict": "suppressed"}
    lo, hi = wilson(achieved, n)
    return {
        "target": target,
        "n": n,
        "achieved": achieved,
        "share": _r(achieved / n) if n else None,
        "ci95": [_r(lo), _r(hi)],
        "p_below_target": _r(p_below_target(achieved, n, target)),
        # n == 0 (only reachable with min_cell <= 0): no data, so nothing can be told.
        "verdict": verdict(lo, hi, target) if n else "undetermined",
        "answers_needed": answers_needed(achieved, n, target),
    }


def parity(women_achieved: int, men_achieved: int, min_cell: int,
           target_share_women: float = 0.5, band: tuple[float, float] = PARITY_BAND) -> dict:
    """Women's share among women and men who achieved the goal, judged against the 40-60 % band."""
    total = women_achieved + men_achieved
    if total < min_cell or total == 0:
        return {"target_share_women": target_share_women, "verdict": "suppressed"}
    lo, hi = wilson(women_achieved, total)
    if band[0] <= lo and hi <= band[1]:
        v = "met"
    elif hi < band[0] or lo > band[1]:
        v = "not_met"
    else:
        v = "undetermined"
    return {"target_share_women": target_share_women, "women": women_achieved, "men": men_achieved,
            "share_women": _r(women_achieved / total), "ci95": [_r(lo), _r(hi)], "verdict": v}


def suppress_cells(cells: dict[str, int], min_cell: int, total_known: bool = True,
                   achieved: dict[str, int] | None = None) -> set[str]:
    """Keys of the cells to hide when the cells and their total are published.

    Zero cells are shown: a 0 says nothing about any person. A reader who
    knows that therefore knows every hidden cell holds at least 1, which the
    checks below take into account.

    Primary suppression hides 0 < count < min_cell. With the total published,
    the hidden cells' sum is known, so more cells are hidden (the smallest
    visible non-zero one first) while a hidden cell can still be worked out:
    only one is hidden, or all hidden cells must be 1. With ``achieved``
    (achieved count per cell, also published for visible cells), it is also
    required that the hidden cells did not all achieve or all fail the goal,
    which would give away every hidden cell's share (0 or 1).

    If nothing is left to hide the loop stops; then the caller must not publish
    the total either (for the effect goals the total is itself below min_cell).
    """
    hidden = {key for key, c in cells.items() if 0 < c < min_cell}
    if not total_known:
        return hidden

    def derivable() -> bool:
        if not hidden:
            return False
        sn = sum(cells[key] for key in hidden)
        if len(hidden) == 1 or sn == len(hidden):
            return True
        if achieved is not None:
            sk = sum(achieved[key] for key in hidden)
            return sk == 0 or sk == sn
        return False

    while derivable():
        spare = sorted((c, key) for key, c in cells.items() if c > 0 and key not in hidden)
        if not spare:
            break
        hidden.add(spare[0][1])
    return hidden


def _gender_keys(counts: dict) -> tuple[str, ...]:
    return GENDERS + tuple(g for g in counts if g not in GENDERS)


def gender_breakdown(counts: dict[str, tuple[int, int]], target: float, min_cell: int,
                     hidden: set[str] | None = None) -> dict[str, dict]:
    """Goal figures per gender; all four genders always present, never silently dropped.

    Visible cells publish n and achieved, so both are protected: suppress_cells
    gets the achieved counts too. A zero cell is below min_cell and, as the
    contract says, shown as suppressed (it has no share to show anyway).
    """
    cells = {g: counts.get(g, (0, 0)) for g in _gender_keys(counts)}
    hidden = suppress_cells({g: n for g, (_, n) in cells.items()}, min_cell,
                            achieved={g: k for g, (k, _) in cells.items()}) | (hidden or set())
    out: dict[str, dict] = {}
    for g, (k, n) in cells.items():
        fig = goal_figures(k, n, target, min_cell)
        if g in hidden or fig["verdict"] == "suppressed":
            out[g] = {"target": target, "verdict": "suppressed"}
        else:
            out[g] = {**fig, "rate": fig["share"]}
    return out


def effect_goal(goal: str, achieved: int, n: int, by_gender: dict[str, tuple[int, int]],
                target: float, min_cell: int, parity_target: float = 0.5,
                hidden: set[str] | None = None, total_hidden: bool = False) -> dict:
    """The full CONTRACT goal object: overall figures, by_gender, parity, women_vs_men.

    ``hidden`` / ``total_hidden`` add the cells that disclosure.protect hides
    across views (periods, unit sets), on top of this table's own suppression.
    """
    figures = goal_figures(achieved, n, target, min_cell)
    if total_hidden:
        figures = {"target": target, "verdict": "suppressed"}
    if figures["verdict"] == "suppressed":
        # The total is hidden, so every part of it is too.
        cells = {g: {"target": target, "verdict": "suppressed"} for g in _gender_keys(by_gender)}
    else:
        cells = gender_breakdown(by_gender, target, min_cell, hidden)
    (kw, nw), (km, nm) = by_gender.get("woman", (0, 0)), by_gender.get("man", (0, 0))
    # Parity publishes women's and men's achieved counts. If either gender cell
    # is hidden, those counts and the goal's total would give away what the
    # hidden cells hide, so parity is shown only when both cells are.
    if cells["woman"]["verdict"] != "suppressed" and cells["man"]["verdict"] != "suppressed":
        par = parity(kw, km, min_cell, target_share_women=parity_target)
        lo, hi = newcombe_diff(kw, nw, km, nm)
        versus = {"rate_women": _r(kw / nw), "rate_men": _r(km / nm), "diff_ci95": [_r(lo), _r(hi)]}
    else:
        par = {"target_share_women": parity_target, "verdict": "suppressed"}
        versus = {"verdict": "suppressed"}
    return {"goal": goal, **figures, "by_gender": cells, "parity": par, "women_vs_men": versus}
