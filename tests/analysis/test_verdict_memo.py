"""The fast paths of a release give the figures the direct computation gives, to the bit.

A release judges many cells, so analysis/figures.py memoises each cell's figures, verdicts.py
memoises the exact interval per (achieved, n) and reads small cells' intervals from a
precomputed table (analysis/small_intervals.py), and both call the binomial and beta functions
scipy.stats wraps without its per-call overhead. Here each is checked against the direct
computation with scipy.stats, as the code did before, over a grid of (k, n): a published
figure must not move because it was cached or computed faster. Stored floats are compared with
a tolerance (the last bits of root finding differ between machines); published ones exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis import figures
from analysis import verdicts as v
from analysis.make_intervals import UPTO
from analysis.small_intervals import INTERVALS

ALPHA = v.ALPHA
D = v.D
TARGETS = (0.5, 0.6, 0.75, 0.85)
MIN_CELL = 5


def _out(lo, hi):
    return [math.floor(lo * 1000 + 1e-9) / 1000, math.ceil(hi * 1000 - 1e-9) / 1000]


def ref_cp(k, n):
    lo = 0.0 if k == 0 else float(stats.beta.ppf(ALPHA, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - ALPHA, k + 1, n - k))
    return lo, hi


_REF_INTERVALS: dict = {}


def ref_interval(a, n):
    """verdicts.interval as written before memoising: root finding plus CP from scipy.stats."""
    if (a, n) not in _REF_INTERVALS:
        lo_n, hi_n = v._invert(lambda p: v._goal_p(a, n, p))
        lo_c, hi_c = ref_cp(a, n)
        _REF_INTERVALS[(a, n)] = (min(lo_n, lo_c), max(hi_n, hi_c))
    return _REF_INTERVALS[(a, n)]


def ref_goal(a_pub, n_pub, target):
    """figures.goal as the direct computation, every probability from scipy.stats."""
    if n_pub < MIN_CELL:
        return {"target": target, "verdict": "suppressed"}
    a = max(0, min(a_pub, n_pub))
    if n_pub <= figures.LARGE:
        lo, hi = ref_interval(a, n_pub)
        hi_n, lo_n = v._goal_p(a, n_pub, target)
        p_le = max(hi_n, float(stats.binom.sf(a - 1, n_pub, target)))
        p_ge = max(lo_n, float(stats.binom.cdf(a, n_pub, target)))
    else:
        lo = float(stats.beta.ppf(ALPHA, max(a - D, 0), n_pub + D - max(a - D, 0) + 1)) if a - D > 0 else 0.0
        n_hi = max(n_pub - D, 1)
        a_hi = min(a + D, n_hi)
        hi = 1.0 if a_hi == n_hi else float(stats.beta.ppf(1 - ALPHA, a_hi + 1, n_hi - a_hi))
        p_le = float(stats.binom.sf(max(a - D, 0) - 1, n_pub + D, target))
        p_ge = float(stats.binom.cdf(a_hi, n_hi, target))
    verdict = "met" if p_le <= ALPHA else "not_met" if p_ge < ALPHA else "undetermined"
    return {"target": target, "n": n_pub, "achieved": a, "share": round(a / n_pub, 3), "ci95": _out(lo, hi),
            "verdict": verdict, "p_null_share_le_target": round(p_le, 4), "p_null_share_ge_target": round(p_ge, 4)}


def test_small_interval_table_is_the_computation():
    """Every stored interval is what the root finding gives now, and it covers every small cell
    the exact path can be asked for. Root finding and the special functions may differ in the
    last bits between machines (BLAS, libm), so the stored floats are compared with a tolerance
    far below what is published, and the published (rounded outwards) interval must be the same."""
    assert UPTO == figures.LARGE
    assert set(INTERVALS) == {(a, n) for n in range(1, UPTO + 1) for a in range(n + 1)}
    for (a, n), stored in INTERVALS.items():
        fresh = v.direct_interval(a, n)
        assert fresh == pytest.approx(stored, abs=1e-9), (a, n)
        assert ref_interval(a, n) == pytest.approx(stored, abs=1e-9), (a, n)
        assert _out(*fresh) == _out(*stored), (a, n)


@pytest.mark.parametrize("target", TARGETS)
def test_memoised_goal_equals_direct_over_a_grid(target):
    """Published achieved 0..n+2 (noise can push it above n) for n up to past LARGE, and a spread
    of larger n: the cached figures (asked twice, so the second is a cache hit) equal the direct ones."""
    ns = list(range(1, 46)) + [60, 75, 99, 150, 230, 512, 1000, 4321, 20000]
    for n in ns:
        step = 1 if n <= 45 else max(1, n // 40)
        for a in list(range(0, n + D + 1, step)) + [n - 1, n, n + 1, n + 2]:
            if a < 0:
                continue
            want = ref_goal(a, n, target)
            assert figures.goal(a, n, target, MIN_CELL) == want, (a, n, target)
            assert figures.goal(a, n, target, MIN_CELL) == want, (a, n, target)
            if MIN_CELL <= n <= figures.LARGE:
                direct = v.goal_verdict(a, n, target, MIN_CELL)
                assert direct["verdict"] == want["verdict"] == v.verdict_of(a, n, target, MIN_CELL)
                assert direct["ci95"] == want["ci95"]


def test_fast_binomial_and_beta_are_scipy_stats():
    """binom_cdf, binom_sf and clopper_pearson give scipy.stats' floats exactly, edges included."""
    rng = np.random.default_rng(3)
    cases = [(k, n) for n in (1, 2, 5, 30, 31, 200) for k in range(-2, n + 3)]
    cases += [(int(u * (n + 1)), int(n)) for n, u in zip(rng.integers(1, 10**6, 300), rng.random(300))]
    for k, n in cases:
        for p in (0.0, 0.3, 0.5, 0.75, 1.0):
            assert v.binom_cdf(k, n, p) == float(stats.binom.cdf(k, n, p)), (k, n, p)
            assert v.binom_sf(k, n, p) == float(stats.binom.sf(k, n, p)), (k, n, p)
        if 0 <= k <= n:
            assert v.clopper_pearson(k, n) == ref_cp(k, n), (k, n)


def test_figures_computed_together_equal_one_by_one():
    """figures.prime (every large cell of a release in one vectorised pass) stores exactly what
    figures.goal computes cell by cell, and what the direct computation gives."""
    rng = np.random.default_rng(9)
    cells = [(int(u * (n + 3)), int(n), t, MIN_CELL) for n, u, t in
             zip(rng.integers(1, 300_000, 3000), rng.random(3000), rng.choice(TARGETS, 3000))]
    cells += [(a, n, 0.75, MIN_CELL) for n in (31, 32, 33, 40) for a in range(n + 3)]
    figures._GOALS.clear()
    one_by_one = {c: figures.goal(*c) for c in cells}
    figures._GOALS.clear()
    figures.prime(cells)
    assert sum(1 for c in cells if c in figures._GOALS) == len({c for c in cells if c[1] > figures.LARGE})
    for c in cells:
        assert figures.goal(*c) == one_by_one[c], c
        if c[1] > figures.LARGE:
            assert one_by_one[c] == ref_goal(c[0], c[1], c[2]), c
