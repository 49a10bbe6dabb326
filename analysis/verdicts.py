"""Honest verdicts on effect goals, computed from the PUBLISHED (perturbed) counts.

Everything a page says (share, interval, verdict) is computed from the counts
it shows, so what it says is consistent with what it shows.  Those counts
carry the cell-key noise of cellkey.py, so the intervals are widened for it:

* ``interval`` is the union of the exact Clopper-Pearson (CP) interval of the
  published counts and an exact *noise-aware* interval that inverts the
  exact distribution of the published share (binomial sampling convolved
  with the ptable noise of the achieved cell and of the n cell), with the
  true n, which is unknown, taken at its least favourable value within
  +-NOISE_MAX of the published n.  So it is never narrower than CP of the
  published counts (the CONTRACT's promise), and its coverage holds with
  the noise included.
* a verdict is "met" when the lower bound reaches the target, "not_met" when
  the upper bound is below it: each is a one-sided exact test at 2.5 %, so
  at a true share equal to the target each is returned at most 2.5 % of the
  time, at every n (``verdict_probabilities`` computes that exactly; the
  tests check it for n = 10..200).

Why the guarantee holds (docs/statistics.md has the long form): the published share S
has, given the true n and share p, an exactly computable distribution (the
record keys make a non-empty cell's key uniform, and the achieved cell's and
the n cell's keys independent whenever some record did not achieve).  The
tail probability of S at its observed value is a valid p-value; maximising it
over every true n compatible with the published n only makes it larger.  The
rows of the ptable are stochastically monotone, so these tail probabilities
are monotone in p and the test inverts into an interval.

Pure module: numpy, scipy, stdlib and cellkey.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np
from scipy import stats
from scipy.optimize import brentq
from scipy.special import _ufuncs, betaincinv, gammaln

from . import cellkey

ALPHA = 0.025                  # each side: a 95 % two-sided interval
Z95 = 1.959963984540054
D = cellkey.NOISE_MAX
_NOISE = np.arange(-D, D + 1)  # noise values, the columns of _kernel()

# verdict codes used by the vectorised functions
UNDETERMINED, MET, NOT_MET, SUPPRESSED = 0, 1, -1, 2
_NAMES = {UNDETERMINED: "undetermined", MET: "met", NOT_MET: "not_met", SUPPRESSED: "suppressed"}


# ---------------------------------------------------------------- building blocks

@cache
def _kernel(upto: int) -> np.ndarray:
    """K[c, i] = P(noise = _NOISE[i]) for a cell with true count c, c = 0..upto."""
    k = np.zeros((upto + 1, len(_NOISE)))
    for c in range(upto + 1):
        for v, p in cellkey.noise_distribution(c).items():
            k[c, v + D] = p
    k.setflags(write=False)
    return k


@cache
def _log_choose(n: int) -> np.ndarray:
    j = np.arange(n + 1)
    out = gammaln(n + 1) - gammaln(j + 1) - gammaln(n - j + 1)
    out.setflags(write=False)
    return out


def _binom_pmf(n: int, p: float) -> np.ndarray:
    """Binomial(n, p) probabilities of 0..n (fast: used inside root finding)."""
    if p <= 0.0:
        out = np.zeros(n + 1)
        out[0] = 1.0
        return out
    if p >= 1.0:
        out = np.zeros(n + 1)
        out[n] = 1.0
        return out
    j = np.arange(n + 1)
    return np.exp(_log_choose(n) + j * math.log(p) + (n - j) * math.log1p(-p))


def _cap(achieved: int, n: int) -> int:
    """Published achieved is capped at published n: noise can push it above n, a share cannot exceed 1."""
    return max(0, min(int(achieved), int(n)))


def _true_n_range(n_pub: int, spread: int = D) -> range:
    """Every true n that can give this published n (noise at most `spread`), at least 1."""
    return range(max(n_pub - spread, 1), n_pub + spread + 1)


def _compare(num: np.ndarray, den: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(S >= k/n, S <= k/n) for S = num/den (S = 0 where den == 0), exactly, in integers."""
    pos = den > 0
    lhs = num * n
    rhs = k * den
    ge = np.where(pos, lhs >= rhs, k == 0)
    le = np.where(pos, lhs <= rhs, True)
    return ge, le


