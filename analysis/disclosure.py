"""Disclosure control across every view the UI and the API offer.

The problem. Hiding small cells in each table on its own is not enough: the
same answers appear in many views, and a reader may subtract one view from
another. "2026-VT minus 2026-Q2" is 2026-Q1; "all units minus unit-a" is
unit-a2; a year minus its two terms is zero. A cell hidden in Q1 must not be
recoverable from VT and Q2.

The rule (applied here, for every goal and every breakdown):

1. A *family* is every view that can share answers: one calendar year
   (periods never cross a year: YYYY, VT, HT, Q1-Q4 all nest inside it), every
   unit set anyone can ask for (each unit, each agreement, all units, the
   "all my units" set of every staff user), and one breakdown (gender, age
   band, newly arrived, disability, or none). The atoms are counts per
   unit x quarter x category x achieved; every published figure is a sum of
   atoms.
2. Primary suppression: any cell with 0 < n < min_cell. A hidden total hides
   its whole table. Within each table, stats.suppress_cells adds complementary
   cells (this also covers the "all hidden cells are 1" and "all hidden cells
   achieved" inferences, which are not linear).
3. Audit: a hidden cell is *derivable* when its n-vector or achieved-vector
   lies in the linear span of the published vectors (any sum or difference of
   published figures gives it). Zero cells are shown as hidden too (a zero has
   no share to show), so they are not equations a reader has. While some hidden cell is
   derivable, the smallest published cell sharing atoms with it whose hiding
   stops the leak is hidden too (in a breakdown only category cells; totals
   are decided in the family without breakdown).
4. The pattern depends only on the data and the unit sets, never on who asks,
   so each view shows the same hidden cells in every report. Totals are shared
   by all breakdowns of a goal: the caller iterates until the hidden totals of
   all breakdown families agree (see service.protect_year).

This is exact for differencing (linear combinations of published figures).
It does not try to defeat guesses from outside knowledge, and the answers
keep arriving: figures for an open period change as answers come in.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .stats import suppress_cells

PARTS: dict[str, tuple[int, ...]] = {"": (1, 2, 3, 4), "VT": (1, 2), "HT": (3, 4),
                                     "Q1": (1,), "Q2": (2,), "Q3": (3,), "Q4": (4,)}
TOTAL = "*"

Counts = dict[tuple[int, int, str], tuple[int, int]]  # (unit_id, quarter, category) -> (achieved, n)


@dataclass
class Family:
    """Counts and the suppression pattern of one (goal, breakdown, year)."""

    counts: Counts
    unit_sets: list[frozenset[int]]
    categories: list[str]
    min_cell: int
    forced_totals: frozenset = frozenset()
    hidden: set = field(default_factory=set)  # {(unit_set, part, category)}

    def cell(self, units: frozenset[int], part: str, category: str = TOTAL) -> tuple[int, int]:
        cats = self.categories if category == TOTAL else [category]
        k = n = 0
        for u in units:
            for q in PARTS[part]:
                for c in cats:
                    a, b = self.counts.get((u, q, c), (0, 0))
                    k, n = k + a, n + b
        return k, n

    def is_hidden(self, units: frozenset[int], part: str, category: str = TOTAL) -> bool:
        return (units, part, category) in self.hidden

    def hidden_totals(self) -> frozenset:
        return frozenset((s, p) for s, p, c in self.hidden if c == TOTAL)


def _kernel_of_gram(gram: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the null space of the published rows R, from the small Gram matrix R.T @ R.

    A hidden vector v lies in the span of the rows exactly when kernel.T @ v == 0.
    """
    vals, vecs = np.linalg.eigh(gram)
    return vecs[:, vals < 1e-7 * max(1.0, float(vals.max()))]


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 512


def protect(fam: Family) -> Family:
    """Fills fam.hidden by the rule in the module docstring.

    The pattern is a pure function of the counts, unit sets, categories, min_cell
    and forced totals, so it is memoised: later requests over unchanged data reuse it.
    """
    key = (tuple(sorted(fam.counts.items())), tuple(tuple(sorted(s)) for s in fam.unit_sets),
           tuple(fam.categories), fam.min_cell, tuple(sorted((tuple(sorted(s)), p) for s, p in fam.forced_totals)))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        fam.hidden = set(_CACHE[key])
        return fam
    # The matrices are small (hundreds of rows): BLAS threads only fight each other here.
    with threadpool_limits(1):
        _protect(fam)
    _CACHE[key] = frozenset(fam.hidden)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fam


