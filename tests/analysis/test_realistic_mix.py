"""The issue's acceptance check on the realistic mix (see simulate.py for the setup)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import cellkey
from tests.analysis import simulate


@pytest.fixture(scope="module")
def measured():
    rng = np.random.default_rng(2026)
    result = simulate.evaluate(simulate.make_unit_terms(rng, 600), min_cell=5)
    print("\nrealistic mix:", json.dumps(result, indent=1))
    return result


def test_parity_shown_in_95_percent(measured):
    """G2/G4/G6 style parity shown where >= 5 women and >= 5 men reached the goal."""
    assert measured["parity_eligible"] > 500
    assert measured["parity_shown_share"] >= 0.95


def test_no_met_not_met_flip(measured):
    assert measured["flips"] == {"goal": 0, "by_gender": 0, "parity": 0}
    assert min(measured["compared"].values()) > 500


def test_published_shares_close_to_exact(measured):
    """Overall goal shares at n >= 30: within 5 points in at least 95 % of unit-terms.

    Not in all of them: with noise up to 2 on both counts the error can reach
    2 * NOISE_MAX / n (13 points at n = 30, see the next test); the typical
    error is sqrt(0.4 * (1 + share^2)) / n, 2.6 points at n = 30.
    """
    assert measured["share_within_5pp_overall"] >= 0.95
    assert measured["share_within_5pp"] >= 0.90        # gender cells included
    assert measured["share_error_max"] <= 2 * cellkey.NOISE_MAX / 30 + 1e-12


def test_share_error_95th_percentile_at_most_4_points(measured):
    """The ptable's variance was chosen for this (docs/statistics.md, 2): over every cell of 30
    or more answers, goals and genders, the 95th percentile of |published - exact share| is at
    most 4 points (5.2 with the old variance 0.8)."""
    assert measured["share_cells_n30"] > 2000
    assert measured["share_error_p95"] <= 0.04


def _worst_share_error(n: int) -> float:
    """Largest |published share - exact share| over every count and every cell key."""
    worst = 0.0
    for k in range(n + 1):
        for ea in cellkey.noise_distribution(k):
            for en in cellkey.noise_distribution(n):
                n_pub = n + en
                worst = max(worst, abs(min(k + ea, n_pub) / n_pub - k / n))
    return worst


def test_share_error_bound():
    """Certain (every key), not only typical: at most 2 * NOISE_MAX / n, so 5 points from n = 80."""
    for n in range(10, 201):
        assert _worst_share_error(n) <= 2 * cellkey.NOISE_MAX / n + 1e-12
    assert max(_worst_share_error(n) for n in range(80, 201)) <= 0.05 + 1e-12
    assert _worst_share_error(79) > 0.05
