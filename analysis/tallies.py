"""Each survey's /r/ tables: every question's options counted in the database and published with
their cell keys (made by the release, analysis/release.py, and read by /r/ through analysis/read.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import Response, Survey, SurveyVersion

from . import crosstabs
from .cells import pub, shown

# A question's cells (options_of) are defined once, in crosstabs, for these tables and the export's.


def cell_name(q: dict, value: Any) -> str | None:
    if q["kind"] == "likert5":
        return "dk" if value is None or value == 0 else str(value)
    if q["kind"] == "yesno":
        return "yes" if value in (True, 1, "true") else "no"
    return None if value is None else str(value)


def _json_value(kind: str | None, value: Any) -> Any:
    """An answer value as json.loads would give it, from SQLite json_each's (type, value)."""
    if kind in (None, "null"):
        return None
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in ("array", "object"):
        return json.loads(value)
    return value


GOAL_COLUMNS = ("closer", "useful")
ROLE_COLUMNS = ("gender", "age_band", "newly_arrived", "disability")


def _column_of(q: dict, questions: list[dict]) -> str | None:
    """The `response` column that holds this question's answer (survey/service.py stat_columns), or
    None if it must be read from the answers: a likert goal question (NULL = skipped, 0 = "don't
    know") or a choice background question (NULL = skipped or null), alone in its version with it."""
    goal, role = q.get("goal"), q.get("role")
    if goal in GOAL_COLUMNS and not role and q["kind"] == "likert5":
        col = goal
    elif role in ROLE_COLUMNS and not goal and q["kind"] == "choice":
        col = role
    else:
        return None
    same = [o for o in questions if col in (o.get("goal"), o.get("role"))]
    return col if len(same) == 1 else None


async def answer_tallies(db: AsyncSession, survey_id: int, version_id: int | None,
                         questions: list[dict] | None = None, version_questions: list[dict] | None = None
                         ) -> tuple[dict, list]:
    """Counted in the database, never answer by answer in Python: ({version id: [answers, key
    sum]}, [(question key, value, answers, key sum)] for the given version's `questions`), one row
    per distinct value of each question (a multiple choice's whole list is one value), the value
    as the stored answers hold it.

    Questions whose answer is also kept in a column of `response` (the effect-goal and background
    questions) are counted with one GROUP BY over those columns; only the others are read from
    the answers' JSON (json_each), which costs ~20 us an answer on SQLite."""
    per_version: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for vid, n, key in await db.execute(select(Response.version_id, func.count(), func.sum(Response.record_key))
                                        .where(Response.survey_id == survey_id).group_by(Response.version_id)):
        per_version[vid] = [int(n), int(key or 0)]
    if version_id is None:
        return per_version, []
    questions = questions or []
    sqlite = (await db.connection()).dialect.name == "sqlite"
    columns = {q["key"]: _column_of(q, version_questions or questions) for q in questions}
    out: list[tuple[str, Any, int, int]] = []
    by_col = [(k, c) for k, c in columns.items() if c]
    if by_col:
        group = [getattr(Response, c) for _, c in by_col]
        extra = []
        for k, c in by_col:
            if c in ROLE_COLUMNS:  # a NULL column is a skipped question or an answered null: ask the JSON
                kind = (func.json_type(Response.answers, f'$."{k}"') if sqlite
                        else func.json_typeof(Response.answers.op("->")(k)))
                present = (getattr(Response, c).is_(None)) & kind.is_not(None)
                extra += [func.sum(case((present, 1), else_=0)), func.sum(case((present, Response.record_key), else_=0))]
        q = (select(*group, func.count(), func.sum(Response.record_key), *extra)
             .where(Response.survey_id == survey_id, Response.version_id == version_id).group_by(*group))
        for row in await db.execute(q):
            n, key, rest = int(row[len(group)]), int(row[len(group) + 1] or 0), row[len(group) + 2:]
            r = 0
            for i, (k, c) in enumerate(by_col):
                value = row[i]
                if c in GOAL_COLUMNS:
                    if value is not None:
                        out.append((k, None if value == 0 else int(value), n, key))
                else:
                    if value is not None:
                        out.append((k, value, n, key))
                    elif rest[r]:
                        out.append((k, None, int(rest[r]), int(rest[r + 1] or 0)))
                    r += 2
    rest_keys = [k for k, c in columns.items() if not c]
    if not rest_keys:
        return per_version, out
    params = {"s": survey_id, "v": version_id, **{f"k{i}": k for i, k in enumerate(rest_keys)}}
    keys_in = ", ".join(f":k{i}" for i in range(len(rest_keys)))
    if sqlite:
        q = text("SELECT j.key, j.type, j.value, count(*), sum(r.record_key) FROM response r, json_each(r.answers) j"
                 f" WHERE r.survey_id = :s AND r.version_id = :v AND j.key IN ({keys_in})"
                 " GROUP BY j.key, j.type, j.value")
        rows = [(k, _json_value(t, v), n, key) for k, t, v, n, key in await db.execute(q, params)]
    else:
        q = text("SELECT j.key, j.value::text, count(*), sum(r.record_key) FROM response r, json_each("
                 "CASE WHEN json_typeof(r.answers) = 'object' THEN r.answers ELSE '{}'::json END) j"
                 f" WHERE r.survey_id = :s AND r.version_id = :v AND j.key IN ({keys_in}) GROUP BY j.key, j.value::text")
        rows = [(k, json.loads(v), n, key) for k, v, n, key in await db.execute(q, params)]
    return per_version, out + [(k, v, int(n), int(key or 0)) for k, v, n, key in rows]


async def survey_tables(db: AsyncSession, survey: Survey, min_cell: int, final: bool) -> dict:
    """The /r/ body: per question of the current version (background questions only in a final
    release), each option's published count; the survey's and each version's published total."""
    versions = {v.id: v for v in (await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)))
                .scalars()}
    current = next((v for v in versions.values() if v.number == survey.current_version), None)
    questions = [q for q in (current.questions if current else []) if q["kind"] != "text"
                 and (final or not q.get("role"))]
    tallies = {q["key"]: defaultdict(lambda: [0, 0]) for q in questions}
    answered = {q["key"]: [0, 0] for q in questions}
    by_key = {q["key"]: q for q in questions}
    per_version, values = await answer_tallies(db, survey.id, current.id if current else None, questions,
                                               current.questions if current else None)
    for qkey, value, n, key in values:
        q = by_key.get(qkey)
        if q is None:
            continue
        a = answered[qkey]
        a[0] += n
        a[1] += key
        names = [str(v) for v in value or []] if q["kind"] == "multi" else [cell_name(q, value)]
        for name in names:
            t = tallies[qkey][name]
            t[0] += n
            t[1] += key
    total = [sum(v[0] for v in per_version.values()), sum(v[1] for v in per_version.values())]
    out_q = []
    for q in questions:
        n = pub(*answered[q["key"]])
        if n < min_cell:
            out_q.append({"key": q["key"], "n": None, "cells": []})
            continue
        cells = [[name, shown(pub(*tallies[q["key"]].get(name, [0, 0])), min_cell)] for name in crosstabs.options_of(q)]
        out_q.append({"key": q["key"], "n": n, "cells": cells})
    return {"total": shown(pub(*total), min_cell),
            "version": survey.current_version, "questions": out_q,
            "versions": {str(versions[v].number): shown(pub(*acc), min_cell)
                         for v, acc in per_version.items() if v in versions}}
