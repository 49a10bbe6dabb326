"""Figures of one cell from its published counts, as a release publishes them.

The one interface the release uses (analysis/release.py):

* ``goal(achieved, n, target, min_cell, release)``: the CONTRACT goal object. ``release`` is
  "final" (the period has closed: the verdict is the exact noise-aware test at 2.5 % a side)
  or "preliminary" (share and interval, no verdict: "undetermined" with
  ``verdict_reason: "preliminary"``). Only the final release of a period judges, so at a true
  share equal to the target "met" and "not met" are each shown at most 2.5 % of the time over
  all the releases of the period, however many preliminary releases the calendar and an
  agreement's steering-group dates add (docs/statistics.md, 3 and 4).
* ``parity(women, men, band, min_cell, release)``: the same for parity against its band.
* ``outlook(achieved, n, target, intake, verdict, release, period_kind)``: the chance that the
  next release that judges the goal (this period's final one, or after a final release the
  next period's) settles it.
* ``prime(requests)``: computes many cells together first (a release has thousands).

The test is exact at every n (verdicts.p_values / verdicts.intervals: a window of true counts
around the published one, so the cost does not grow with n), memoised per cell.

Pure module: numpy, scipy, stdlib, cellkey, verdicts, equality, outlook.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import equality, verdicts
from .outlook import outlook as _outlook

ALPHA = verdicts.ALPHA
RELEASES = ("final", "preliminary")


def _round(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def _out(lo: float, hi: float) -> list[float]:
    """Bounds rounded outwards to 3 decimals."""
    return [math.floor(lo * 1000 + 1e-9) / 1000, math.ceil(hi * 1000 - 1e-9) / 1000]


def shown_bounds(lo: float, hi: float, below: float | None = None, above: float | None = None) -> list[float]:
    """Bounds rounded outwards to 3 decimals, with more decimals where 3 would make a bound that
    lies strictly below `below` (above `above`) print as equal to it: "not met" must never sit
    beside an upper bound printed as exactly the target."""
    out = _out(lo, hi)
    for digits in (4, 5, 6):
        f = 10**digits
        if below is not None and hi < below <= out[1]:
            out[1] = math.ceil(hi * f - 1e-12) / f
        if above is not None and lo > above >= out[0]:
            out[0] = math.floor(lo * f + 1e-12) / f
    return out


# ------------------------------------------------------------------ intervals and p-values

_INTERVALS: dict[tuple[int, int], tuple[float, float]] = {}   # (capped achieved, n) -> bounds
_PVALUES: dict[tuple[int, int, float], tuple[float, float]] = {}
_MAX = 1_000_000


# With few answers the exact test's lower bound is not always monotone in n (13 cells, all at
# n <= 16: 12/12 gives 0.609, 12/13 gives 0.621; the blocked published counts 1 and 2 make small
# true counts lumpy). So the published lower bound of a of n is the lowest over a of n' for
# every n' from a to n, the upper bound the highest over n' from n to MONO_N + 1; above MONO_N
# the raw bounds are monotone already, and widening keeps the coverage. Then both bounds are
# monotone in both counts (tests/analysis/test_promises.py checks n up to 70, the verdicts to 150).
MONO_N = 20


def _span(a: int, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    low = [(a, m) for m in range(max(a, 1), min(n, MONO_N) + 1)] + [(a, n)]
    high = [(a, m) for m in range(n, MONO_N + 2)] + [(a, n)]
    return low, high


def _fill(cells: set[tuple[int, int]], targets: dict[float, set[tuple[int, int]]]) -> None:
    if len(_INTERVALS) + len(cells) > _MAX:
        _INTERVALS.clear()
    want = {c for c in cells if c not in _INTERVALS}
    raw = set()
    for c in want:
        low, high = _span(*c)
        raw.update(low, high)
    todo = sorted(raw)
    if todo:
        a, n = (np.array(x) for x in zip(*todo))
        lo, hi = verdicts.intervals(a, n)
        got = {c: (float(lo[i]), float(hi[i])) for i, c in enumerate(todo)}
        for c in want:
            low, high = _span(*c)
            _INTERVALS[c] = (min(got[x][0] for x in low), max(got[x][1] for x in high))
    for t, cs in targets.items():
        todo = sorted(c for c in cs if (*c, t) not in _PVALUES)
        if not todo:
            continue
        if len(_PVALUES) + len(todo) > _MAX:
            _PVALUES.clear()
        a, n = (np.array(x) for x in zip(*todo))
        p_le, p_ge = verdicts.p_values(a, n, t)
        _PVALUES.update({(*c, t): (float(p_le[i]), float(p_ge[i])) for i, c in enumerate(todo)})


def interval(a: int, n: int) -> tuple[float, float]:
    """Unrounded 95 % interval of capped published counts (memoised)."""
    if (a, n) not in _INTERVALS:
        _fill({(a, n)}, {})
    return _INTERVALS[(a, n)]


def p_pair(a: int, n: int, target: float) -> tuple[float, float]:
    """(p for "share <= target", p for "share >= target") of capped published counts (memoised)."""
    if (a, n, target) not in _PVALUES:
        _fill(set(), {target: {(a, n)}})
    return _PVALUES[(a, n, target)]


def _hidden(a: int, n: int, min_cell: int) -> range | None:
    """The achieved counts a hidden achieved count stands for: 1..min_cell-1 (zero is shown as
    zero; a published count of 1 to min_cell - 1 is never printed, CONTRACT)."""
    if 0 < a < min_cell:
        return range(1, min(min_cell - 1, n) + 1)
    return None


def prime(requests) -> None:
    """Computes the figures of many cells at once: every (achieved, n, target, min_cell) goes
    through verdicts' vectorised exact test in one pass per target (a release asks for
    thousands of cells; one by one each would pay numpy's call overhead)."""
    cells: set[tuple[int, int]] = set()
    targets: dict[float, set[tuple[int, int]]] = {}
    for a_pub, n, target, min_cell in requests:
        if n < min_cell or n <= 0:
            continue
        a = max(0, min(int(a_pub), int(n)))
        hidden = _hidden(a, n, min_cell)
        for x in (hidden if hidden else (a,)):
            cells.add((x, int(n)))
            targets.setdefault(float(target), set()).add((x, int(n)))
    _fill(cells, targets)


