"""True counts and their key sums per unit, month and category (from `response_count` and
`exit_record`), and a count as it is published: perturbed with its cell key (analysis/cellkey.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import ResponseCount as Count

from . import cellkey
from .models import AGE_BANDS, Exit
from .service import DIMENSIONS, GOALS, SURVEY_GOALS

CELLS = ("k", "n", "dk")  # achieved, answers, "don't know": each its own protected cell
EXIT_DIMENSIONS = ("gender", "age_band")


def _norm(value: Any, categories: tuple[str, ...]) -> str:
    return value if value in categories else "undisclosed"


class Cells:
    """acc[goal][dim][unit][(month, category)] = [k, k_key, n, n_key, dk, dk_key]."""

    def __init__(self) -> None:
        self.acc: dict[str, dict[str | None, dict[int, dict[tuple, list[int]]]]] = {
            g: defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0] * 6))) for g in GOALS}
        self.months: set[int] = set()
        self._unit_totals: dict[tuple, dict[str, list[int]]] = {}
        self._totals: dict[tuple, dict[str, list[int]]] = {}

    def add(self, goal: str, dim: str | None, unit: int, month: int, cat: str, values) -> None:
        acc = self.acc[goal][dim][unit][(month, cat)]
        for i, v in enumerate(values):
            acc[i] += int(v or 0)
        self.months.add(month)
        self._unit_totals.clear()
        self._totals.clear()

    def _unit_total(self, goal: str, dim: str | None, unit: int, first: int, last: int) -> dict[str, list[int]]:
        """One unit's sums over the months, kept: every view the unit is in asks for them again."""
        key = (goal, dim, unit, first, last)
        out = self._unit_totals.get(key)
        if out is None:
            out = {}
            for (m, cat), v in self.acc[goal][dim].get(unit, {}).items():
                if first <= m <= last:
                    o = out.get(cat)
                    if o is None:
                        out[cat] = list(v)
                    else:
                        for i in range(6):
                            o[i] += v[i]
            self._unit_totals[key] = out
        return out

    def total(self, goal: str, dim: str | None, units: set[int], first: int, last: int) -> dict[str, list[int]]:
        """{category: [k, k_key, n, n_key, dk, dk_key]} over the units and months (kept: the
        release asks twice, once to compute every figure at once and once to build the tables)."""
        key = (goal, dim, frozenset(units), first, last)
        out = self._totals.get(key)
        if out is not None:
            return out
        out = defaultdict(lambda: [0] * 6)
        for u in units:
            for cat, v in self._unit_total(goal, dim, u, first, last).items():
                o = out[cat]
                for i in range(6):
                    o[i] += v[i]
        self._totals[key] = out
        return out


async def count_cells(db: AsyncSession, dims: tuple[str | None, ...]) -> Cells:
    cells = Cells()
    for dim in dims:
        group = [Count.unit_id, Count.month] + ([getattr(Count, dim)] if dim else [])
        cols = list(group)
        for g in SURVEY_GOALS:
            for c in CELLS:
                cols += [func.sum(getattr(Count, f"{g}_{c}")).label(f"{g}_{c}"),
                         func.sum(getattr(Count, f"{g}_{c}_key")).label(f"{g}_{c}_key")]
        for row in (await db.execute(select(*cols).group_by(*group))).mappings():
            cat = _norm(row[dim], DIMENSIONS[dim]) if dim else "all"
            for g in SURVEY_GOALS:
                cells.add(g, dim, row["unit_id"], row["month"], cat,
                          [row[f"{g}_{c}{s}"] for c in CELLS for s in ("", "_key")])
        exit_dim = dim if dim in (None, *EXIT_DIMENSIONS) else False
        if exit_dim is False:
            continue
        achieved = Exit.outcome.in_(("work", "studies"))
        egroup = [Exit.unit_id, Exit.month] + ([getattr(Exit, dim)] if dim else [])
        q = select(*egroup, func.sum(case((achieved, 1), else_=0)), func.sum(case((achieved, Exit.record_key), else_=0)),
                   func.count(), func.sum(Exit.record_key)).group_by(*egroup)
        for row in (await db.execute(q)).all():
            cat = _norm(row[2], DIMENSIONS[dim] if dim != "age_band" else AGE_BANDS) if dim else "all"
            cells.add("work_or_studies", dim, row[0], row[1], cat, [row[-4], row[-3], row[-2], row[-1], 0, 0])
    return cells


def pub(count: int, key_sum: int) -> int:
    return cellkey.perturb(int(count), int(key_sum) % cellkey.KEY_RANGE)


def shown(count: int, min_cell: int) -> int | None:
    """A published count as a page may show it: zero stays zero, a cell under min_cell is not shown."""
    return count if count >= min_cell or count == 0 else None


def published(v: list[int]) -> tuple[int, int, int]:
    """(achieved, n, dont_know) as published: each cell perturbed with its own key."""
    return pub(v[0], v[1]), pub(v[2], v[3]), pub(v[4], v[5])
