"""The pure statistics, checked against independent implementations (statsmodels, scipy)."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis import stats

GRID = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (46, 60), (1, 200), (199, 200), (100, 200)]


@pytest.mark.parametrize("k,n", GRID)
def test_wilson_matches_statsmodels(k, n):
    lo, hi = stats.wilson(k, n)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12) and hi == pytest.approx(ref_hi, abs=1e-12)


def test_wilson_without_answers_says_nothing():
    assert stats.wilson(0, 0) == (0.0, 1.0)


@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_contains_share_and_stays_in_unit_interval(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = stats.wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


@pytest.mark.parametrize("k,n", GRID)
@pytest.mark.parametrize("target", [0.5, 0.6, 0.75, 0.85])
def test_p_below_target_is_exact_binomial(k, n, target):
    assert stats.p_below_target(k, n, target) == pytest.approx(
        binomtest(k, n, target, alternative="less").pvalue, abs=1e-12)


def test_p_below_target_without_answers():
    assert stats.p_below_target(0, 0, 0.75) is None


def test_verdict():
    assert stats.verdict(0.75, 0.9, 0.75) == "met"
    assert stats.verdict(0.5, 0.7499, 0.75) == "not_met"
    assert stats.verdict(0.7, 0.8, 0.75) == "undetermined"


@pytest.mark.parametrize("k1,n1,k2,n2", [(20, 30, 26, 30), (0, 10, 10, 10), (10, 10, 0, 10),
                                         (5, 5, 5, 5), (0, 7, 0, 9), (46, 60, 3, 12), (1, 200, 150, 180)])
def test_newcombe_matches_statsmodels(k1, n1, k2, n2):
    lo, hi = stats.newcombe_diff(k1, n1, k2, n2)
    ref_lo, ref_hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05)
    assert lo == pytest.approx(ref_lo, abs=1e-9) and hi == pytest.approx(ref_hi, abs=1e-9)


def test_newcombe_without_answers():
    assert stats.newcombe_diff(0, 0, 3, 5) is None and stats.newcombe_diff(3, 5, 0, 0) is None


# --- goal figures -----------------------------------------------------------------------------

def test_contract_example():
    f = stats.goal_figures(46, 60, 0.75, 5)
    assert f["target"] == 0.75 and f["n"] == 60 and f["achieved"] == 46
    assert f["share"] == 0.767 and f["ci95"] == [0.646, 0.856]
    assert f["p_below_target"] == 0.665 and f["verdict"] == "undetermined"
    assert isinstance(f["answers_needed"], int) and f["answers_needed"] > 0


def test_all_achieved_and_none_achieved():
    allf = stats.goal_figures(40, 40, 0.75, 5)
    assert allf["share"] == 1.0 and allf["ci95"][1] == 1.0 and allf["verdict"] == "met"
    assert allf["p_below_target"] == 1.0 and allf["answers_needed"] == 0
    none = stats.goal_figures(0, 40, 0.75, 5)
    assert none["share"] == 0.0 and none["ci95"][0] == 0.0 and none["verdict"] == "not_met"
    assert none["p_below_target"] == pytest.approx(0.25 ** 40, abs=1e-3)


def test_exactly_at_target_never_settles():
    f = stats.goal_figures(45, 60, 0.75, 5)
    assert f["share"] == 0.75 and f["verdict"] == "undetermined" and f["answers_needed"] is None


@pytest.mark.parametrize("n", [0, 1, 4])
def test_small_goal_is_suppressed_without_counts(n):
    assert stats.goal_figures(min(n, 2), n, 0.75, 5) == {"target": 0.75, "verdict": "suppressed"}


def test_answers_needed_edges():
    assert stats.answers_needed(0, 0, 0.75) is None
    assert stats.answers_needed(58, 60, 0.75) == 0          # already met
    assert stats.answers_needed(1, 3, 0.334) is None        # within 0.001 of target: beyond max_extra
    assert stats.answers_needed(46, 60, 0.75, max_extra=100) is None


def _decided(k, n, target, m):
    """Independently: is the verdict settled after m more answers at exactly the same share?"""
    lo, hi = proportion_confint(k / n * (n + m), n + m, alpha=0.05, method="wilson")
    return lo >= target or hi < target


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 300), target=st.sampled_from([0.5, 0.6, 0.75, 0.85]), data=st.data())
def test_answers_needed_settles_the_verdict(n, target, data):
    k = data.draw(st.integers(0, n))
    m = stats.answers_needed(k, n, target)
    if k / n == target:
        assert m is None
        return
    assume(m is not None)
    assert _decided(k, n, target, m)
    if m > 0:
        assert not _decided(k, n, target, m - 1)


# --- parity -----------------------------------------------------------------------------------

def test_parity_contract_example():
    p = stats.parity(20, 26, 5)
    assert p == {"target_share_women": 0.5, "women": 20, "men": 26, "share_women": 0.435,
                 "ci95": [0.302, 0.578], "verdict": "undetermined"}


def test_parity_verdicts():
    assert stats.parity(500, 500, 5)["verdict"] == "met"
    assert stats.parity(5, 95, 5)["verdict"] == "not_met"
    assert stats.parity(95, 5, 5)["verdict"] == "not_met"
    assert stats.parity(0, 0, 0)["verdict"] == "suppressed"
    assert stats.parity(2, 2, 5) == {"target_share_women": 0.5, "verdict": "suppressed"}


# --- disclosure control -------------------------------------------------------------------------

def test_primary_and_complementary_suppression():
    assert stats.suppress_cells({"a": 30, "b": 25, "c": 0, "d": 0}, 5) == set()
    # One small cell alone would be total minus the rest: the smallest other non-zero cell goes too.
    assert stats.suppress_cells({"a": 30, "b": 25, "c": 2, "d": 0}, 5) == {"b", "c"}
    assert stats.suppress_cells({"a": 30, "b": 25, "c": 2, "d": 3}, 5) == {"c", "d"}
    # Two hidden cells of 1 each: zeros are shown, so each hidden one is >= 1 and the pair is given away.
    assert stats.suppress_cells({"a": 30, "b": 25, "c": 1, "d": 1}, 5) == {"b", "c", "d"}
    assert stats.suppress_cells({"a": 30, "b": 2}, 5, total_known=False) == {"b"}


def _compositions(total, parts):
    """Every way to write total as an ordered sum of `parts` integers >= 1."""
    if parts == 1:
        yield (total,)
        return
    for first in range(1, total - parts + 2):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def _feasible_hidden_values(n_cells, hidden, k_cells=None):
    """Brute force: every n (and achieved) a hidden cell could have, given totals and visible cells.

    The reader is assumed to know which cells are zero (the stricter case), so a hidden
    cell holds n >= 1, and 0 <= achieved <= n.
    """
    keys = sorted(hidden)
    sn = sum(n_cells[h] for h in keys)
    sk = sum(k_cells[h] for h in keys) if k_cells else 0
    ns = {h: set() for h in keys}
    ks = {h: set() for h in keys}
    for combo in _compositions(sn, len(keys)):
        for i, h in enumerate(keys):
            ns[h].add(combo[i])
            rest = sn - combo[i]
            # the other hidden cells can absorb anything from 0 to their n's
            ks[h].update(kv for kv in range(combo[i] + 1) if 0 <= sk - kv <= rest)
    return ns, ks


cell_counts = st.fixed_dictionaries({g: st.integers(0, 9) for g in stats.GENDERS})


@settings(max_examples=300, deadline=None)
@given(cells=cell_counts, min_cell=st.integers(1, 6))
def test_no_hidden_cell_can_be_worked_out(cells, min_cell):
    hidden = stats.suppress_cells(cells, min_cell)
    nonzero = {g for g, c in cells.items() if c > 0}
    assert {g for g, c in cells.items() if 0 < c < min_cell} <= hidden <= nonzero
    if not hidden:
        return
    ns, _ = _feasible_hidden_values(cells, hidden)
    if any(len(ns[h]) <= 1 for h in hidden):
        # Only acceptable when there was nothing left to hide; then the total must not be shown.
        assert hidden == nonzero, (cells, hidden)


pairs = st.integers(0, 7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=300, deadline=None)
@given(counts=st.fixed_dictionaries({g: pairs for g in stats.GENDERS}), min_cell=st.integers(2, 5))
def test_gender_breakdown_hides_n_and_achieved(counts, min_cell):
    out = stats.gender_breakdown(counts, 0.75, min_cell)
    assert set(out) == set(stats.GENDERS)
    for g, c in out.items():
        if c["verdict"] == "suppressed":
            assert c == {"target": 0.75, "verdict": "suppressed"}
        else:
            assert (c["achieved"], c["n"]) == counts[g] and c["rate"] == c["share"]
    hidden = {g for g, c in out.items() if c["verdict"] == "suppressed" and counts[g][1] > 0}
    if not hidden:
        return
    n_cells = {g: n for g, (_, n) in counts.items()}
    k_cells = {g: k for g, (k, _) in counts.items()}
    ns, ks = _feasible_hidden_values(n_cells, hidden, k_cells)
    sn, sk = sum(n_cells[h] for h in hidden), sum(k_cells[h] for h in hidden)
    leak = any(len(ns[h]) <= 1 or len(ks[h]) <= 1 for h in hidden) or sk in (0, sn)
    if leak:
        # Only when every non-zero cell is already hidden: then the overall figures tell
        # as much, and below min_cell the caller hides those too.
        assert hidden == {g for g, n in n_cells.items() if n > 0}, (counts, hidden)


# --- the whole goal object ----------------------------------------------------------------------

def test_effect_goal_contract_shape():
    by_gender = {"woman": (20, 27), "man": (26, 33), "non_binary": (0, 0), "undisclosed": (0, 0)}
    g = stats.effect_goal("closer", 46, 60, by_gender, 0.75, 5)
    assert g["goal"] == "closer" and g["share"] == 0.767 and g["verdict"] == "undetermined"
    assert set(g["by_gender"]) == set(stats.GENDERS)
    assert g["by_gender"]["woman"]["n"] == 27 and g["by_gender"]["woman"]["rate"] == round(20 / 27, 3)
    assert g["by_gender"]["non_binary"] == {"target": 0.75, "verdict": "suppressed"}
    assert g["parity"] == stats.parity(20, 26, 5)
    lo, hi = stats.newcombe_diff(20, 27, 26, 33)
    assert g["women_vs_men"] == {"rate_women": round(20 / 27, 3), "rate_men": round(26 / 33, 3),
                                 "diff_ci95": [round(lo, 3), round(hi, 3)]}


def test_effect_goal_small_group_hides_everything():
    by_gender = {"woman": (2, 3), "man": (1, 1)}
    g = stats.effect_goal("useful", 3, 4, by_gender, 0.85, 5)
    assert g["verdict"] == "suppressed" and "n" not in g and "share" not in g and "achieved" not in g
    assert all(c == {"target": 0.85, "verdict": "suppressed"} for c in g["by_gender"].values())
    assert set(g["by_gender"]) == set(stats.GENDERS)
    assert g["parity"] == {"target_share_women": 0.5, "verdict": "suppressed"}
    assert g["women_vs_men"] == {"verdict": "suppressed"}


def test_effect_goal_parity_hidden_when_it_would_reveal_a_hidden_cell():
    # One non-binary answer: man is hidden as its complement, and parity's men count
    # plus the total would give the non-binary cell away, so parity is hidden too.
    by_gender = {"woman": (20, 30), "man": (24, 28), "non_binary": (1, 1), "undisclosed": (0, 0)}
    g = stats.effect_goal("closer", 45, 59, by_gender, 0.75, 5)
    assert g["n"] == 59
    assert g["by_gender"]["non_binary"]["verdict"] == "suppressed"
    assert g["by_gender"]["man"]["verdict"] == "suppressed"
    assert g["by_gender"]["woman"]["n"] == 30
    assert g["parity"]["verdict"] == "suppressed" and "women" not in g["parity"]
    assert g["women_vs_men"] == {"verdict": "suppressed"}


def test_effect_goal_wilson_rounding_is_output_only():
    g = stats.effect_goal("closer", 46, 60, {"woman": (46, 60)}, 0.75, 5)
    lo, hi = stats.wilson(46, 60)
    assert g["ci95"] == [round(lo, 3), round(hi, 3)]
    assert not math.isclose(lo, round(lo, 3))
