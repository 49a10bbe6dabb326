"""Verdicts: the exact 2.5 % guarantee with the noise included, and property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import cellkey
from analysis import equality as par
from analysis import outlook as o
from analysis import verdicts as v

TARGETS = (0.75, 0.85, 0.60, 0.50)
NS = range(10, 201)
EPS = 1e-9


# ------------------------------------------------------------ the core guarantee

@pytest.mark.parametrize("target", TARGETS)
def test_exact_error_rates_at_target(target):
    """At a true share equal to the target, "met" and "not_met" each at most 2.5 %, every n.

    Exact: binomial pmf x ptable noise pmf for the achieved and the n cell,
    summed over every outcome (verdict_probabilities); no simulation.
    """
    worst_met = worst_not = 0.0
    for n in NS:
        r = v.verdict_probabilities(n, target, target, min_cell=5)
        assert sum(r.values()) == pytest.approx(1.0, abs=1e-9)
        assert r["met"] <= 0.025, (n, r)
        assert r["not_met"] <= 0.025, (n, r)
        worst_met, worst_not = max(worst_met, r["met"]), max(worst_not, r["not_met"])
    print(f"target {target}: worst P(met) {worst_met:.5f}, worst P(not_met) {worst_not:.5f}")


def test_exact_computation_matches_simulation():
    """The exact sum is the model: a brute-force simulation with real cell keys agrees."""
    rng = np.random.default_rng(11)
    n, target, reps = 40, 0.75, 20000
    codes = {n_pub: v.verdict_array(n_pub, target, 5) for n_pub in range(n - 2, n + 3)}
    seen = {"met": 0, "not_met": 0}
    for _ in range(reps):
        keys = rng.integers(0, cellkey.KEY_RANGE, size=n)
        reached = rng.random(n) < target
        n_pub = cellkey.perturb(n, int(keys.sum()) % cellkey.KEY_RANGE)
        k = int(reached.sum())
        k_pub = cellkey.perturb(k, int(keys[reached].sum()) % cellkey.KEY_RANGE)
        code = codes[n_pub][k_pub]
        seen["met"] += code == v.MET
        seen["not_met"] += code == v.NOT_MET
    exact = v.verdict_probabilities(n, target, target, 5)
    for name, count in seen.items():
        se = np.sqrt(exact[name] * (1 - exact[name]) / reps)
        assert abs(count / reps - exact[name]) < 4 * se + 1e-4


def test_below_target_met_is_rarer():
    """A true share under the target gives "met" even less often (monotone test)."""
    for n in (10, 37, 80, 150):
        at = v.verdict_probabilities(n, 0.75, 0.75, 5)["met"]
        below = v.verdict_probabilities(n, 0.70, 0.75, 5)["met"]
        assert below <= at + 1e-12


# ------------------------------------------------------------------ intervals

def test_clopper_pearson_matches_scipy():
    for k, n in [(0, 10), (3, 10), (10, 10), (46, 60), (150, 200)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert v.clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


counts = st.integers(min_value=5, max_value=200).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n + 4), st.just(n)))
targets = st.sampled_from(TARGETS + (0.3, 0.9))


@settings(max_examples=150, deadline=None)
@given(counts)
def test_interval_contains_share_and_covers_cp(kn):
    k, n = kn
    lo, hi = v.interval(k, n)
    share = min(k, n) / n
    assert 0 <= lo <= share <= hi <= 1
    cp_lo, cp_hi = v.clopper_pearson(min(k, n), n)
    assert lo <= cp_lo + EPS and hi >= cp_hi - EPS          # at least as wide as CP


@settings(max_examples=80, deadline=None)
@given(counts)
def test_interval_monotone_in_achieved(kn):
    k, n = kn
    if k >= n:
        return
    lo1, hi1 = v.interval(k, n)
    lo2, hi2 = v.interval(k + 1, n)
    assert lo2 >= lo1 - EPS and hi2 >= hi1 - EPS


@settings(max_examples=150, deadline=None)
@given(counts, targets)
def test_verdict_consistent_with_interval_and_p_values(kn, target):
    k, n = kn
    r = v.goal_verdict(k, n, target, min_cell=5, digits=None)
    lo, hi = r["ci95"]
    if r["verdict"] == "met":
        assert lo >= target - EPS
        assert r["p_null_share_le_target"] <= v.ALPHA
    elif r["verdict"] == "not_met":
        assert hi < target + EPS
        assert r["p_null_share_ge_target"] < v.ALPHA
    else:
        assert r["verdict"] == "undetermined"
        assert lo <= target + EPS and hi >= target - EPS
        assert r["p_null_share_le_target"] > v.ALPHA - EPS
        assert r["p_null_share_ge_target"] >= v.ALPHA - EPS
    # and clear of the boundary the interval decides exactly as the p-values do
    if lo > target + 1e-7:
        assert r["verdict"] == "met"
    if hi < target - 1e-7:
        assert r["verdict"] == "not_met"


@settings(max_examples=150, deadline=None)
@given(counts, targets)
def test_vectorised_verdicts_agree(kn, target):
    k, n = kn
    code = v.verdict_array(n, target, 5)[k]
    assert v._NAMES[int(code)] == v.verdict_of(k, n, target, 5)


def test_suppressed_below_min_cell():
    r = v.goal_verdict(3, 4, 0.75, min_cell=5)
    assert r == {"target": 0.75, "verdict": "suppressed"}
    assert v.goal_verdict(5, 5, 0.75, min_cell=5)["verdict"] != "suppressed"


def test_goal_fields_and_rounding():
    r = v.goal_verdict(46, 60, 0.75, min_cell=5)
    assert set(r) == {"target", "n", "achieved", "share", "ci95", "verdict",
                      "p_null_share_le_target", "p_null_share_ge_target"}
    assert r["share"] == 0.767 and r["verdict"] == "undetermined"
    raw = v.goal_verdict(46, 60, 0.75, min_cell=5, digits=None)
    assert r["ci95"][0] <= raw["ci95"][0] and r["ci95"][1] >= raw["ci95"][1]   # rounded outwards
    capped = v.goal_verdict(62, 60, 0.75, min_cell=5)   # noise pushed achieved past n
    assert capped["achieved"] == 60 and capped["share"] == 1.0


# ---------------------------------------------------------------------- parity

def test_parity_fields_and_band_is_a_parameter():
    r = par.parity(20, 26, min_cell=5)
    assert set(r) == {"band", "women", "men", "share_women", "ci95", "verdict"}
    assert r["band"] == [0.4, 0.6] and r["verdict"] == "undetermined"
    # a share of 0.30 out of 1000: wholly below 40-60, inside a 25-75 band
    assert par.parity(300, 700)["verdict"] == "not_met"
    assert par.parity(300, 700, band=(0.25, 0.75))["verdict"] == "met"
    assert par.parity(700, 300)["verdict"] == "not_met"
    assert par.parity(500, 500)["verdict"] == "met"
    assert par.parity(4, 30)["verdict"] == "suppressed"
    assert "women" not in par.parity(30, 4)


@settings(max_examples=60, deadline=None)
@given(st.integers(5, 120), st.integers(5, 120),
       st.sampled_from([(0.4, 0.6), (0.3, 0.7), (0.45, 0.55)]))
def test_parity_verdict_consistent_with_interval(w, m, band):
    r = par.parity(w, m, band=band, digits=None)
    lo, hi = r["ci95"]
    assert lo <= w / (w + m) <= hi
    cp_lo, cp_hi = v.clopper_pearson(w, w + m)
    assert lo <= cp_lo + EPS and hi >= cp_hi - EPS
    if r["verdict"] == "met":
        assert band[0] - EPS <= lo and hi <= band[1] + EPS
    elif r["verdict"] == "not_met":
        assert hi < band[0] + EPS or lo > band[1] - EPS
    else:
        assert not (band[0] + 1e-7 < lo and hi < band[1] - 1e-7)
        assert not (hi < band[0] - 1e-7 or lo > band[1] + 1e-7)


# --------------------------------------------------------------- women vs men

def test_newcombe_published_example():
    """Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339."""
    r = par.women_vs_men(56, 70, 48, 80, widen=False, digits=None)
    assert r["difference"] == pytest.approx(0.2)
    assert r["ci95"] == pytest.approx([0.0524, 0.3339], abs=5e-5)
    wide = par.women_vs_men(56, 70, 48, 80, digits=None)
    assert wide["ci95"][0] < r["ci95"][0] and wide["ci95"][1] > r["ci95"][1]
    assert par.women_vs_men(3, 10, 20, 40, min_cell=5) == {"difference": None, "ci95": None}


@settings(max_examples=100, deadline=None)
@given(st.integers(5, 150), st.integers(5, 150), st.data())
def test_newcombe_contains_difference(nw, nm, data):
    kw = data.draw(st.integers(0, nw))
    km = data.draw(st.integers(0, nm))
    r = par.women_vs_men(kw, nw, km, nm, digits=None)
    lo, hi = r["ci95"]
    assert -1 <= lo <= r["difference"] <= hi <= 1


# -------------------------------------------------------------------- outlook

def test_outlook_kinds():
    """The outlook predicts the next release that judges: this period's final release (from a
    preliminary one) or the next period's (from a final one)."""
    assert o.outlook(60, 60, 0.75, 50, release="final", verdict="met")["kind"] == "settled"
    close = o.outlook(50, 60, 0.75, 60, release="preliminary", period_kind="term")  # 0.83 so far
    assert close["kind"] == "next_release" and 0 <= close["probability"] <= 1
    assert close["horizon"] == "end_of_term" and close["release"] == "final"
    assert close["p_met"] > close["p_not_met"]
    nxt = o.outlook(70, 100, 0.75, 100, release="final", verdict="undetermined", period_kind="year")
    assert nxt["horizon"] == "next_year"
    few = o.outlook(20, 26, 0.75, 1, release="preliminary", period_kind="quarter")  # one more answer
    assert few["kind"] == "will_not_settle_soon" and few["probability"] < o.WORTH
    assert o.outlook(0, 0, 0.75, 60)["kind"] == "no_data"
    assert "answers_needed" not in close


@settings(max_examples=20, deadline=None)
@given(st.integers(10, 150).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(10, 120), targets, st.sampled_from(["final", "preliminary"]))
def test_outlook_probabilities_are_probabilities(kn, m, target, release):
    k, n = kn
    verdict = v.verdict_of(k, n, target)
    r = o.outlook(k, n, target, m, release=release, verdict=verdict)
    assert r["kind"] in {"settled", "next_release", "will_not_settle_soon"}
    if r["kind"] == "settled":
        assert release == "final" and r["verdict"] == verdict
    else:
        assert 0.0 <= r["probability"] <= 1.0
        assert r["probability"] == pytest.approx(r["p_met"] + r["p_not_met"])
        assert (r["kind"] == "next_release") == (r["probability"] >= o.WORTH)