# ----------------------------------------------------- goal: published share a_pub/n_pub

def _goal_grid(nt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes of (capped achieved_pub, n_pub) given true n = nt and true achieved a.

    Returns num, den, weight with shape (nt + 1, 5, 5): axis 0 the true
    achieved a, axis 1 the achieved cell's noise, axis 2 the n cell's noise;
    weight is P(noises | a).  For a < nt the two cells hold different records,
    so independent keys and independent noises; for a == nt they are the same
    cell (same records, same key, same noise), so only the diagonal counts.
    """
    k = _kernel(nt)
    a = np.arange(nt + 1)[:, None, None]
    a_pub = a + _NOISE[None, :, None]
    n_pub = nt + _NOISE[None, None, :]
    num = np.minimum(a_pub, n_pub)
    den = np.broadcast_to(n_pub, num.shape)
    weight = k[:, :, None] * k[nt][None, None, :]
    weight[nt] = np.diag(k[nt])
    return num, den, weight


@lru_cache(maxsize=4096)
def _goal_tails(a_c: int, n_pub: int) -> tuple[tuple[int, np.ndarray, np.ndarray], ...]:
    """For each possible true n: P(S >= s_obs | a) and P(S <= s_obs | a) as vectors over a."""
    out = []
    for nt in _true_n_range(n_pub):
        num, den, w = _goal_grid(nt)
        ge, le = _compare(num, den, a_c, n_pub)
        out.append((nt, (w * ge).sum(axis=(1, 2)), (w * le).sum(axis=(1, 2))))
    return tuple(out)


def _goal_p(a_c: int, n_pub: int, p: float) -> tuple[float, float]:
    """Noise-aware exact one-sided p-values at share p: (for "share <= p", for "share >= p").

    Each is the tail probability of the published share at its observed
    value, maximised over the true n compatible with the published n.
    """
    hi = lo = 0.0
    for nt, t_ge, t_le in _goal_tails(a_c, n_pub):
        pmf = _binom_pmf(nt, p)
        hi = max(hi, float(pmf @ t_ge))
        lo = max(lo, float(pmf @ t_le))
    return min(hi, 1.0), min(lo, 1.0)


# scipy.stats' binomial CDF and survival function are these ufuncs behind argument checks that
# cost ~0.3 ms a scalar call; a release makes tens of thousands of calls. Called directly (with
# stats' handling of k outside 0..n-1) they give the same floats, bit for bit
# (tests/analysis/test_verdict_memo.py checks it against scipy.stats over a grid).
_BINOM_CDF = _ufuncs._binom_cdf
_BINOM_SF = _ufuncs._binom_sf


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p): scipy.stats.binom.cdf, without its per-call overhead."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(_BINOM_CDF(float(k), n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p): scipy.stats.binom.sf, without its per-call overhead."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return float(_BINOM_SF(float(k), n, p))


def _cp_p(k: int, n: int, p: float) -> tuple[float, float]:
    """Exact binomial one-sided p-values of k out of n at share p: (P(X >= k), P(X <= k))."""
    return binom_sf(k - 1, n, p), binom_cdf(k, n, p)


def clopper_pearson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Exact Clopper-Pearson interval, `alpha` in each tail. betaincinv is the function
    scipy.stats.beta.ppf evaluates (same floats), at a fiftieth of the cost of a scalar call."""
    if n <= 0:
        return 0.0, 1.0
    k = _cap(k, n)
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha))
    return lo, hi


def _root(f, lo: float, hi: float) -> float:
    return brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200)


