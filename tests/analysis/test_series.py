"""A goal whose question was worded differently across survey versions is flagged, never mixed silently."""

import asyncio

from analysis import calendar
from analysis.publish import publish_now
from tests.analysis.test_effect_goals_api import answer
from tests.conftest import published_survey, raw_rows, run_db
from youthvoice import clock


def test_mixed_wordings_are_flagged(client, world, settings):
    s = published_survey(client, world)
    for _ in range(10):  # a batch of B
        answer(client, s["slug"], 5, 5, "woman")
    period = str(clock.today().year)
    asyncio.run(publish_now(settings))

    def closer():
        body = client.get(f"/api/stats/effect-goals?unit=unit-a&period={period}", headers=world.auth("pl_a")).json()
        return {g["goal"]: g for g in body["goals"]}["closer"]

    assert "series" not in closer()
    v1 = raw_rows(settings, "SELECT id, survey_id, questions FROM survey_version")[0]
    unit_id = raw_rows(settings, "SELECT id FROM unit WHERE slug = 'unit-a'")[0]["id"]

    async def second_version(db):
        import json

        from survey.models import SurveyVersion
        from survey.store import store_responses

        qs = v1["questions"] if isinstance(v1["questions"], list) else json.loads(v1["questions"])
        for q in qs:
            if q.get("goal") == "closer":
                q["text"] = {"sv": "Är du närmare ett jobb nu?"}
        v2 = SurveyVersion(survey_id=v1["survey_id"], number=2, questions=qs)
        db.add(v2)
        await db.flush()
        month = clock.today().year * 100 + clock.today().month
        await store_responses(db, [dict(survey_id=v1["survey_id"], version_id=v2.id, unit_id=unit_id,
                                                 month=month, language="sv", answers={}, gender="man", closer=4,
                                                 useful=4) for _ in range(6)])
        await db.commit()

    run_db(settings, second_version)
    asyncio.run(publish_now(settings, calendar.next_monthly(clock.today())))  # the next release day
    g = closer()
    assert abs(g["n"] - 16) <= 2
    assert g["series"]["mixed"] is True and "Är du närmare ett jobb nu?" in g["series"]["texts"]
    from tests.youthvoice.test_auth import login

    login(client, world.emails["pl_a"])
    assert "formulerad på olika sätt" in client.get(f"/analysis?unit=unit-a&period={period}").text
