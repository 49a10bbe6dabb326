"""The dashboard reads the counts table and memoises only the disclosure audit, keyed on the
counts (BENCHMARKS.md, P3): a new answer shows at once, also one stored by another worker."""

from __future__ import annotations

import pytest

from tests.conftest import published_survey, run_db

pytestmark = pytest.mark.slow  # heavy: `make test-fast` leaves it out, `make test` runs it


def _closer_n(client, world) -> int:
    r = client.get("/api/stats/effect-goals?period=" + _year(), headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    goal = next(g for g in r.json()["goals"] if g["goal"] == "closer")
    return goal.get("n", 0)


def _year() -> str:
    from youthvoice.clock import today

    return str(today().year)


def _answer(client, slug: str, gender: str) -> None:
    from survey.standard import standard_questions

    answers = {}
    for q in standard_questions():
        if q["kind"] == "likert5":
            answers[q["key"]] = 5
        elif q.get("role") == "gender":
            answers[q["key"]] = gender
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers})
    assert r.status_code == 201, r.text


def test_new_answers_show_at_once_also_from_another_worker(client, world, settings):
    slug = published_survey(client, world)["slug"]
    for i in range(12):
        _answer(client, slug, "woman" if i % 2 else "man")
    assert _closer_n(client, world) == 12
    assert _closer_n(client, world) == 12  # the audit is reused, the figures are the same
    _answer(client, slug, "woman")
    assert _closer_n(client, world) == 13

    async def other_worker(db):  # its own engine and connection; this app is not told
        from sqlalchemy import select

        from survey.models import Survey, SurveyVersion
        from survey.store import store_responses
        from youthvoice.clock import month_of, today

        s, version_id = (await db.execute(select(Survey, SurveyVersion.id).join(
            SurveyVersion, SurveyVersion.survey_id == Survey.id).where(Survey.slug == slug))).one()
        await store_responses(db, [dict(survey_id=s.id, version_id=version_id, unit_id=s.unit_id,
                                        month=month_of(today()), language="sv", answers={}, gender="man",
                                        closer=5, useful=5)])
        await db.commit()

    run_db(settings, other_worker)
    assert _closer_n(client, world) == 14
