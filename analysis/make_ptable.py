"""Generate the perturbation table (ptable) that cellkey.py keeps as literal data.

Run once; paste the printed block into cellkey.py.  The table is *data*, not
code: regenerating it must give the same numbers (the method is
deterministic), but the module never recomputes it at run time, so a change
of scipy version can never move a published figure.

Method (the one of Destatis' R package ``ptable``, ``create_cnt_ptable``):

* parameters: maximum noise D, noise variance V, blocking threshold js
  (no published count may be 1..js), key range R (number of cell-key values);
* row i (true count i) may go to any target j in [max(i - D, 0), i + D],
  except the blocked targets 1..js; row 0 goes to 0 only (zeros stay zero);
* in each row the noise probabilities p(v) maximise the entropy
  -sum p log p subject to sum p = 1, mean sum p v = 0, variance
  sum p v^2 = V.  Where blocking makes V unreachable with mean 0 (small
  rows), the reachable variance nearest to V is used instead -- never a
  bias: every row keeps mean 0;
* rows i >= D + js + 1 have every target available, so they are all the same
  symmetric distribution: one row serves all larger counts;
* probabilities are quantised to multiples of 1/R (the cell key is uniform
  over R values): integer key counts c(v) with sum R, exactly zero mean
  where R allows it, variance as near V as possible;
* the rows are checked to be *stochastically monotone* (for every x,
  P(i + noise >= x) never decreases as i grows; Destatis' ``mono`` option):
  verdicts.py relies on it, because then a larger true share always makes
  larger published shares more likely, so its exact tests can be inverted
  into intervals.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog, minimize

D = 2          # maximum absolute noise
V = 0.4        # noise variance for counts large enough to be unaffected by blocking (docs/statistics.md, 2:
               # chosen for a 95th percentile share error under 4 points at n >= 30; 0.8 gave 5.1)
JS = 2         # blocked published values: 1..JS never appear
R = 256        # key range (cell keys 0..R-1), as ONS uses


def row_support(i: int) -> list[int]:
    """Noise values allowed for true count i."""
    if i == 0:
        return [0]
    targets = [j for j in range(max(i - D, 0), i + D + 1) if not 1 <= j <= JS]
    return [j - i for j in targets]


def max_entropy(v: np.ndarray, var: float) -> np.ndarray:
    """Maximum-entropy probabilities on support v with mean 0 and the variance nearest var."""
    n = len(v)
    if n == 1:
        return np.ones(1)
    eq = np.vstack([np.ones(n), v])
    lo = linprog(v**2, A_eq=eq, b_eq=[1, 0], bounds=[(0, 1)] * n)
    hi = linprog(-(v**2), A_eq=eq, b_eq=[1, 0], bounds=[(0, 1)] * n)
    vmin, vmax = lo.fun, -hi.fun
    if vmax - vmin < 1e-12:          # mean 0 pins the row down (no freedom left)
        return np.clip(lo.x, 0, 1)
    target = min(max(var, vmin), vmax)
    if abs(target - vmin) < 1e-12:   # entropy has nothing left to choose
        return np.clip(lo.x, 0, 1)
    cons = [{"type": "eq", "fun": lambda p: p.sum() - 1},
            {"type": "eq", "fun": lambda p: p @ v},
            {"type": "eq", "fun": lambda p: p @ v**2 - target}]
    res = minimize(lambda p: np.sum(p * np.log(np.maximum(p, 1e-300))),
                   np.full(n, 1 / n), constraints=cons, bounds=[(1e-12, 1)] * n,
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert res.success, res.message
    return res.x


def quantise(v: np.ndarray, p: np.ndarray, var: float, symmetric: bool) -> np.ndarray:
    """Integer key counts c (sum R) near R*p: zero mean first, then variance near var, then closeness."""
    base = np.floor(R * p).astype(int)
    best, best_score = None, None
    for delta in itertools.product(range(-2, 4), repeat=len(v)):
        c = base + np.array(delta)
        if (c < 0).any() or c.sum() != R or ((p == 0) & (c > 0)).any():
            continue
        if symmetric and not np.array_equal(c, c[::-1]):
            continue
        mean = c @ v
        score = (abs(mean), abs(c @ v**2 / R - var), np.abs(c - R * p).sum())
        if best_score is None or score < best_score:
            best, best_score = c, score
    return best


def build() -> dict[int, dict[int, int]]:
    rows = {}
    for i in range(D + JS + 2):
        v = np.array(row_support(i), dtype=float)
        p = max_entropy(v, V)
        full_row = i >= D + JS + 1
        # the variance actually reached before quantising (V, or the nearest reachable value)
        c = quantise(v, p, float(p @ v**2), symmetric=full_row)
        rows[i] = {int(x): int(k) for x, k in zip(v, c) if k > 0}
    return rows


def check_monotone(rows: dict[int, dict[int, int]]) -> None:
    """P(i + noise >= x) must not decrease in i (checked up to two rows past the last)."""
    last = max(rows)
    top = last + 2
    def surv(i: int, x: int) -> int:
        row = rows[min(i, last)]
        return sum(k for e, k in row.items() if i + e >= x)
    for i in range(top):
        for x in range(top + D + 2):
            assert surv(i, x) <= surv(i + 1, x), (i, x)


if __name__ == "__main__":
    rows = build()
    check_monotone(rows)
    print(f"# generated by make_ptable.py: D={D}, V={V}, js={JS}, key range {R}")
    print("PTABLE_KEY_COUNTS = {")
    for i, row in rows.items():
        mean = sum(e * k for e, k in row.items()) / R
        var = sum(e * e * k for e, k in row.items()) / R - mean**2
        print(f"    {i}: {row},  # mean {mean:+.4f}, variance {var:.4f}")
    print("}")
