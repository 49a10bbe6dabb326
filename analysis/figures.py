"""Figures of one cell from its published counts: a cached front to verdicts.py.

verdicts.py is exact with the noise included but costs tens of milliseconds a cell, and a
release judges many cells whose (achieved, n) repeat; so each result is cached. Above LARGE
answers the exact noise-aware grid grows with n while the noise (at most 2) no longer
matters much, so there the interval is the envelope of the Clopper-Pearson intervals over
every true count the published ones can come from (each within +-2): the true counts are
among them, so each side still errs at most 2.5 % of the time (docs/statistics.md, 3).

Pure module: scipy, stdlib, cellkey and verdicts.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import stats

from . import cellkey, verdicts

LARGE = 400
D = cellkey.NOISE_MAX
ALPHA = verdicts.ALPHA


def _round(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def _out(lo: float, hi: float) -> list[float]:
    return [math.floor(lo * 1000 + 1e-9) / 1000, math.ceil(hi * 1000 - 1e-9) / 1000]


def _candidates(a_pub: int, n_pub: int, spread_a: int = D, spread_n: int = D):
    for n in range(max(n_pub - spread_n, 1), n_pub + spread_n + 1):
        for a in range(max(a_pub - spread_a, 0), min(a_pub + spread_a, n) + 1):
            yield a, n


def _envelope(a_pub: int, n_pub: int) -> tuple[float, float]:
    """The widest Clopper-Pearson bounds over every true count the published ones can come from."""
    lo, hi = 1.0, 0.0
    for a, n in _candidates(a_pub, n_pub):
        cl, ch = verdicts.clopper_pearson(a, n)
        lo, hi = min(lo, cl), max(hi, ch)
    cl, ch = verdicts.clopper_pearson(a_pub, n_pub)  # never narrower than CP of the published counts
    return min(lo, cl), max(hi, ch)


def _envelope_p(a_pub: int, n_pub: int, target: float) -> tuple[float, float]:
    """Largest one-sided exact p-values over the candidate true counts (and the published ones)."""
    cands = [*_candidates(a_pub, n_pub), (a_pub, n_pub)]
    p_le = max(float(stats.binom.sf(a - 1, n, target)) for a, n in cands)
    p_ge = max(float(stats.binom.cdf(a, n, target)) for a, n in cands)
    return p_le, p_ge


@lru_cache(maxsize=65536)
def goal(achieved_pub: int, n_pub: int, target: float, min_cell: int) -> dict:
    """CONTRACT goal figures (target, n, achieved, share, ci95, verdict and the two named p-values)."""
    if n_pub < min_cell or n_pub <= 0:
        return {"target": target, "verdict": "suppressed"}
    if n_pub <= LARGE:
        out = verdicts.goal_verdict(achieved_pub, n_pub, target, min_cell)
        out["p_null_share_le_target"] = _round(out["p_null_share_le_target"], 4)
        out["p_null_share_ge_target"] = _round(out["p_null_share_ge_target"], 4)
        return out
    a = max(0, min(achieved_pub, n_pub))
    lo, hi = _envelope(a, n_pub)
    p_le, p_ge = _envelope_p(a, n_pub, target)
    verdict = "met" if p_le <= ALPHA else "not_met" if p_ge < ALPHA else "undetermined"
    return {"target": target, "n": n_pub, "achieved": a, "share": _round(a / n_pub), "ci95": _out(lo, hi),
            "verdict": verdict, "p_null_share_le_target": _round(p_le, 4), "p_null_share_ge_target": _round(p_ge, 4)}


@lru_cache(maxsize=65536)
def parity(women_pub: int, men_pub: int, band: tuple[float, float], min_cell: int) -> dict:
    """Women's share among the women and men who reached the goal, judged against the band."""
    t = women_pub + men_pub
    if women_pub < min_cell or men_pub < min_cell or t <= 0:
        return {"band": list(band), "verdict": "suppressed"}
    if t <= LARGE:
        return verdicts.parity(women_pub, men_pub, band, min_cell)
    lo, hi = 1.0, 0.0
    for w in range(women_pub - D, women_pub + D + 1):
        for m in range(men_pub - D, men_pub + D + 1):
            if w >= 0 and m >= 0 and w + m > 0:
                cl, ch = verdicts.clopper_pearson(w, w + m)
                lo, hi = min(lo, cl), max(hi, ch)
    v = "met" if band[0] <= lo and hi <= band[1] else "not_met" if hi < band[0] or lo > band[1] else "undetermined"
    return {"band": list(band), "women": women_pub, "men": men_pub, "share_women": _round(women_pub / t),
            "ci95": _out(lo, hi), "verdict": v}


@lru_cache(maxsize=65536)
def women_vs_men(kw: int, nw: int, km: int, nm: int, min_cell: int) -> dict:
    return verdicts.women_vs_men(kw, nw, km, nm, min_cell=min_cell)


def _met_from(n: int, target: float) -> tuple[int, int]:
    """(smallest achieved that is "met", largest that is "not_met") at n answers, envelope test."""
    def p_le(a: int) -> float:
        return _envelope_p(a, n, target)[0]

    def p_ge(a: int) -> float:
        return _envelope_p(a, n, target)[1]
    lo, hi = 0, n + 1  # p_le falls as a grows: find the first a with p_le <= ALPHA
    while lo < hi:
        mid = (lo + hi) // 2
        if p_le(mid) <= ALPHA:
            hi = mid
        else:
            lo = mid + 1
    met = lo
    lo, hi = -1, n  # p_ge grows with a: the last a with p_ge < ALPHA
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if p_ge(mid) < ALPHA:
            lo = mid
        else:
            hi = mid - 1
    return met, lo


def _settle_large(a: int, n: int, target: float, extra: int) -> tuple[float, float]:
    met, not_met = _met_from(n + extra, target)
    dist = stats.betabinom(extra, a + 0.5, n - a + 0.5)
    p_met = float(dist.sf(met - a - 1)) if met - a <= extra else 0.0
    p_not = float(dist.cdf(not_met - a)) if not_met - a >= 0 else 0.0
    return p_met, p_not


@lru_cache(maxsize=65536)
def outlook(achieved_pub: int, n_pub: int, target: float, next_intake: int, verdict: str) -> dict:
    """verdicts.outlook, with the same envelope test above LARGE answers."""
    if n_pub <= 0 or next_intake <= 0:
        return {"kind": "no_data", "probability": None}
    if verdict in ("met", "not_met"):
        return {"kind": "settled", "probability": None, "verdict": verdict}
    if n_pub + 3 * next_intake <= LARGE:
        out = verdicts.outlook(achieved_pub, n_pub, target, next_intake)
    else:
        a = max(0, min(achieved_pub, n_pub))
        p_met, p_not = _settle_large(a, n_pub, target, next_intake)
        out = {"kind": "next_term", "probability": p_met + p_not, "p_met": p_met, "p_not_met": p_not,
               "next_intake": next_intake}
        if p_met + p_not < verdicts.REASONABLE:
            m3, n3 = _settle_large(a, n_pub, target, verdicts.SOON_TERMS * next_intake)
            if m3 + n3 < verdicts.REASONABLE:
                out = {"kind": "will_not_settle_soon", "probability": m3 + n3, "terms": verdicts.SOON_TERMS,
                       "next_intake": next_intake}
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in out.items()}