_GOALS: dict[tuple, dict] = {}


def goal(achieved_pub: int, n_pub: int, target: float, min_cell: int, release: str = "final") -> dict:
    """CONTRACT goal figures (target, n, achieved, share, ci95, verdict, the two named p-values).

    Memoised: a pure function of its arguments (the same dict is returned; callers copy it).
    An achieved count of 1 to min_cell - 1 is not printed: ``achieved`` and ``share`` are None,
    ``achieved_below`` is min_cell, and the interval and verdict are those that hold for every
    achieved count it may stand for (the union of their intervals), so they reveal nothing more.
    """
    if release not in RELEASES:
        raise ValueError(f"release must be one of {RELEASES}")
    key = (achieved_pub, n_pub, float(target), min_cell, release)
    hit = _GOALS.get(key)
    if hit is None:
        if len(_GOALS) >= _MAX:
            _GOALS.clear()
        hit = _GOALS[key] = _goal(*key)
    return hit


def _goal(achieved_pub: int, n_pub: int, target: float, min_cell: int, release: str) -> dict:
    if n_pub < min_cell or n_pub <= 0:
        return {"target": target, "verdict": "suppressed"}
    a = max(0, min(int(achieved_pub), int(n_pub)))
    hidden = _hidden(a, n_pub, min_cell)
    cands = hidden if hidden else (a,)
    bounds = [interval(x, n_pub) for x in cands]
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    ps = [p_pair(x, n_pub, target) for x in cands]
    p_le, p_ge = max(p[0] for p in ps), max(p[1] for p in ps)
    # decided on the p-values at the target; where a small cell's interval was widened (MONO_N)
    # the verdict also needs the widened interval to agree, so the page never contradicts itself
    verdict = ("met" if p_le <= ALPHA and lo >= target else "not_met" if p_ge < ALPHA and hi < target
               else "undetermined")
    out = {"target": target, "n": int(n_pub), "achieved": None if hidden else a,
           "share": None if hidden else _round(a / n_pub), "ci95": shown_bounds(lo, hi, below=target),
           "verdict": verdict, "p_null_share_le_target": _round(p_le, 4), "p_null_share_ge_target": _round(p_ge, 4)}
    if hidden:
        out["achieved_below"] = min_cell
    if release == "preliminary":
        out.update(verdict="undetermined", verdict_reason="preliminary",
                   p_null_share_le_target=None, p_null_share_ge_target=None)
    return out


@lru_cache(maxsize=65536)
def parity(women_pub: int, men_pub: int, band: tuple[float, float], min_cell: int,
           release: str = "final") -> dict:
    """Women's share among the women and men who reached the goal, judged against the band
    (equality.parity: the exact noise-aware test up to PARITY_EXACT reaching the goal, above it
    the Clopper-Pearson envelope over every true pair the published ones can come from, which
    is conservative). A preliminary release shows the share and interval but no verdict."""
    if release not in RELEASES:
        raise ValueError(f"release must be one of {RELEASES}")
    t = women_pub + men_pub
    if women_pub < min_cell or men_pub < min_cell or t <= 0:
        return {"band": list(band), "verdict": "suppressed"}
    if t <= PARITY_EXACT:
        out = equality.parity(women_pub, men_pub, band, min_cell, digits=None)
        lo, hi = out["ci95"]
        v = out["verdict"]
    else:
        d = verdicts.D
        # women's share w/(w+m) is lowest with the fewest women and the most men, and the other way round
        lo = verdicts.clopper_pearson(max(women_pub - d, 0), max(women_pub - d, 0) + men_pub + d)[0]
        hi = verdicts.clopper_pearson(women_pub + d, women_pub + d + max(men_pub - d, 0))[1]
        v = "met" if band[0] <= lo and hi <= band[1] else "not_met" if hi < band[0] or lo > band[1] else "undetermined"
    out = {"band": list(band), "women": women_pub, "men": men_pub, "share_women": _round(women_pub / t),
           "ci95": shown_bounds(lo, hi, below=band[0] if v == "not_met" else None,
                                above=band[1] if v == "not_met" else None), "verdict": v}
    if release == "preliminary":
        out.update(verdict="undetermined", verdict_reason="preliminary")
    return out


PARITY_EXACT = 30


@lru_cache(maxsize=65536)
def women_vs_men(kw: int, nw: int, km: int, nm: int, min_cell: int) -> dict:
    return equality.women_vs_men(kw, nw, km, nm, min_cell=min_cell)


@lru_cache(maxsize=65536)
def outlook(achieved_pub: int | None, n_pub: int, target: float, next_intake: int, verdict: str,
            release: str = "final", period_kind: str = "term") -> dict:
    """outlook.outlook (the chance that the next release that judges the goal settles it),
    rounded for publishing. ``next_intake``: in a preliminary release, the answers expected
    before the period closes; in a final one, a period's intake (the next period's answers)."""
    if achieved_pub is None:   # a hidden small achieved count: the share is too small to say more
        return {"kind": "no_data", "probability": None}
    out = _outlook(achieved_pub, n_pub, target, next_intake, release=release, period_kind=period_kind,
                   verdict=verdict)
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in out.items()}
