"""The statistics read `response_count`, not the answers: it must always equal the
answers counted per cell, whichever way they came in, and the migration that
creates it must count what was already there (raw answers and purged aggregates)."""

from __future__ import annotations

import asyncio
from collections import Counter

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows, run_db
from tests.survey.formwalk import answer_all
from youthvoice.db import Base

SUMS = ("n", "closer_k", "closer_n", "closer_dk", "useful_k", "useful_n", "useful_dk")
BACKGROUND = ("gender", "age_band", "newly_arrived", "disability")


def counted_from_answers(settings) -> dict[tuple, tuple]:
    """The counts worked out from the raw answers and the purged aggregates, in Python."""
    out: dict[tuple, Counter] = {}
    rows = [(r, 1) for r in raw_rows(settings, "SELECT * FROM response")]
    rows += [(r, r["n"]) for r in raw_rows(settings, "SELECT * FROM response_aggregate")]
    for r, n in rows:
        key = (r["survey_id"], r["version_id"], r["month"], *((r[c] or "") for c in BACKGROUND), r["unit_id"])
        c = out.setdefault(key, Counter())
        c["n"] += n
        for g in ("closer", "useful"):
            if r[g] is not None:
                c[f"{g}_n"] += n
                c[f"{g}_k"] += n if r[g] >= 4 else 0
                c[f"{g}_dk"] += n if r[g] == 0 else 0
    return {k: tuple(c[s] for s in SUMS) for k, c in out.items()}


def counts_table(settings) -> dict[tuple, tuple]:
    return {(r["survey_id"], r["version_id"], r["month"], *(r[c] for c in BACKGROUND), r["unit_id"]):
            tuple(r[s] for s in SUMS) for r in raw_rows(settings, "SELECT * FROM response_count")}


def key_sums(settings) -> dict[tuple, tuple]:
    return {(r["survey_id"], r["version_id"], r["month"], *(r[c] for c in BACKGROUND), r["unit_id"]):
            (r["n_key"],) for r in raw_rows(settings, "SELECT * FROM response_count")}


def test_counts_follow_every_accepted_answer_and_nothing_refused(client, world, settings):
    s = published_survey(client, world)
    coded = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{coded['id']}/codes", json={"count": 2},
                        headers=world.auth("fac_a")).json()["codes"]
    api = f"/api/public/surveys/{s['slug']}/responses"
    for closer, useful, gender in ((5, 4, "woman"), (2, None, "man"), (4, 5, "woman"), (None, 1, None)):
        answers = {"closer_to_labour_market": closer, "found_useful": useful}
        if gender:
            answers["gender"] = gender
        assert client.post(api, json={"answers": answers}).status_code == 201
    # refused: a wrong value, a spent code, an unknown code - none may count
    assert client.post(api, json={"answers": {"closer_to_labour_market": 7}}).status_code == 422
    coded_api = f"/api/public/surveys/{coded['slug']}/responses"
    assert client.post(coded_api, json={"answers": {"found_useful": 4}, "code": codes[0]}).status_code == 201
    assert client.post(coded_api, json={"answers": {"found_useful": 4}, "code": codes[0]}).status_code == 409
    assert client.post(coded_api, json={"answers": {"found_useful": 4}, "code": "XXXX-XXXX"}).status_code == 409
    # the phone form
    r = answer_all(client, s["slug"], {"q_found_useful": "5", "q_gender": "man"})
    assert r.status_code == 200
    assert counts_table(settings) == {}  # acknowledged into the intake: nothing counts before the release
    release_all(settings)  # B = 1 here: every accepted answer moves (batches: tests/analysis/test_calendar.py)
    table = counts_table(settings)
    assert table == counted_from_answers(settings)
    assert sum(v[0] for v in table.values()) == 6
    # closer: 5, 2, 4 and "don't know" (0) answered -> 2 achieved of 4
    assert sum(v[1] for v in table.values()) == 2 and sum(v[2] for v in table.values()) == 4
    assert sum(v[3] for v in table.values()) == 1  # one "don't know"
    # every count's key is the sum of its records' secret keys, mod 256
    for cell, (n_key,) in key_sums(settings).items():
        keys = [r["record_key"] for r in raw_rows(settings, "SELECT * FROM response")
                if (r["survey_id"], r["version_id"], r["month"], *((r[c] or "") for c in BACKGROUND),
                    r["unit_id"]) == cell]
        assert n_key == sum(keys) % 256




def test_models_and_migrations_describe_the_same_schema(settings):
    """A table or column added to a model without a migration (or the other way round) fails here."""
    import youthvoice.app  # noqa: F401  (the composition root loads every domain's tables)

    async def diff() -> list:
        engine = create_async_engine(settings.database_url)
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
        await engine.dispose()
        return found

    assert asyncio.run(diff()) == []


def test_demo_bulk_load_counts_its_answers(client, world, settings):
    import random

    from survey.demo import add_responses

    published_survey(client, world)
    published_survey(client, world, who="fac_b", unit="unit-b")

    async def load(db):
        await add_responses(db, 2500, random.Random(7), batch=1000)

    run_db(settings, load)
    table = counts_table(settings)
    assert sum(v[0] for v in table.values()) == 2500
    assert table == counted_from_answers(settings)
