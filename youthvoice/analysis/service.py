"""Effect-goal figures: counted in SQL, judged by the pure functions in stats."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.models import Agreement, DEFAULT_TARGETS, Unit
from ..survey.models import Response
from . import stats
from .periods import parse_period

SURVEY_GOALS = ("closer", "useful")
GENDER_KEYS = ("woman", "man", "non_binary", "undisclosed")


def _targets(units: list[Unit]) -> dict[str, float]:
    """One agreement's targets; units of several agreements fall back to the defaults."""
    agreements = {u.agreement_id: u.agreement for u in units}
    if len(agreements) == 1:
        return {**DEFAULT_TARGETS, **(next(iter(agreements.values())).targets or {})}
    return dict(DEFAULT_TARGETS)


async def survey_goal_counts(db: AsyncSession, unit_ids: set[int], first: int, last: int
                             ) -> dict[str, dict[str, tuple[int, int]]]:
    """{goal: {gender: (achieved, n)}} for the survey goals, one GROUP BY."""
    gender = func.coalesce(Response.gender, "undisclosed")
    cols = [gender.label("gender")]
    for g in SURVEY_GOALS:
        col = getattr(Response, g)
        cols += [func.sum(case((col >= 4, 1), else_=0)).label(f"{g}_k"), func.count(col).label(f"{g}_n")]
    q = (select(*cols).where(Response.unit_id.in_(unit_ids or {-1}), Response.month.between(first, last))
         .group_by(gender))
    out: dict[str, dict[str, tuple[int, int]]] = {g: {k: (0, 0) for k in GENDER_KEYS} for g in SURVEY_GOALS}
    for row in (await db.execute(q)).mappings():
        key = row["gender"] if row["gender"] in GENDER_KEYS else "undisclosed"
        for g in SURVEY_GOALS:
            k0, n0 = out[g][key]
            out[g][key] = (k0 + int(row[f"{g}_k"] or 0), n0 + int(row[f"{g}_n"] or 0))
    return out


async def effect_goals(db: AsyncSession, units: list[Unit], period: str, min_cell: int) -> list[dict]:
    first, last = parse_period(period)
    targets = _targets(units)
    counts = await survey_goal_counts(db, {u.id for u in units}, first, last)
    goals = []
    for g in SURVEY_GOALS:
        by_gender = counts[g]
        achieved = sum(k for k, _ in by_gender.values())
        n = sum(n for _, n in by_gender.values())
        goals.append(stats.effect_goal(g, achieved, n, by_gender, targets[g], min_cell,
                                       parity_target=targets.get("parity", 0.5)))
    return goals


__all__ = ["Agreement", "effect_goals", "survey_goal_counts"]
