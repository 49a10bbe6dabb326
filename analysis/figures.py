"""Figures of one cell from its published counts: a cached front to verdicts.py.

verdicts.py is exact with the noise included but costs tens of milliseconds a cell, and a
release judges many cells whose (achieved, n) repeat; so each result is cached. Above LARGE
answers the exact noise-aware grid grows with n while the noise (at most 2) no longer
matters much, so there the interval is the envelope of the Clopper-Pearson intervals over
every true count the published ones can come from (each within +-2): the true counts are
among them, so each side still errs at most 2.5 % of the time (docs/statistics.md, 3).

Pure module: numpy, scipy, stdlib, cellkey and verdicts.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats
from scipy.special import betaincinv

from . import cellkey, equality, verdicts
from .outlook import REASONABLE, SOON_TERMS
from .outlook import outlook as outlook_of

LARGE = 30  # above this the envelope below (closed form, ~1 ms) replaces the exact grid (~30-170 ms a cell)
D = cellkey.NOISE_MAX
ALPHA = verdicts.ALPHA


def _round(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def _out(lo: float, hi: float) -> list[float]:
    return [math.floor(lo * 1000 + 1e-9) / 1000, math.ceil(hi * 1000 - 1e-9) / 1000]


def _extremes(a_pub: int, n_pub: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two true (achieved, n) within +-D of the published ones that give the lowest lower bound
    and the highest upper bound: Clopper-Pearson's lower bound (and P(X >= a)) rises with a and falls
    with n; its upper bound (and P(X <= a)) the other way round."""
    low = (max(a_pub - D, 0), n_pub + D)
    n_hi = max(n_pub - D, 1)
    return low, (min(a_pub + D, n_hi), n_hi)


def _envelope(a_pub: int, n_pub: int) -> tuple[float, float]:
    """The widest Clopper-Pearson bounds over every true count the published ones can come from
    (so never narrower than CP of the published counts, which are among them)."""
    (a1, n1), (a2, n2) = _extremes(a_pub, n_pub)
    return verdicts.clopper_pearson(a1, n1)[0], verdicts.clopper_pearson(a2, n2)[1]


def _envelope_p(a_pub: int, n_pub: int, target: float) -> tuple[float, float]:
    """Largest one-sided exact p-values over the candidate true counts."""
    (a1, n1), (a2, n2) = _extremes(a_pub, n_pub)
    return verdicts.binom_sf(a1 - 1, n1, target), verdicts.binom_cdf(a2, n2, target)


_GOALS: dict[tuple, dict] = {}  # (achieved_pub, n_pub, target, min_cell) -> figures; see prime()
_GOALS_MAX = 1_000_000


def goal(achieved_pub: int, n_pub: int, target: float, min_cell: int) -> dict:
    """CONTRACT goal figures (target, n, achieved, share, ci95, verdict and the two named p-values).
    Memoised: a pure function of its arguments (the same dict is returned; callers copy it)."""
    key = (achieved_pub, n_pub, target, min_cell)
    hit = _GOALS.get(key)
    if hit is None:
        if len(_GOALS) >= _GOALS_MAX:
            _GOALS.clear()
        hit = _GOALS[key] = _goal(*key)
    return hit


def prime(requests) -> None:
    """Computes the figures of many cells at once: every (achieved_pub, n_pub, target, min_cell)
    above LARGE answers not yet known goes through the envelope below as one vectorised call per
    special function (a release has ~10^5 such cells, at ~0.1 ms each one by one). The same
    ufuncs evaluated element by element give the same floats as goal() would
    (tests/analysis/test_verdict_memo.py)."""
    todo = sorted({r for r in requests if r not in _GOALS and r[1] > LARGE and r[1] >= r[3]})
    if not todo:
        return
    if len(_GOALS) + len(todo) >= _GOALS_MAX:
        _GOALS.clear()
    a_pub, n, target, _ = (np.array(c) for c in zip(*todo))
    a = np.clip(a_pub, 0, n)
    a1, n1 = np.maximum(a - D, 0), n + D                    # _extremes: the lowest lower bound
    n_hi = np.maximum(n - D, 1)
    a2 = np.minimum(a + D, n_hi)                            # and the highest upper bound
    with np.errstate(all="ignore"):
        lo = np.where(a1 == 0, 0.0, betaincinv(np.maximum(a1, 1), n1 - a1 + 1, ALPHA))
        hi = np.where(a2 == n_hi, 1.0, betaincinv(a2 + 1, np.maximum(n_hi - a2, 1), 1 - ALPHA))
        k = a1 - 1                                          # verdicts.binom_sf(k, n1): 1 below 0, 0 from n1
        p_le = np.where(k < 0, 1.0, np.where(k >= n1, 0.0, verdicts._BINOM_SF(np.maximum(k, 0).astype(float), n1, target)))
        p_ge = np.where(a2 >= n_hi, 1.0, verdicts._BINOM_CDF(a2.astype(float), n_hi, target))
    for i, key in enumerate(todo):
        ai, ni = int(a[i]), int(n[i])
        pl, pg = float(p_le[i]), float(p_ge[i])
        verdict = "met" if pl <= ALPHA else "not_met" if pg < ALPHA else "undetermined"
        _GOALS[key] = {"target": key[2], "n": key[1], "achieved": ai, "share": _round(ai / ni),
                       "ci95": _out(float(lo[i]), float(hi[i])), "verdict": verdict,
                       "p_null_share_le_target": _round(pl, 4), "p_null_share_ge_target": _round(pg, 4)}