def _invert(p_of_share) -> tuple[float, float]:
    """Interval {p : p_of_share(p)[0] > ALPHA and p_of_share(p)[1] > ALPHA}, both tails monotone."""
    # lower bound: where "share <= p" stops being rejected (increasing in p)
    f_lo = lambda p: p_of_share(p)[0] - ALPHA
    if f_lo(0.0) > 0:
        lower = 0.0
    elif f_lo(1.0) <= 0:
        lower = 1.0
    else:
        lower = _root(f_lo, 0.0, 1.0)
    g_hi = lambda p: p_of_share(p)[1] - ALPHA
    if g_hi(1.0) > 0:
        upper = 1.0
    elif g_hi(0.0) <= 0:
        upper = 0.0
    else:
        upper = _root(g_hi, 0.0, 1.0)
    return lower, upper


def interval(achieved_pub: int, n_pub: int) -> tuple[float, float]:
    """95 % interval for the true share from published counts, widened for the noise.

    The union of CP(published counts) and the exact noise-aware interval, so it
    is at least as wide as CP of the published counts and valid with the noise.
    """
    if n_pub <= 0:
        return 0.0, 1.0
    return _interval(_cap(achieved_pub, n_pub), int(n_pub))


@lru_cache(maxsize=65536)
def _interval(a_c: int, n_pub: int) -> tuple[float, float]:
    """interval() of capped counts, memoised: it does not depend on the target, and a release
    asks for the same (achieved, n) in many units, periods and breakdowns. Computed by the
    windowed exact test below (about a millisecond at any n)."""
    lo, hi = intervals([a_c], [n_pub])
    return float(lo[0]), float(hi[0])


def direct_interval(a_c: int, n_pub: int) -> tuple[float, float]:
    """interval() of capped counts by root finding over the full grid of every true achieved
    count (the reference the windowed computation is tested against; slower, O(n) a step)."""
    lo_n, hi_n = _invert(lambda p: _goal_p(a_c, n_pub, p))
    lo_c, hi_c = clopper_pearson(a_c, n_pub)
    return min(lo_n, lo_c), max(hi_n, hi_c)


def exact_p_values(achieved_pub: int, n_pub: int, target: float) -> dict[str, float]:
    """Exact one-sided p-values against the target, consistent with the verdict.

    ``p_null_share_le_target``: p-value of the null hypothesis "true share <=
    target"; the goal is "met" exactly when it is <= 0.025.
    ``p_null_share_ge_target``: p-value of "true share >= target"; "not_met"
    exactly when it is < 0.025.  Neither is the probability that the goal
    failed (or was met): small means the data would be unusual if the null
    were true.
    """
    a_c = _cap(achieved_pub, n_pub)
    p_le, p_ge = p_values([a_c], [n_pub], target)
    return {"p_null_share_le_target": float(p_le[0]), "p_null_share_ge_target": float(p_ge[0])}


def direct_p_values(a_c: int, n_pub: int, target: float) -> tuple[float, float]:
    """exact_p_values over the full grid (the reference for the windowed computation)."""
    hi_n, lo_n = _goal_p(a_c, n_pub, target)
    hi_c, lo_c = _cp_p(a_c, n_pub, target)
    return max(hi_n, hi_c), max(lo_n, lo_c)


# ------------------------------------------- the same test, windowed and vectorised
#
# P(S >= s_obs | true n = nt, true achieved a) is 0 for a < a_c - 3D and 1 for a > a_c + 3D
# (the published share moves by at most 2D/(nt - D) from a/nt; see docs/statistics.md, 3),
# and P(S <= s_obs | ...) the other way round. So each p-value is a binomial tail plus a sum
# over 6D + 1 true counts around the published one, whatever n is: the exact test costs the
# same at n = 30 and n = 30 000, and many cells go through numpy together (a release).

H = 3 * D
_OFFS = np.arange(-H, H + 1)
_CHUNK = 4096


@cache
def _noise_tables() -> tuple[np.ndarray, np.ndarray]:
    """surv[r, x + D] = P(noise >= x) for x = -D..D+1, cdf[r, y + D + 1] = P(noise <= y) for
    y = -D-1..D, for every ptable row r."""
    k = _kernel(cellkey.LAST_ROW)
    surv = np.concatenate([k[:, ::-1].cumsum(axis=1)[:, ::-1], np.zeros((len(k), 1))], axis=1)
    cdf = np.concatenate([np.zeros((len(k), 1)), k.cumsum(axis=1)], axis=1)
    return surv, cdf