def _protect(fam: Family) -> Family:
    cats = fam.categories
    units = sorted({u for s in fam.unit_sets for u in s})
    atom = {}
    for u in units:
        for q in (1, 2, 3, 4):
            for c in cats:
                atom[(u, q, c)] = len(atom)
    cells: list[tuple[frozenset[int], str, str]] = []
    value: dict = {}
    support: dict = {}
    cell_cats = (*cats, TOTAL) if len(cats) > 1 else (TOTAL,)
    for s in fam.unit_sets:
        for p, quarters in PARTS.items():
            for c in cell_cats:
                key = (s, p, c)
                cells.append(key)
                value[key] = fam.cell(s, p, c)
                support[key] = frozenset(atom[(u, q, cc)] for u in s for q in quarters
                                         for cc in (cats if c == TOTAL else [c]))
    width = 2 * len(atom)

    def vectors(key) -> tuple[np.ndarray, np.ndarray]:
        vn, vk = np.zeros(width), np.zeros(width)
        for i in support[key]:
            vn[2 * i] = vn[2 * i + 1] = 1  # 2i: not achieved, 2i+1: achieved
            vk[2 * i + 1] = 1
        return vn, vk

    hidden: set = set()

    def hide(key) -> None:
        hidden.add(key)
        if key[2] == TOTAL:  # a hidden total hides its whole table
            for c in cell_cats[:-1]:
                if value[(key[0], key[1], c)][1] > 0:
                    hidden.add((key[0], key[1], c))

    for key in cells:
        n = value[key][1]
        if 0 < n < fam.min_cell or (key[2] == TOTAL and (key[0], key[1]) in fam.forced_totals and n > 0):
            hide(key)
    if len(cats) > 1:
        for s in fam.unit_sets:
            for p in PARTS:
                if (s, p, TOTAL) in hidden:
                    continue
                extra = suppress_cells({c: value[(s, p, c)][1] for c in cats}, fam.min_cell,
                                       achieved={c: value[(s, p, c)][0] for c in cats})
                for c in extra:
                    hide((s, p, c))

    vecs = {key: vectors(key) for key in cells}
    def derivable(kernel: np.ndarray, key) -> bool:
        return any(bool(np.all(np.abs(kernel.T @ v) < 1e-8)) for v in vecs[key])

    def order(k):
        return (value[k][1], sorted(k[0]), k[1], k[2])

    while True:
        # Zero cells are published as "suppressed" like small ones, so they are no equations.
        published = [key for key in cells if key not in hidden and value[key][1] > 0]
        gram = np.zeros((width, width))
        for key in published:
            for v in vecs[key]:
                gram += np.outer(v, v)
        kernel = _kernel_of_gram(gram)  # one decomposition per round, shared by every hidden cell
        leaks = sorted((key for key in hidden if value[key][1] > 0 and derivable(kernel, key)), key=order)
        if not leaks:
            break
        leak = leaks[0]
        near = [key for key in published if support[key] & support[leak]]
        # A breakdown family hides only category cells; totals are decided by the totals family
        # (one category), whose hidden totals every breakdown then takes over (forced_totals).
        movable = (lambda k: k[2] != TOTAL) if len(cats) > 1 else (lambda k: True)
        pick = sorted((k for k in near if movable(k)), key=order)
        if not pick:  # never loop for ever: hide the smallest movable cell left
            pick = sorted((k for k in published if movable(k)), key=order)
            if not pick:
                break
        # the smallest cell whose hiding stops this leak; else the smallest one
        chosen = pick[0]
        for cand in pick:
            g2 = gram - sum(np.outer(v, v) for v in vecs[cand])
            if not derivable(_kernel_of_gram(g2), leak):
                chosen = cand
                break
        hide(chosen)
    fam.hidden = hidden
    return fam
