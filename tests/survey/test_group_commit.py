"""Group commit (survey/writer.py): answers that arrive together share one transaction,
but each keeps its own outcome, and a kept copy of the survey is never trusted for
whether the survey is still open or at which version."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from survey import live as live_surveys
from survey import service
from survey.schemas import Submission
from survey.sealing import Sealer
from survey.writer import AlreadyReceived, AnswerWriter, CodeSpent
from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows, run_db
from youthvoice import clock
from youthvoice.db import make_engine
from youthvoice.errors import FieldError


def test_one_transaction_keeps_each_answers_problem_to_itself(client, world, settings):
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 4}, headers=world.auth("fac_a")).json()["codes"]
    day = clock.today()

    async def go(db):
        live = await live_surveys.open_survey(db, s["slug"], day, fresh=True)
        await db.commit()  # the command's write transaction ends: the writer takes the lock on its own connection
        writer = AnswerWriter(make_engine(settings.database_url), Sealer(settings.secret_key))
        sends = [  # (code, form nonce)
            (codes[0], None), (codes[1], None), (codes[2], "n-1"),
            (codes[1], None),   # the same code again in the same transaction: spent
            (codes[3], "n-1"),  # the same form again: already received, and codes[3] stays unspent
            ("XXXX-XXXX", None),  # unknown code
        ]
        items = [service.prepare(live, Submission(answers={"found_useful": 4}, code=c), day, nonce=n)
                 for c, n in sends]

        async def one(item):
            try:
                await writer.write(item)
                return "stored"
            except (CodeSpent, AlreadyReceived, FieldError) as e:
                return type(e).__name__

        # all queued before the first transaction starts: one batch
        outcomes = await asyncio.gather(*(one(i) for i in items))
        await writer.engine.dispose()
        return outcomes, [i.row["id"] for i in items]

    outcomes, ids = run_db(settings, go)
    # an unknown code has the same outcome as a spent one (nobody learns which)
    assert outcomes == ["stored", "stored", "stored", "CodeSpent", "AlreadyReceived", "CodeSpent"]
    stored = {r["id"] for r in raw_rows(settings, f"SELECT id FROM response_intake WHERE survey_id = {s['id']}")}
    assert stored == set(ids[:3])
    spent = {r["code"] for r in raw_rows(settings, f"SELECT code FROM survey_code WHERE survey_id = {s['id']} "
                                                   "AND spent = true")}
    assert spent == {c.replace("-", "") for c in codes[:3]}
    # The counts move only at the release, which gives the answers new ids (the writer's are gone).
    assert raw_rows(settings, f"SELECT SUM(n) AS n FROM response_count WHERE survey_id = {s['id']}")[0]["n"] is None
    release_all(settings)  # B = 1 here (batches: tests/analysis/test_calendar.py)
    counted = raw_rows(settings, f"SELECT SUM(n) AS n FROM response_count WHERE survey_id = {s['id']}")
    assert int(counted[0]["n"]) == 3
    assert not {r["id"] for r in raw_rows(settings, "SELECT id FROM response")} & set(ids)


def test_a_survey_closed_elsewhere_takes_no_more_answers(client, world, settings):
    s = published_survey(client, world)
    url = f"/api/public/surveys/{s['slug']}/responses"
    assert client.post(url, json={"answers": {"found_useful": 4}}).status_code == 201  # the copy is now kept

    async def close_elsewhere(db):  # another worker or the CLI: this process is not told
        await db.execute(text(f"UPDATE survey SET status = 'closed' WHERE id = {s['id']}"))
        await db.commit()

    run_db(settings, close_elsewhere)
    assert client.post(url, json={"answers": {"found_useful": 4}}).status_code == 404
    assert len(raw_rows(settings, f"SELECT id FROM response_intake WHERE survey_id = {s['id']}")) == 1


def test_an_answer_after_a_new_version_elsewhere_is_stored_under_it(client, world, settings):
    s = published_survey(client, world)
    url = f"/api/public/surveys/{s['slug']}/responses"
    assert client.post(url, json={"answers": {"found_useful": 4}}).status_code == 201

    async def new_version(db):
        await db.execute(text(f"INSERT INTO survey_version (survey_id, number, questions) SELECT survey_id, 2, "
                              f"questions FROM survey_version WHERE survey_id = {s['id']}"))
        await db.execute(text(f"UPDATE survey SET current_version = 2 WHERE id = {s['id']}"))
        await db.commit()

    run_db(settings, new_version)
    assert client.post(url, json={"answers": {"found_useful": 5}}).status_code == 201
    rows = raw_rows(settings, f"SELECT v.number FROM response_intake r JOIN survey_version v ON v.id = r.version_id "
                              f"WHERE r.survey_id = {s['id']} ORDER BY v.number")
    assert [r["number"] for r in rows] == [1, 2]
