"""The fast paths of a release give the figures the direct computation gives.

A release judges many cells, so analysis/figures.py memoises each cell's figures and computes
many cells together (figures.prime), through verdicts' windowed, vectorised exact test. Here
each is checked against the direct computation over the full grid of every true count (the
test as written in docs/statistics.md, section 3), over a grid of (k, n): a published figure
must not move because it was cached or computed faster. Floats are compared with a tolerance
(root finding and special functions differ in the last bits between machines); published
(rounded) figures and verdicts exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis import figures
from analysis import verdicts as v

TARGETS = (0.5, 0.6, 0.75, 0.85)
MIN_CELL = 5


def _out(lo, hi):
    return [math.floor(lo * 1000 + 1e-9) / 1000, math.ceil(hi * 1000 - 1e-9) / 1000]


@pytest.mark.parametrize("ns", [range(1, 24), [31, 45, 60, 97, 150]])
def test_windowed_test_is_the_full_grid(ns):
    """p-values and intervals of the windowed computation equal the full-grid ones (which
    enumerate every true achieved count) within 1e-9, and print the same; the verdict at each
    target is the same."""
    for n in ns:
        step = 1 if n <= 60 else 7
        a = np.arange(0, n + 1, step)
        lo, hi = v.intervals(a, np.full(len(a), n))
        for i, k in enumerate(a):
            d = v.direct_interval(int(k), n)
            assert lo[i] == pytest.approx(d[0], abs=1e-9) and hi[i] == pytest.approx(d[1], abs=1e-9), (k, n)
            assert _out(lo[i], hi[i]) == _out(*d), (k, n)
        for t in TARGETS:
            p_le, p_ge = v.p_values(a, np.full(len(a), n), t)
            for i, k in enumerate(a):
                d = v.direct_p_values(int(k), n, t)
                assert p_le[i] == pytest.approx(d[0], abs=1e-12) and p_ge[i] == pytest.approx(d[1], abs=1e-12)


def test_memoised_goal_equals_direct():
    """Published achieved 0..n+2 (noise can push it above n): the cached figures (asked twice,
    the second a cache hit) are what the full-grid computation gives."""
    for n in (5, 9, 17, 30, 31, 44, 60):
        for a in range(0, n + 3, 1 if n < 40 else 3):
            for t in (0.75, 0.85):
                got = figures.goal(a, n, t, MIN_CELL)
                assert figures.goal(a, n, t, MIN_CELL) is got
                k = min(a, n)
                if 0 < k < MIN_CELL:
                    continue   # hidden achieved count: test_promises checks those
                p_le, p_ge = v.direct_p_values(k, n, t)
                verdict = "met" if p_le <= v.ALPHA else "not_met" if p_ge < v.ALPHA else "undetermined"
                # up to MONO_N answers the lower bound is the lowest over k of m, m from k to n
                # (figures.py: that makes it monotone in n); above, the direct one
                span = range(max(k, 1), min(n, figures.MONO_N) + 1)
                lo = min([v.direct_interval(k, m)[0] for m in span] + [v.direct_interval(k, n)[0]])
                assert got["ci95"][0] == _out(lo, 1.0)[0], (a, n)
                if lo < t <= v.direct_interval(k, n)[0]:
                    verdict = "undetermined"   # the widened interval must agree with the verdict
                assert got["verdict"] == verdict, (a, n, t)


def test_fast_binomial_and_beta_are_scipy_stats():
    """binom_cdf, binom_sf and clopper_pearson give scipy.stats' floats, edges included."""
    rng = np.random.default_rng(3)
    cases = [(k, n) for n in (1, 2, 5, 30, 31, 200) for k in range(-2, n + 3)]
    cases += [(int(u * (n + 1)), int(n)) for n, u in zip(rng.integers(1, 10**6, 100), rng.random(100))]
    for k, n in cases:
        for p in (0.0, 0.3, 0.5, 0.75, 1.0):
            assert v.binom_cdf(k, n, p) == pytest.approx(float(stats.binom.cdf(k, n, p)), abs=1e-14)
            assert v.binom_sf(k, n, p) == pytest.approx(float(stats.binom.sf(k, n, p)), abs=1e-14)
        if 0 <= k <= n:
            lo = 0.0 if k == 0 else float(stats.beta.ppf(v.ALPHA, k, n - k + 1))
            hi = 1.0 if k == n else float(stats.beta.ppf(1 - v.ALPHA, k + 1, n - k))
            assert v.clopper_pearson(k, n) == pytest.approx((lo, hi), abs=1e-12)


def test_figures_computed_together_equal_one_by_one():
    """figures.prime (every cell of a release in one vectorised pass) stores what figures.goal
    computes cell by cell, at small and very large n."""
    rng = np.random.default_rng(9)
    cells = [(int(u * (n + 3)), int(n), float(t), MIN_CELL) for n, u, t in
             zip(rng.integers(1, 300_000, 300), rng.random(300), rng.choice(TARGETS, 300))]
    cells += [(a, n, 0.75, MIN_CELL) for n in (4, 5, 31, 40) for a in range(n + 3)]
    figures._GOALS.clear(); figures._INTERVALS.clear(); figures._PVALUES.clear()
    one_by_one = {c: dict(figures.goal(*c)) for c in cells}
    figures._GOALS.clear(); figures._INTERVALS.clear(); figures._PVALUES.clear()
    figures.prime(cells)
    for c in cells:
        got = figures.goal(*c)
        assert got["verdict"] == one_by_one[c]["verdict"], c
        assert got.get("ci95") == one_by_one[c].get("ci95"), c
