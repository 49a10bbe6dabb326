"""cellkey against the ONS reference implementation, and the ptable's promised properties."""

from __future__ import annotations

import contextlib
import io
import itertools

import numpy as np
import pytest

from analysis import cellkey, make_ptable

pd = pytest.importorskip("pandas")
ons = pytest.importorskip("cell_key_perturbation.create_perturbed_table")

MAX_PCV = 750  # ONS looks counts up in rows 1..750 (larger counts reuse rows 501..750)


@pytest.fixture(scope="module")
def ons_ptable():
    """OUR ptable in THEIR format: one row per (pcv, ckey) with the noise as pvalue."""
    pcv, ckey = zip(*itertools.product(range(1, MAX_PCV + 1), range(cellkey.KEY_RANGE)))
    pvalue = [cellkey.noise(c, k) for c, k in zip(pcv, ckey)]
    return pd.DataFrame({"pcv": pcv, "ckey": ckey, "pvalue": pvalue})


def _ons_table(data, ptable, tab_vars, threshold):
    with contextlib.redirect_stdout(io.StringIO()):   # it prints validation notes
        return ons.create_perturbed_table(data=data, ptable=ptable, geog=[], tab_vars=tab_vars,
                                          record_key="record_key", use_existing_ons_id=False,
                                          threshold=threshold)


def _ours(data, tab_vars, threshold):
    """Our published counts per cell from the same records and record keys."""
    out = {}
    for cell, group in data.groupby(tab_vars):
        keys = group["record_key"].tolist()
        count = len(keys)
        published = cellkey.perturb(count, cellkey.cell_key(keys))
        out[cell if isinstance(cell, tuple) else (cell,)] = published if published >= threshold else None
    return out


def _random_table(rng, size, nvars, big_cell=0):
    data = {f"v{i}": rng.integers(0, rng.integers(2, 6), size=size) for i in range(nvars)}
    df = pd.DataFrame(data)
    if big_cell:   # one cell past 750, where ONS reuses rows 501..750
        df = pd.concat([df, pd.DataFrame({c: [0] * big_cell for c in df.columns})], ignore_index=True)
    df["record_key"] = rng.integers(0, cellkey.KEY_RANGE, size=len(df))
    return df


@pytest.mark.parametrize("threshold", [0, 5])
def test_same_published_counts_as_ons(ons_ptable, threshold):
    rng = np.random.default_rng(20250 + threshold)
    tables = 60
    cells = 0
    for t in range(tables):
        size = int(rng.integers(10, 400))
        tab_vars = [f"v{i}" for i in range(int(rng.integers(1, 4)))]
        df = _random_table(rng, size, len(tab_vars), big_cell=1600 if t == 0 else 0)
        if t == 1:   # one table with keys from the production generator
            df["record_key"] = [cellkey.new_record_key() for _ in range(len(df))]
        theirs = _ons_table(df, ons_ptable, tab_vars, threshold)
        ours = _ours(df, tab_vars, threshold)
        for row in theirs.itertuples(index=False):
            cell = tuple(getattr(row, v) for v in tab_vars)
            their = None if pd.isna(row.count) else int(row.count)
            # ONS's table may list empty combinations; they must stay 0 (or hidden)
            assert ours.get(cell, 0 if threshold == 0 else None) == their, (t, cell)
            cells += 1
        assert set(ours) <= {tuple(getattr(r, v) for v in tab_vars) for r in theirs.itertuples()}
    assert cells > 500


def test_zeros_stay_zero_and_noise_bounded():
    for count in range(1000):
        for key in range(cellkey.KEY_RANGE):
            pub = cellkey.perturb(count, key)
            assert abs(pub - count) <= cellkey.NOISE_MAX
            assert pub >= 0
            assert not 1 <= pub <= cellkey.BLOCKED_MAX      # no published 1 or 2
            if count == 0:
                assert pub == 0


def test_noise_distribution_is_what_the_keys_give():
    for count in range(12):
        freq = {}
        for key in range(cellkey.KEY_RANGE):
            e = cellkey.noise(count, key)
            freq[e] = freq.get(e, 0) + 1 / cellkey.KEY_RANGE
        assert freq == pytest.approx(cellkey.noise_distribution(count))
        assert sum(cellkey.noise_distribution(count).values()) == pytest.approx(1)


def test_exact_mean_and_variance_of_rows():
    for count in range(cellkey.UNBIASED_FROM, 300):
        d = cellkey.noise_distribution(count)
        assert sum(v * p for v, p in d.items()) == 0
    for count in range(1, cellkey.UNBIASED_FROM):          # rounding 1/3 to 1/256 only
        d = cellkey.noise_distribution(count)
        assert abs(sum(v * p for v, p in d.items())) <= 1 / cellkey.KEY_RANGE
    for count in range(cellkey.LAST_ROW, 300):
        d = cellkey.noise_distribution(count)
        assert sum(v * v * p for v, p in d.items()) == cellkey.NOISE_VARIANCE
    assert abs(cellkey.NOISE_VARIANCE - 0.8) < 0.01


def test_empirical_mean_and_variance_on_random_cells():
    """Random record sets with random keys, counts >= 10: noise mean ~ 0, variance ~ 0.8."""
    rng = np.random.default_rng(7)
    noises = []
    for _ in range(40000):
        count = int(rng.integers(10, 201))
        keys = rng.integers(0, cellkey.KEY_RANGE, size=count)
        noises.append(cellkey.perturb(count, cellkey.cell_key(keys.tolist())) - count)
    noises = np.array(noises)
    se = np.sqrt(cellkey.NOISE_VARIANCE / len(noises))
    assert abs(noises.mean()) < 4 * se
    assert abs(noises.var() - cellkey.NOISE_VARIANCE) < 0.03


def test_deterministic_and_order_free():
    rng = np.random.default_rng(3)
    for _ in range(200):
        keys = rng.integers(0, cellkey.KEY_RANGE, size=int(rng.integers(1, 300))).tolist()
        shuffled = list(keys)
        rng.shuffle(shuffled)
        assert cellkey.cell_key(keys) == cellkey.cell_key(shuffled)
        # a running key sum kept in a counts table gives the same cell key
        running = 0
        for k in keys:
            running += k
        assert running % cellkey.KEY_RANGE == cellkey.cell_key(keys)
        c, ck = len(keys), cellkey.cell_key(keys)
        assert cellkey.perturb(c, ck) == cellkey.perturb(c, ck)


def test_record_keys_uniform():
    draws = [cellkey.new_record_key() for _ in range(51200)]
    assert min(draws) >= 0 and max(draws) < cellkey.KEY_RANGE
    counts = np.bincount(draws, minlength=cellkey.KEY_RANGE)
    chi2 = ((counts - 200) ** 2 / 200).sum()
    assert chi2 < 400          # 255 degrees of freedom: mean 255, sd ~22.6


def test_rows_stochastically_monotone():
    """For every x, P(count + noise >= x) never falls as the count grows (verdicts.py needs it)."""
    def surv(c, x):
        return sum(p for v, p in cellkey.noise_distribution(c).items() if c + v >= x)
    for c in range(30):
        for x in range(36):
            assert surv(c, x) <= surv(c + 1, x) + 1e-15


def test_literal_ptable_is_the_generated_one():
    assert make_ptable.build() == cellkey.PTABLE_KEY_COUNTS
    assert (make_ptable.D, make_ptable.JS, make_ptable.R) == (
        cellkey.NOISE_MAX, cellkey.BLOCKED_MAX, cellkey.KEY_RANGE)