def _window_tails(A: np.ndarray, N: np.ndarray):
    """Target-free parts of the test for cells (A capped achieved, N published n), arrays.

    Returns (nts, ok, a, ok_a, t_ge, t_le, logc): the candidate true n (C, 2D+1), which are
    possible (nt >= 1), the true achieved counts of the window (C, 2D+1, 6D+1), which lie in
    0..nt, the tail probabilities over the noise there, and log C(nt, a) for the pmf.
    """
    last = cellkey.LAST_ROW
    surv, cdf = _noise_tables()
    kn = _kernel(last)
    nts = N[:, None] + _NOISE[None, :]
    ok = nts >= 1
    nt3 = nts[:, :, None]
    a = A[:, None, None] + _OFFS[None, None, :] + 0 * nt3
    ok_a = ok[:, :, None] & (a >= 0) & (a <= nt3)
    ac = np.clip(a, 0, None)
    rows = np.minimum(ac, last)
    diag = a == nt3                                       # everyone achieved: one cell, one noise
    An, Nn = A[:, None, None], N[:, None, None]
    krow = kn[np.clip(nts, 0, last)]                      # (C, 5, 5): the n cell's noise
    t_ge = np.zeros(a.shape)
    t_le = np.zeros(a.shape)
    for j, vn in enumerate(_NOISE):                       # the n cell's noise
        den = nt3 + vn
        pos = den > 0
        # S >= A/N  <=>  min(a + va, den) >= ceil(A*den/N)  <=>  va >= ceil(A*den/N) - a
        # (the ceiling never exceeds den); S <= A/N likewise with the floor, or den itself
        # when A = N. So each tail is one lookup in the achieved cell's cumulative noise row.
        c = -((-An * den) // Nn)
        f = (An * den) // Nn
        ge = surv[rows, np.clip(c - ac, -D, D + 1) + D]
        le = cdf[rows, np.clip(f - ac, -D - 1, D) + D + 1]
        ge = np.where(diag, 1.0, ge)
        le = np.where(diag, (f >= den).astype(float), np.where(f >= den, 1.0, le))
        kj = krow[:, :, j][:, :, None]
        t_ge += kj * np.where(pos, ge, (An == 0).astype(float))
        t_le += kj * np.where(pos, le, 1.0)
    t_ge = np.where(ok_a, t_ge, 0.0)
    t_le = np.where(ok_a, t_le, 0.0)
    ntc = np.maximum(nts, 0)[:, :, None]
    logc = gammaln(ntc + 1) - gammaln(ac + 1) - gammaln(np.maximum(ntc - ac, 0) + 1)
    return nts, ok, ac, ok_a, t_ge, t_le, logc


def _window_p(parts, A: np.ndarray, p: np.ndarray, side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(P(S >= s_obs), P(S <= s_obs)) at share p (one per cell, strictly inside (0, 1)),
    maximised over the candidate true n. side=+1 computes only the first (the other is
    returned as None), side=-1 only the second."""
    nts, ok, a, ok_a, t_ge, t_le, logc = parts
    pp = p[:, None, None]
    pmf = np.where(ok_a, np.exp(logc + a * np.log(pp) + (nts[:, :, None] - a) * np.log1p(-pp)), 0.0)
    ntf = np.maximum(nts, 1).astype(float)
    pc = p[:, None]
    g = l_ = None
    with np.errstate(all="ignore"):
        if side >= 0:
            hi_k = (A[:, None] + H).astype(float)         # above the window: P(S >= s_obs) = 1
            sf = np.where(hi_k >= ntf, 0.0, _BINOM_SF(np.maximum(hi_k, 0), ntf, pc))
            g = np.minimum(np.where(ok, sf + (pmf * t_ge).sum(axis=-1), 0.0).max(axis=1), 1.0)
        if side <= 0:
            lo_k = (A[:, None] - H - 1).astype(float)     # below it: P(S <= s_obs) = 1
            cdf = np.where(lo_k < 0, 0.0, np.where(lo_k >= ntf, 1.0, _BINOM_CDF(np.maximum(lo_k, 0), ntf, pc)))
            l_ = np.minimum(np.where(ok, cdf + (pmf * t_le).sum(axis=-1), 0.0).max(axis=1), 1.0)
    return g, l_


def _illinois(f, a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray, steps: int) -> np.ndarray:
    """Roots of the continuous functions f (one per cell) bracketed by [a, b] (fa, fb of opposite
    sign), all cells together: regula falsi with the Illinois modification (the kept end's value
    is halved when the same end is kept twice), which converges superlinearly."""
    side = np.zeros(len(a))
    c = (a + b) / 2
    done = np.zeros(len(a), dtype=bool)
    for _ in range(steps):
        if done.all():
            break
        d = fb - fa
        c = np.where(d != 0, (a * fb - b * fa) / np.where(d != 0, d, 1), (a + b) / 2)
        c = np.where((c > a) & (c < b), c, (a + b) / 2)
        fc = f(c)
        with_b = np.sign(fc) == np.sign(fb)
        fa = np.where(with_b & (side == -1), fa / 2, fa)
        fb = np.where(~with_b & (side == 1), fb / 2, fb)
        b, fb = np.where(with_b, c, b), np.where(with_b, fc, fb)
        a, fa = np.where(with_b, a, c), np.where(with_b, fa, fc)
        side = np.where(with_b, -1, 1)
        # 1e-11 is far below the published 3 decimals (rounded outwards) and the verdict is
        # decided from the p-values at the target, not from these bounds
        done = (b - a < 1e-11) | (np.abs(fc) < 1e-15)
    return c


def _cp_p_arrays(A: np.ndarray, N: np.ndarray, p) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial p-values of the published counts: (P(X >= A), P(X <= A))."""
    Af, Nf = A.astype(float), N.astype(float)
    with np.errstate(all="ignore"):
        sf = np.where(A - 1 < 0, 1.0, np.where(A - 1 >= N, 0.0, _BINOM_SF(np.maximum(Af - 1, 0), Nf, p)))
        cdf = np.where(A >= N, 1.0, _BINOM_CDF(Af, Nf, p))
    return sf, cdf


def _as_cells(achieved, n) -> tuple[np.ndarray, np.ndarray]:
    N = np.asarray(n, dtype=np.int64).reshape(-1)
    A = np.clip(np.asarray(achieved, dtype=np.int64).reshape(-1), 0, N)
    if (N <= 0).any():
        raise ValueError("published n must be >= 1")
    return A, N


def p_values(achieved, n, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Noise-aware exact one-sided p-values of many cells against one target:
    (for "share <= target", for "share >= target"), each combined (max) with the exact binomial
    p-value of the published counts. The same numbers direct_p_values gives (up to rounding)."""
    A, N = _as_cells(achieved, n)
    out_le, out_ge = np.empty(len(A)), np.empty(len(A))
    for s in range(0, len(A), _CHUNK):
        a, nn = A[s:s + _CHUNK], N[s:s + _CHUNK]
        if 0.0 < target < 1.0:
            g, l_ = _window_p(_window_tails(a, nn), a, np.full(len(a), float(target)))
        else:  # a share of exactly 0 or 1: no noise can make the published one move the other way
            g = np.where((a > 0) | (target <= 0), 1.0, 0.0) if target >= 1 else np.ones(len(a))
            l_ = np.ones(len(a)) if target >= 1 else np.where(a == 0, 1.0, 0.0)
        cg, cl = _cp_p_arrays(a, nn, float(target))
        out_le[s:s + _CHUNK] = np.maximum(g, cg)
        out_ge[s:s + _CHUNK] = np.maximum(l_, cl)
    return out_le, out_ge


def intervals(achieved, n) -> tuple[np.ndarray, np.ndarray]:
    """interval() of many cells at once: root finding on both monotone p-values, all cells
    together, then the union with Clopper-Pearson of the published counts."""
    A, N = _as_cells(achieved, n)
    lo_out, hi_out = np.empty(len(A)), np.empty(len(A))
    for s in range(0, len(A), _CHUNK):
        a, nn = A[s:s + _CHUNK], N[s:s + _CHUNK]
        parts = _window_tails(a, nn)
        m = len(a)
        with np.errstate(all="ignore"):
            cp_lo = np.where(a == 0, 0.0, betaincinv(np.maximum(a, 1), nn - a + 1, ALPHA))
            cp_hi = np.where(a == nn, 1.0, betaincinv(a + 1, np.maximum(nn - a, 1), 1 - ALPHA))
        # lower bound: the p where P(S >= s_obs), rising in p, reaches ALPHA; upper bound: where
        # P(S <= s_obs), falling in p, does. Bracketed by a guess a little below (above) the
        # Clopper-Pearson bound of the published counts, checked, else by 0 (1).
        eps = 1e-15
        g_lo = lambda x: _window_p(parts, a, x, +1)[0] - ALPHA
        g_hi = lambda x: _window_p(parts, a, x, -1)[1] - ALPHA
        guess = np.clip(cp_lo - 4 * D / nn - 0.02, eps, 1 - eps)
        fg = g_lo(guess)
        x0 = np.where(fg <= 0, guess, eps)
        f0 = np.where(fg <= 0, fg, g_lo(np.full(m, eps)))
        x1 = np.full(m, 1 - eps)
        f1 = g_lo(x1)
        lower = _illinois(g_lo, x0, x1, f0, f1, 60)
        lower = np.where(f0 > 0, 0.0, np.where(f1 <= 0, 1.0, lower))
        guess = np.clip(cp_hi + 4 * D / nn + 0.02, eps, 1 - eps)
        fg = g_hi(guess)
        y1 = np.where(fg <= 0, guess, 1 - eps)
        h1 = np.where(fg <= 0, fg, g_hi(np.full(m, 1 - eps)))
        y0 = np.full(m, eps)
        h0 = g_hi(y0)
        upper = _illinois(g_hi, y0, y1, h0, h1, 60)
        upper = np.where(h1 > 0, 1.0, np.where(h0 <= 0, 0.0, upper))
        l1, u0 = lower, upper
        lower = np.where(a == 0, 0.0, l1)
        upper = np.where(a == nn, 1.0, u0)
        lo_out[s:s + _CHUNK] = np.minimum(lower, cp_lo)
        hi_out[s:s + _CHUNK] = np.maximum(upper, cp_hi)
    return lo_out, hi_out


def verdict_of(achieved_pub: int, n_pub: int, target: float, min_cell: int = 0) -> str:
    """The verdict alone (no interval): the same decision goal_verdict makes."""
    if n_pub < min_cell:
        return "suppressed"
    if n_pub <= 0:
        return "undetermined"
    return _verdict_from(exact_p_values(achieved_pub, n_pub, target))


def _verdict_from(p: dict[str, float]) -> str:
    if p["p_null_share_le_target"] <= ALPHA:      # <=> lower bound >= target
        return "met"
    if p["p_null_share_ge_target"] < ALPHA:       # <=> upper bound < target
        return "not_met"
    return "undetermined"


def verdict_array(n_pub: int, target: float, min_cell: int = 0) -> np.ndarray:
    """Verdict codes for every achieved_pub = 0..n_pub + 2*NOISE_MAX at one published n.

    Vectorised twin of verdict_of (same p-values, computed from the full
    distribution of the published share at p = target instead of per
    observation); used by verdict_probabilities and outlook.  Codes: MET,
    NOT_MET, UNDETERMINED, SUPPRESSED.
    """
    size = n_pub + 2 * D + 1
    if n_pub < min_cell:
        return np.full(size, SUPPRESSED)
    if n_pub <= 0:
        return np.full(size, UNDETERMINED)
    a_c = np.minimum(np.arange(size), n_pub)
    s = a_c / n_pub          # equal fractions give identical floats (correct rounding)
    p_hi = np.zeros(size)
    p_lo = np.zeros(size)
    for nt in _true_n_range(n_pub):
        num, den, w = _goal_grid(nt)
        prob = (w * _binom_pmf(nt, target)[:, None, None]).ravel()
        num, den = num.ravel(), den.ravel()
        val = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
        order = np.argsort(val, kind="stable")
        val, prob = val[order], prob[order]
        cum = np.concatenate([[0.0], np.cumsum(prob)])
        total = cum[-1]
        p_hi = np.maximum(p_hi, total - cum[np.searchsorted(val, s, side="left")])
        p_lo = np.maximum(p_lo, cum[np.searchsorted(val, s, side="right")])
    p_hi = np.maximum(np.minimum(p_hi, 1.0), stats.binom.sf(a_c - 1, n_pub, target))
    p_lo = np.maximum(np.minimum(p_lo, 1.0), stats.binom.cdf(a_c, n_pub, target))
    codes = np.full(size, UNDETERMINED)
    codes[p_lo < ALPHA] = NOT_MET
    codes[p_hi <= ALPHA] = MET
    return codes


def _round_out(lo: float, hi: float, digits: int | None) -> list[float]:
    if digits is None:
        return [lo, hi]
    f = 10**digits
    return [math.floor(lo * f + 1e-9) / f, math.ceil(hi * f - 1e-9) / f]


def goal_verdict(achieved_pub: int, n_pub: int, target: float, min_cell: int,
                 digits: int | None = 3) -> dict:
    """The CONTRACT goal figures from published counts.

    Returns {"target", "n", "achieved", "share", "ci95", "verdict",
    "p_null_share_le_target", "p_null_share_ge_target"}; when n_pub < min_cell
    only {"target", "verdict": "suppressed"} (counts and shares omitted).
    ``achieved`` is capped at n (noise can push it above).  The verdict is
    decided on unrounded values; with ``digits`` the share is rounded and the
    interval rounded outwards.
    """
    if n_pub < min_cell or n_pub <= 0:
        return {"target": target, "verdict": "suppressed"}
    a_c = _cap(achieved_pub, n_pub)
    lo, hi = interval(a_c, n_pub)
    p = exact_p_values(a_c, n_pub, target)
    share = a_c / n_pub
    return {
        "target": target,
        "n": int(n_pub),
        "achieved": a_c,
        "share": share if digits is None else round(share, digits),
        "ci95": _round_out(lo, hi, digits),
        "verdict": _verdict_from(p),  # verdict_of's decision on the same p-values, computed once
        **p,
    }


# -------------------------------------------------------------- exact error rates

def verdict_probabilities(n: int, share: float, target: float, min_cell: int = 0) -> dict[str, float]:
    """Exact probability of each verdict when the true n is n and the true share is `share`.

    Model: true achieved ~ Binomial(n, share); every record has an independent
    uniform key, so the achieved cell's noise and the n cell's noise follow
    the ptable and are independent (they are the same cell, with the same
    noise, when everyone achieved).  Sums binomial pmf x noise pmf over every
    outcome; no simulation.
    """
    k = _kernel(n)
    pmf = _binom_pmf(n, share)
    out = {"met": 0.0, "not_met": 0.0, "undetermined": 0.0, "suppressed": 0.0}
    for j, en in enumerate(_NOISE):
        pn = k[n, j]
        if pn == 0:
            continue
        n_pub = n + en
        codes = verdict_array(n_pub, target, min_cell)
        # P(achieved_pub = x) for achieved < n (independent noise), as a vector over x
        dist = np.zeros(n + 4 * D + 1)     # long enough for every n_pub's code vector
        for i, ea in enumerate(_NOISE):
            x = np.arange(n) + ea          # true achieved 0..n-1 plus this noise
            ok = x >= 0
            np.add.at(dist, x[ok], pmf[:n][ok] * k[:n, i][ok])
        dist[n_pub] += pmf[n]              # everyone achieved: same cell as n
        assert dist[len(codes):].sum() == 0
        for code, name in _NAMES.items():
            out[name] += pn * float(dist[: len(codes)][codes == code].sum())
    return out
