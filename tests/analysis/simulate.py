"""Realistic-mix simulation: does the cell-key method show what it should, without misleading?

The issue's acceptance check.  Unit-terms of 15-120 answers; gender mix 45 %
women, 50 % men, 3 % non-binary, 2 % undisclosed; goal rates drawn in
0.6-0.9.  Every record gets a random key, every cell (a goal's n, its
achieved count, and the same per gender) is perturbed with cellkey.perturb,
and every figure is computed from the published counts as a page would.
Cells whose published count is under min_cell are not shown; there is no
complementary suppression.

Measured, over (unit-term, goal) pairs:
  * parity shown: among pairs with at least 5 women and 5 men (true counts)
    reaching the goal, the share where parity is not suppressed;
  * flips: a verdict "met" on published counts where the exact counts say
    "not_met", or the reverse (goal overall, each gender, parity);
  * agreement: same verdict on published and exact counts;
  * share error: |published share - exact share| for cells with true n >= 30.

The "exact" verdict is the plain Clopper-Pearson verdict on the true counts
(no noise to widen for).  Record keys come from a seeded numpy generator
here so the run is reproducible; they are uniform on the same range as
cellkey.new_record_key's, which is all the method needs.

Pure module: numpy, stdlib, cellkey, verdicts.
"""

from __future__ import annotations

import numpy as np

from analysis import cellkey, equality, verdicts

GENDERS = ("woman", "man", "non_binary", "undisclosed")
GENDER_MIX = (0.45, 0.50, 0.03, 0.02)
GOALS = {"closer": 0.75, "useful": 0.85}   # goal -> target
N_RANGE = (15, 120)
RATE_RANGE = (0.6, 0.9)


def make_unit_terms(rng: np.random.Generator, count: int) -> list[dict]:
    """`count` unit-terms: per record a gender, a key and, per goal, whether it was reached."""
    out = []
    for _ in range(count):
        n = int(rng.integers(N_RANGE[0], N_RANGE[1] + 1))
        gender = rng.choice(len(GENDERS), size=n, p=GENDER_MIX)
        keys = rng.integers(0, cellkey.KEY_RANGE, size=n)
        reached = {g: rng.random(n) < rng.uniform(*RATE_RANGE) for g in GOALS}
        out.append({"gender": gender, "keys": keys, "reached": reached})
    return out


def publish(mask: np.ndarray, keys: np.ndarray) -> tuple[int, int]:
    """(true count, published count) of the cell holding the records in `mask`."""
    count = int(mask.sum())
    return count, cellkey.perturb(count, cellkey.cell_key(int(k) for k in keys[mask]))


def exact_verdict(k: int, n: int, target: float, min_cell: int) -> str:
    """Verdict on exact counts: plain Clopper-Pearson, as if there were no noise."""
    if n < min_cell:
        return "suppressed"
    lo, hi = verdicts.clopper_pearson(k, n)
    return "met" if lo >= target else "not_met" if hi < target else "undetermined"


def exact_parity_verdict(w: int, m: int, band: tuple[float, float], min_cell: int) -> str:
    if w < min_cell or m < min_cell:
        return "suppressed"
    lo, hi = verdicts.clopper_pearson(w, w + m)
    if band[0] <= lo and hi <= band[1]:
        return "met"
    if hi < band[0] or lo > band[1]:
        return "not_met"
    return "undetermined"


def _flip(a: str, b: str) -> bool:
    return {a, b} == {"met", "not_met"}


def evaluate(unit_terms: list[dict], min_cell: int = 5,
             band: tuple[float, float] = equality.PARITY_BAND) -> dict:
    """Run every unit-term through publication and verdicts; return the measured rates. The
    ptable is read in a fixed secret order, so the figures do not depend on the machine."""
    with cellkey.secret_order("realistic-mix"):
        return _evaluate(unit_terms, min_cell, band)


def _evaluate(unit_terms: list[dict], min_cell: int, band: tuple[float, float]) -> dict:
    parity_eligible = parity_shown = 0
    flips = {"goal": 0, "by_gender": 0, "parity": 0}
    compared = {"goal": 0, "by_gender": 0, "parity": 0}
    agree = {"goal": 0, "by_gender": 0, "parity": 0}
    errors = []                           # share errors, true n >= 30 (overall and per gender)
    errors_overall = []
    for ut in unit_terms:
        keys, gender = ut["keys"], ut["gender"]
        everyone = np.ones(len(keys), bool)
        for goal, target in GOALS.items():
            reached = ut["reached"][goal]
            cells = {"all": everyone, **{g: gender == i for i, g in enumerate(GENDERS)}}
            for name, members in cells.items():
                n, n_pub = publish(members, keys)
                k, k_pub = publish(members & reached, keys)
                pub = verdicts.verdict_of(k_pub, n_pub, target, min_cell)
                ex = exact_verdict(k, n, target, min_cell)
                kind = "goal" if name == "all" else "by_gender"
                if pub != "suppressed" and ex != "suppressed":
                    compared[kind] += 1
                    flips[kind] += _flip(pub, ex)
                    agree[kind] += pub == ex
                if n >= 30 and n_pub > 0:
                    err = abs(min(k_pub, n_pub) / n_pub - k / n)
                    errors.append(err)
                    if name == "all":
                        errors_overall.append(err)
            w, w_pub = publish((gender == 0) & reached, keys)
            m, m_pub = publish((gender == 1) & reached, keys)
            pub = equality.parity_verdict_of(w_pub, m_pub, band, min_cell)
            if w >= 5 and m >= 5:
                parity_eligible += 1
                parity_shown += pub != "suppressed"
            ex = exact_parity_verdict(w, m, band, min_cell)
            if pub != "suppressed" and ex != "suppressed":
                compared["parity"] += 1
                flips["parity"] += _flip(pub, ex)
                agree["parity"] += pub == ex
    errors = np.array(errors)
    errors_overall = np.array(errors_overall)
    return {
        "pairs": len(unit_terms) * len(GOALS),
        "parity_eligible": parity_eligible,
        "parity_shown_share": parity_shown / parity_eligible,
        "flips": flips,
        "compared": compared,
        "agreement": {k: agree[k] / compared[k] for k in agree},
        "share_cells_n30": len(errors),
        "share_within_5pp": float((errors <= 0.05 + 1e-12).mean()),
        "share_within_5pp_overall": float((errors_overall <= 0.05 + 1e-12).mean()),
        "share_error_max": float(errors.max()),
        "share_error_max_overall": float(errors_overall.max()),
        "share_error_p95": float(np.quantile(errors, 0.95)),
    }
