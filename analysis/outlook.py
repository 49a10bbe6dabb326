"""The outlook of an undetermined goal: how likely the next term's answers settle it. Pure module."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .verdicts import MET, NOT_MET, _cap, verdict_array, verdict_of

SOON_TERMS = 3        # "soon" = within this many terms' intake
REASONABLE = 0.5      # a chance below this is not a reasonable chance


def _settle_probabilities(a: int, n: int, target: float, extra: int) -> tuple[float, float]:
    """P(met), P(not_met) once `extra` more answers are added, Jeffreys posterior predictive."""
    y = np.arange(extra + 1)
    pred = stats.betabinom.pmf(y, extra, a + 0.5, n - a + 0.5)
    codes = verdict_array(n + extra, target)[a + y]
    return float(pred[codes == MET].sum()), float(pred[codes == NOT_MET].sum())


def outlook(achieved: int, n: int, target: float, next_intake: int) -> dict:
    """What a steering group can act on instead of "about N answers needed".

    Method: the share's posterior given the published counts, with Jeffreys'
    Beta(1/2, 1/2) prior, is Beta(a + 1/2, n - a + 1/2); the next term's
    expected intake of m answers then has a beta-binomial predictive number
    reaching the goal; the probability that the verdict on the combined
    counts is "met" or "not_met" (same widened test as the verdict) is the
    chance the next term settles it.  If that chance is below REASONABLE and
    even SOON_TERMS terms' intake would settle it with less than REASONABLE
    chance, the share is too close to the target for more answers to settle
    it soon.

    Returns {"kind", "probability", ...}:
      "settled"               verdict already met / not_met ("verdict"); probability None
      "next_term"             probability = P(next term settles it), with "p_met", "p_not_met"
      "will_not_settle_soon"  probability = P(SOON_TERMS terms settle it) (< REASONABLE), "terms"
      "no_data"               n <= 0 or next_intake <= 0; probability None
    """
    if n <= 0 or next_intake <= 0:
        return {"kind": "no_data", "probability": None}
    a = _cap(achieved, n)
    now = verdict_of(a, n, target)
    if now != "undetermined":
        return {"kind": "settled", "probability": None, "verdict": now}
    p_met, p_not = _settle_probabilities(a, n, target, next_intake)
    if p_met + p_not < REASONABLE:
        m3, n3 = _settle_probabilities(a, n, target, SOON_TERMS * next_intake)
        if m3 + n3 < REASONABLE:
            return {"kind": "will_not_settle_soon", "probability": m3 + n3, "terms": SOON_TERMS,
                    "next_intake": int(next_intake)}
    return {"kind": "next_term", "probability": p_met + p_not, "p_met": p_met, "p_not_met": p_not,
            "next_intake": int(next_intake)}
