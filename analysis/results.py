"""Counted results of a survey for the public page /r/{slug} (and its staff preview):
per question of the current version, small groups hidden. Reads only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import service
from survey.models import Response, Survey

from .stats import suppress_cells

LIKERT_CELLS = ("1", "2", "3", "4", "5", "dk")
_FIXED = {"closer": Response.closer, "useful": Response.useful, "gender": Response.gender,
          "age_band": Response.age_band, "newly_arrived": Response.newly_arrived, "disability": Response.disability}


def _cells_of(q: dict) -> list[str]:
    if q["kind"] == "likert5":
        return list(LIKERT_CELLS)
    if q["kind"] == "yesno":
        return ["yes", "no"]
    return list(q.get("options") or [])


def _cell_name(q: dict, value: Any) -> str | None:
    if value is None:
        return None
    if q["kind"] == "likert5":
        return "dk" if value == 0 else str(value)
    if q["kind"] == "yesno":
        return "yes" if value in (True, 1, "true") else "no"
    return str(value)


async def results(db: AsyncSession, survey: Survey, min_cell: int) -> dict[str, Any]:
    """Aggregated answers per question of the current version. A question with fewer
    than `min_cell` answers is hidden whole; cells under `min_cell` are hidden with
    complementary suppression. Free text is never part of this."""
    version = await service.current_version(db, survey)
    questions = version.questions
    where = (Response.survey_id == survey.id, Response.version_id == version.id)
    total = (await db.execute(select(func.count()).select_from(Response).where(*where))).scalar_one()
    counted: dict[str, dict[str, int]] = {}
    loose: list[dict] = []
    for q in questions:
        if q["kind"] == "text":
            continue
        column = _FIXED.get(q.get("goal") or q.get("role") or "")
        if column is None:
            loose.append(q)
            continue
        # Goal and background answers live in fixed columns: one GROUP BY each.
        rows = await db.execute(select(column, func.count()).where(*where, column.is_not(None)).group_by(column))
        cells = dict.fromkeys(_cells_of(q), 0)
        for value, n in rows:
            name = _cell_name(q, value)
            if name in cells:
                cells[name] += n
        counted[q["key"]] = cells
    if loose:
        # Other questions sit in the JSON column, whose path syntax differs between
        # databases; 10–200 answers per version are counted here instead.
        tallies = {q["key"]: dict.fromkeys(_cells_of(q), 0) for q in loose}
        answered = {q["key"]: 0 for q in loose}
        for (answers,) in await db.execute(select(Response.answers).where(*where)):
            for q in loose:
                if q["key"] not in answers:
                    continue
                value = answers[q["key"]]
                if q["kind"] == "multi":
                    answered[q["key"]] += 1
                    for v in value or []:
                        if v in tallies[q["key"]]:
                            tallies[q["key"]][v] += 1
                    continue
                name = "dk" if (q["kind"] == "likert5" and value is None) else _cell_name(q, value)
                if name in tallies[q["key"]]:
                    tallies[q["key"]][name] += 1
        counted.update(tallies)
    else:
        answered = {}
    out = []
    for q in questions:
        if q["kind"] == "text":
            continue
        cells = counted[q["key"]]
        n = answered[q["key"]] if q["kind"] == "multi" else sum(cells.values())
        if n < min_cell:
            out.append({"q": q, "n": None, "cells": []})
            continue
        if q["kind"] == "multi":  # several per person: the cells do not add up to n
            hidden = {k for k, c in cells.items() if 0 < c < min_cell}
        else:
            hidden = suppress_cells(cells, min_cell)
        out.append({"q": q, "n": n, "cells": [(k, None if k in hidden else c) for k, c in cells.items()]})
    return {"total": total, "questions": out, "version": version.number}
