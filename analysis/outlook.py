"""The outlook of an undetermined goal: the chance that the next release that judges it settles it.

Only final releases carry verdicts (figures.py), so the next release that can settle a goal is

* in a preliminary release: this period's final release, on all the period's answers (those
  published now and the ones still expected before it closes);
* in a final release: the next period's final release, on that period's own answers.

Method: the share's posterior given the published counts, with Jeffreys' Beta(1/2, 1/2) prior,
is Beta(a + 1/2, n - a + 1/2); the expected intake m has a beta-binomial predictive number
reaching the goal; the final release publishes both counts with cell-key noise, and its verdict
is the exact noise-aware test (verdicts.p_values). The intake is not known exactly, so the
chance is averaged over 0.5 m .. 1.5 m; that, and the noise, keep the chance from jumping
between neighbouring counts (tests/analysis/test_promises.py measures the largest jump).

Pure module: numpy, scipy, stdlib, cellkey, verdicts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from . import cellkey, verdicts

WORTH = 0.05            # below this chance the next release is not worth waiting for
INTAKE_FACTORS = (0.5, 1.0, 1.5)   # the intake is not known: its range
EVIDENCE = 8.0          # the most answers' worth of evidence the posterior counts for
SPREAD = 5              # the published achieved count is read as a - 5 .. a + 5 (binomial weights)
D = verdicts.D
_NOISE = verdicts._NOISE
ALPHA = verdicts.ALPHA


_THRESHOLDS: dict[tuple[int, float], tuple[int, int]] = {}


def thresholds(ns, target: float) -> dict[int, tuple[int, int]]:
    """{published n: (smallest published achieved that is "met", largest that is "not_met")}.
    The verdict is monotone in the achieved count, so both are found by bisection, all n together."""
    want = sorted({int(x) for x in ns if x > 0 and (int(x), target) not in _THRESHOLDS})
    if want:
        n = np.array(want)
        lo, hi = np.zeros(len(n), dtype=np.int64), n + 1          # met from: smallest a, p_le(a) <= ALPHA
        while (lo < hi).any():
            mid = (lo + hi) // 2
            ok = verdicts.p_values(np.minimum(mid, n), n, target)[0] <= ALPHA
            ok &= mid <= n
            hi, lo = np.where(ok, mid, hi), np.where(ok | (lo >= hi), lo, mid + 1)
        met = lo
        lo, hi = np.full(len(n), -1), n.copy()                    # not met up to: largest a, p_ge(a) < ALPHA
        while (lo < hi).any():
            mid = (lo + hi + 1) // 2
            ok = verdicts.p_values(np.maximum(mid, 0), n, target)[1] < ALPHA
            lo, hi = np.where(ok & (lo < hi), mid, lo), np.where(ok | (lo >= hi), hi, mid - 1)
        if len(_THRESHOLDS) > 1_000_000:
            _THRESHOLDS.clear()
        _THRESHOLDS.update({(int(x), target): (int(m), int(k)) for x, m, k in zip(n, met, lo)})
    return {int(x): _THRESHOLDS.get((int(x), target), (1, -1)) for x in ns}


def _settle(ts: np.ndarray, wts: np.ndarray, n: int, m: int, target: float, pooled: bool) -> tuple[float, float]:
    """P(met), P(not met) of a final release, averaged over the achieved counts ts (weights wts)
    the published one is read as: on t + Y of n + m true answers (pooled: this period's final)
    or on Y of m (the next period's), Y the predictive number reaching the goal among m new
    answers."""
    kern = verdicts._kernel(cellkey.LAST_ROW)
    y = np.arange(m + 1)
    # The answers still to come are from other months and groups, whose rates vary: the
    # posterior is read as worth at most EVIDENCE answers (a beta-binomial with overdispersion),
    # which also keeps one more answer from moving the chance by more than 20 points.
    mean = (ts + 0.5) / (n + 1)
    weight = n * EVIDENCE / (n + EVIDENCE) + 1
    al, be = (mean * weight)[:, None], ((1 - mean) * weight)[:, None]
    pred = np.exp(gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1) + gammaln(y + al) + gammaln(m - y + be)
                  - gammaln(m + al + be) + gammaln(al + be) - gammaln(al) - gammaln(be))
    pred = pred * wts[:, None]
    ta = (ts[:, None] if pooled else np.zeros((len(ts), 1), dtype=int)) + y[None, :]   # true achieved, final
    tn = (n if pooled else 0) + m
    ka = kern[np.minimum(ta, cellkey.LAST_ROW)]                # (T, m+1, 5)
    kn = kern[min(tn, cellkey.LAST_ROW)]
    same = ta == tn                                            # everyone achieved: one cell, one noise
    p_met = p_not = 0.0
    thr = thresholds([tn + vn for vn in _NOISE], target)
    for j, vn in enumerate(_NOISE):
        if kn[j] == 0 or tn + vn <= 0:
            continue
        n_f = tn + vn
        met, not_met = thr[n_f]
        for i, va in enumerate(_NOISE):
            pub = np.minimum(ta + va, n_f)
            w = np.where(same, kn[j] * (i == j), ka[..., i] * kn[j]) * pred
            p_met += float(w[pub >= met].sum())
            p_not += float(w[pub <= not_met].sum())
    return p_met, p_not


def _true_achieved(a: int, n: int) -> list[tuple[int, float]]:
    """The achieved counts the outlook reads a published a as: a - SPREAD .. a + SPREAD with
    binomial weights (within 0..n). The published count is itself within the noise of the true
    one, and one more answer reaching the goal should not turn the forecast of a whole period
    round: neighbouring counts share most of these, which keeps the chance from jumping more
    than 20 points between them (tests/analysis/test_promises.py)."""
    w = [math.comb(2 * SPREAD, k) for k in range(2 * SPREAD + 1)]
    out = [(a + d, w[d + SPREAD]) for d in range(-SPREAD, SPREAD + 1) if 0 <= a + d <= n]
    total = sum(x for _, x in out)
    return [(t, x / total) for t, x in out]


def outlook(achieved: int, n: int, target: float, intake: int, release: str = "final",
            period_kind: str = "term", verdict: str | None = None) -> dict:
    """What a steering group can act on instead of "about N answers needed".

    ``intake``: in a preliminary release the answers expected before the period closes, in a
    final one a period's intake. Returns {"kind", "probability", ...}:
      "settled"               a final release already says met / not_met ("verdict")
      "next_release"          probability = P(the next release that judges settles it), with
                              "p_met", "p_not_met", "release": "final" and "horizon"
                              ("end_of_term", "end_of_quarter", "end_of_year" for this period's
                              final release; "next_term", "next_quarter", "next_year" after one)
      "will_not_settle_soon"  that probability is below WORTH (5 %): the share is too close to
                              the target, or too few answers are expected, for it to settle then
      "no_data"               n <= 0 or no answers expected
    """
    if n <= 0 or intake <= 0:
        return {"kind": "no_data", "probability": None}
    a = max(0, min(int(achieved), int(n)))
    if release == "final" and verdict in ("met", "not_met"):
        return {"kind": "settled", "probability": None, "verdict": verdict}
    p_met = p_not = 0.0
    reads = _true_achieved(a, n)
    ts = np.array([t for t, _ in reads])
    wts = np.array([w for _, w in reads])
    for f in INTAKE_FACTORS:
        m = max(1, round(intake * f))
        pm, pn = _settle(ts, wts, n, m, target, pooled=release == "preliminary")
        p_met += pm / len(INTAKE_FACTORS)
        p_not += pn / len(INTAKE_FACTORS)
    horizon = ("end_of_" if release == "preliminary" else "next_") + period_kind
    prob = min(p_met + p_not, 1.0)
    kind = "next_release" if prob >= WORTH else "will_not_settle_soon"
    return {"kind": kind, "probability": prob, "p_met": p_met, "p_not_met": p_not,
            "release": "final", "horizon": horizon, "intake": int(intake)}
