"""Women and men among those who reached a goal: parity (women's share judged against a band) and
the difference of their rates. Like analysis/verdicts.py, computed from the published counts
with the cell-key noise taken into account. Pure module."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import cellkey
from .verdicts import (
    _NOISE,
    ALPHA,
    Z95,
    D,
    _binom_pmf,
    _cap,
    _compare,
    _cp_p,
    _invert,
    _kernel,
    _round_out,
    _true_n_range,
)

PARITY_BAND = (0.40, 0.60)     # Swedish government's even distribution; the agreement may set another


def _parity_grid(t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes of (women_pub, women_pub + men_pub) given t women and men reached the goal.

    Axis 0: w = true women (t - w men); axis 1 women's noise, axis 2 men's.
    Women's and men's cells hold disjoint records, so independent noises.
    """
    k = _kernel(t)
    w = np.arange(t + 1)
    w_pub = w[:, None, None] + _NOISE[None, :, None]
    m_pub = (t - w)[:, None, None] + _NOISE[None, None, :]
    weight = k[w][:, :, None] * k[t - w][:, None, :]
    return w_pub, w_pub + m_pub, weight


@lru_cache(maxsize=4096)
def _parity_tails(w_pub: int, t_pub: int):
    out = []
    for t in _true_n_range(t_pub, 2 * D):
        num, den, wt = _parity_grid(t)
        ge, le = _compare(num, den, w_pub, t_pub)
        out.append((t, (wt * ge).sum(axis=(1, 2)), (wt * le).sum(axis=(1, 2))))
    return tuple(out)


def _parity_p(w_pub: int, t_pub: int, p: float) -> tuple[float, float]:
    """Noise-aware p-values for women's share p: (for "share <= p", for "share >= p"), with CP."""
    hi = lo = 0.0
    for t, t_ge, t_le in _parity_tails(w_pub, t_pub):
        pmf = _binom_pmf(t, p)
        hi = max(hi, float(pmf @ t_ge))
        lo = max(lo, float(pmf @ t_le))
    hi_c, lo_c = _cp_p(w_pub, t_pub, p)
    return max(min(hi, 1.0), hi_c), max(min(lo, 1.0), lo_c)


def parity_verdict_of(women_pub: int, men_pub: int, band: tuple[float, float] = PARITY_BAND,
                      min_cell: int = 5) -> str:
    """The parity verdict alone (no interval): the same decision parity() makes.

    Decided from the p-values at the band's edges, which is the same as
    comparing the interval with the band:
    lower >= band_lo <=> p(share <= band_lo) <= ALPHA;
    upper <= band_hi <=> p(share >= band_hi) <= ALPHA;
    upper < band_lo <=> p(share >= band_lo) < ALPHA;
    lower > band_hi <=> p(share <= band_hi) < ALPHA.
    """
    band_lo, band_hi = float(band[0]), float(band[1])
    if women_pub < min_cell or men_pub < min_cell or women_pub + men_pub <= 0:
        return "suppressed"
    t_pub = women_pub + men_pub
    at_lo = _parity_p(women_pub, t_pub, band_lo)
    at_hi = _parity_p(women_pub, t_pub, band_hi)
    if at_lo[0] <= ALPHA and at_hi[1] <= ALPHA:
        return "met"
    if at_lo[1] < ALPHA or at_hi[0] < ALPHA:
        return "not_met"
    return "undetermined"


def parity(women_pub: int, men_pub: int, band: tuple[float, float] = PARITY_BAND,
           min_cell: int = 5, digits: int | None = 3) -> dict:
    """Women's share among the women and men who reached the goal, judged against `band`.

    Returns {"band", "women", "men", "share_women", "ci95", "verdict"}:
    "met" when the (widened) interval lies inside the band, "not_met" when it
    lies wholly outside, else "undetermined"; "suppressed" (counts omitted)
    when either published count is below min_cell, because the share and the
    other count would give it away.  Non-binary and undisclosed answers are
    not in this share (they stay in the goal's n).
    """
    band_lo, band_hi = float(band[0]), float(band[1])
    if not 0.0 <= band_lo < band_hi <= 1.0:
        raise ValueError("band must satisfy 0 <= low < high <= 1")
    if women_pub < min_cell or men_pub < min_cell or women_pub + men_pub <= 0:
        return {"band": [band_lo, band_hi], "verdict": "suppressed"}
    t_pub = women_pub + men_pub
    lo, hi = _invert(lambda p: _parity_p(women_pub, t_pub, p))
    v = parity_verdict_of(women_pub, men_pub, band, min_cell)
    share = women_pub / t_pub
    return {"band": [band_lo, band_hi], "women": int(women_pub), "men": int(men_pub),
            "share_women": share if digits is None else round(share, digits),
            "ci95": _round_out(lo, hi, digits), "verdict": v}


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (the building block of Newcombe's method 10)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (0.0 if k <= 0 else max(0.0, centre - half)), (1.0 if k >= n else min(1.0, centre + half))


def _noise_var_of_rate(k: int, n: int) -> float:
    """Delta-method variance that the cell noise adds to the published rate k/n."""
    var = lambda c: sum(v * v * p for v, p in cellkey.noise_distribution(c).items())
    p = k / n
    return (var(k) + p * p * var(n)) / (n * n)


def women_vs_men(kw: int, nw: int, km: int, nm: int, widen: bool = True,
                 min_cell: int = 0, digits: int | None = 3) -> dict:
    """Women's rate of reaching the goal minus men's, with Newcombe's hybrid score interval.

    Newcombe (1998) method 10: square-and-add of the two Wilson intervals.
    With ``widen`` (default) each rate's error also gets the variance the
    cell noise adds (independent of sampling, so it adds under the square
    root); ``widen=False`` is Newcombe's interval exactly.  Returns
    {"difference", "ci95"}; both None when a count is below min_cell (the
    rates would reveal it).
    """
    if min(kw, nw, km, nm) < min_cell or nw <= 0 or nm <= 0:
        return {"difference": None, "ci95": None}
    kw, km = _cap(kw, nw), _cap(km, nm)
    p1, p2 = kw / nw, km / nm
    l1, u1 = wilson(kw, nw)
    l2, u2 = wilson(km, nm)
    e1 = Z95 * Z95 * _noise_var_of_rate(kw, nw) if widen else 0.0
    e2 = Z95 * Z95 * _noise_var_of_rate(km, nm) if widen else 0.0
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + e1 + (u2 - p2) ** 2 + e2)
    hi = d + math.sqrt((u1 - p1) ** 2 + e1 + (p2 - l2) ** 2 + e2)
    lo, hi = max(lo, -1.0), min(hi, 1.0)
    return {"difference": d if digits is None else round(d, digits),
            "ci95": _round_out(lo, hi, digits)}
