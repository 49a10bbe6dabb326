"""The /r/ tables are counted in the database (GROUP BY over the answer columns, json_each for
the other questions) instead of answer by answer in Python; they must equal counting every
stored answer one by one, including skipped questions, answered nulls and "don't know",
multiple choice lists and questions that have no column of their own."""

from __future__ import annotations

import json
import random
from collections import defaultdict

from sqlalchemy import select

from analysis import cells as counted
from analysis import crosstabs
from analysis import tallies as tally
from analysis.models import ReleaseTable
from analysis.read import view_key
from survey.models import Response, Survey, SurveyVersion
from survey.service import stat_columns
from survey.standard import standard_questions
from survey.store import store_responses
from tests.conftest import published_survey, run_db
from youthvoice.db import random_id

EXTRA = [
    {"key": "liked", "kind": "yesno", "text": {"sv": "Gillade du det?", "en": "Did you like it?"}},
    {"key": "place", "kind": "choice", "options": ["home", "school", "other"],
     "text": {"sv": "Var?", "en": "Where?"}},
    {"key": "topics", "kind": "multi", "options": ["cv", "interview", "study"],
     "text": {"sv": "Vad?", "en": "What?"}},
    {"key": "mood", "kind": "likert5", "text": {"sv": "Hur mår du?", "en": "How are you?"}},
]


def _answers(rng: random.Random, questions: list[dict]) -> dict:
    out: dict = {}
    for q in questions:
        if q["kind"] == "text" or rng.random() < 0.15:
            continue  # skipped: the key is absent
        if rng.random() < 0.1:
            out[q["key"]] = None  # answered null ("don't know" on a scale)
        elif q["kind"] == "likert5":
            out[q["key"]] = rng.choice([1, 2, 3, 4, 5, 5, 4])
        elif q["kind"] == "yesno":
            out[q["key"]] = rng.random() < 0.6
        elif q["kind"] == "multi":
            out[q["key"]] = rng.sample(q["options"], rng.randint(0, len(q["options"])))
        else:
            out[q["key"]] = rng.choice(q["options"])
    return out


def reference(rows, survey, versions, min_cell: int, final: bool) -> dict:
    """survey_tables as it was written before: every answer read and counted in Python."""
    current = next(v for v in versions.values() if v.number == survey.current_version)
    questions = [q for q in current.questions if q["kind"] != "text" and (final or not q.get("role"))]
    per_version = defaultdict(lambda: [0, 0])
    tallies = {q["key"]: defaultdict(lambda: [0, 0]) for q in questions}
    answered = {q["key"]: [0, 0] for q in questions}
    for vid, key, answers in rows:
        per_version[vid][0] += 1
        per_version[vid][1] += key
        if vid != current.id:
            continue
        for q in questions:
            if q["key"] not in (answers or {}):
                continue
            value = answers[q["key"]]
            answered[q["key"]][0] += 1
            answered[q["key"]][1] += key
            names = [str(v) for v in value or []] if q["kind"] == "multi" else [tally.cell_name(q, value)]
            for name in names:
                tallies[q["key"]][name][0] += 1
                tallies[q["key"]][name][1] += key
    total = [sum(v[0] for v in per_version.values()), sum(v[1] for v in per_version.values())]
    out_q = []
    for q in questions:
        n = counted.pub(*answered[q["key"]])
        if n < min_cell:
            out_q.append({"key": q["key"], "n": None, "cells": []})
            continue
        cells = [[c, counted.shown(counted.pub(*tallies[q["key"]].get(c, [0, 0])), min_cell)]
                 for c in crosstabs.options_of(q)]
        out_q.append({"key": q["key"], "n": n, "cells": cells})
    return {"total": counted.shown(counted.pub(*total), min_cell), "version": survey.current_version,
            "questions": out_q,
            "versions": {str(versions[v].number): counted.shown(counted.pub(*acc), min_cell)
                         for v, acc in per_version.items() if v in versions}}


def test_r_tables_counted_in_sql_equal_counting_each_answer(client, world, settings):
    s = published_survey(client, world, questions=standard_questions() + EXTRA)
    rng = random.Random(5)

    async def fill(db):
        survey = await db.get(Survey, s["id"])
        version = (await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id))).scalar_one()
        rows = []
        for i in range(600):
            answers = _answers(rng, version.questions)
            rows.append({"id": random_id(), "survey_id": survey.id, "version_id": version.id,
                         "unit_id": survey.unit_id, "month": 202601 + i % 6, "language": "sv",
                         **stat_columns(version.questions, answers), "answers": answers})
        await store_responses(db, rows)
        await db.commit()

    run_db(settings, fill)

    async def compare(db):
        survey = await db.get(Survey, s["id"])
        versions = {v.id: v for v in (await db.execute(
            select(SurveyVersion).where(SurveyVersion.survey_id == survey.id))).scalars()}
        rows = [(v, k, a if isinstance(a, dict) or a is None else json.loads(a)) for v, k, a in await db.execute(
            select(Response.version_id, Response.record_key, Response.answers).where(Response.survey_id == survey.id))]
        assert len(rows) == 600
        for final in (True, False):
            for min_cell in (5, 40):
                got = await tally.survey_tables(db, survey, min_cell, final)
                assert got == reference(rows, survey, versions, min_cell, final), (final, min_cell)
        got = await tally.survey_tables(db, survey, 5, True)
        # the counts are really there: every question of the version answered in enough answers is shown
        assert {q["key"] for q in got["questions"] if q["n"]} == {q["key"] for q in versions[
            next(iter(versions))].questions if q["kind"] != "text"}

    run_db(settings, compare)


def test_a_view_of_hundreds_of_units_gets_a_key_that_fits_its_column():
    """release_table.view is VARCHAR(400): the all-units view at 300 units must still be stored
    (PostgreSQL refused it), and stay distinct from every other unit set."""
    width = ReleaseTable.__table__.c.view.type.length
    many = [view_key(range(1, n)) for n in range(1, 400)]
    assert all(len(k) <= width for k in many) and len(set(many)) == len(many)
    assert view_key([3, 1, 2]) == "units:1,2,3" == view_key({1, 2, 3})