def _goal(achieved_pub: int, n_pub: int, target: float, min_cell: int) -> dict:
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
        return equality.parity(women_pub, men_pub, band, min_cell)
    # women's share w/(w+m) is lowest with the fewest women and the most men, and the other way round
    lo = verdicts.clopper_pearson(max(women_pub - D, 0), max(women_pub - D, 0) + men_pub + D)[0]
    hi = verdicts.clopper_pearson(women_pub + D, women_pub + D + max(men_pub - D, 0))[1]
    v = "met" if band[0] <= lo and hi <= band[1] else "not_met" if hi < band[0] or lo > band[1] else "undetermined"
    return {"band": list(band), "women": women_pub, "men": men_pub, "share_women": _round(women_pub / t),
            "ci95": _out(lo, hi), "verdict": v}


@lru_cache(maxsize=65536)
def women_vs_men(kw: int, nw: int, km: int, nm: int, min_cell: int) -> dict:
    return equality.women_vs_men(kw, nw, km, nm, min_cell=min_cell)


def _met_from(n: int, target: float) -> tuple[int, int]:
    """(smallest achieved that is "met", largest that is "not_met") at n answers, envelope test."""
    a = np.arange(n + 1)
    p_le = stats.binom.sf(np.maximum(a - D, 0) - 1, n + D, target)
    n_hi = max(n - D, 1)
    p_ge = stats.binom.cdf(np.minimum(a + D, n_hi), n_hi, target)
    met = np.flatnonzero(p_le <= ALPHA)
    not_met = np.flatnonzero(p_ge < ALPHA)
    return (int(met[0]) if met.size else n + 1), (int(not_met[-1]) if not_met.size else -1)


def _settle_large(a: int, n: int, target: float, extra: int) -> tuple[float, float]:
    met, not_met = _met_from(n + extra, target)
    dist = stats.betabinom(extra, a + 0.5, n - a + 0.5)
    p_met = float(dist.sf(met - a - 1)) if met - a <= extra else 0.0
    p_not = float(dist.cdf(not_met - a)) if not_met - a >= 0 else 0.0
    return p_met, p_not


@lru_cache(maxsize=65536)
def outlook(achieved_pub: int, n_pub: int, target: float, next_intake: int, verdict: str) -> dict:
    """outlook.outlook, with the same envelope test above LARGE answers."""
    if n_pub <= 0 or next_intake <= 0:
        return {"kind": "no_data", "probability": None}
    if verdict in ("met", "not_met"):
        return {"kind": "settled", "probability": None, "verdict": verdict}
    if n_pub + 3 * next_intake <= LARGE:
        out = outlook_of(achieved_pub, n_pub, target, next_intake)
    else:
        a = max(0, min(achieved_pub, n_pub))
        p_met, p_not = _settle_large(a, n_pub, target, next_intake)
        out = {"kind": "next_term", "probability": p_met + p_not, "p_met": p_met, "p_not_met": p_not,
               "next_intake": next_intake}
        if p_met + p_not < REASONABLE:
            m3, n3 = _settle_large(a, n_pub, target, SOON_TERMS * next_intake)
            if m3 + n3 < REASONABLE:
                out = {"kind": "will_not_settle_soon", "probability": m3 + n3, "terms": SOON_TERMS,
                       "next_intake": next_intake}
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in out.items()}

