import asyncio
import datetime as dt

from analysis.publish import publish_now
from tests.conftest import published_survey
from youthvoice.clock import today


def answer(client, slug, closer, useful, gender):
    r = client.post(f"/api/public/surveys/{slug}/responses",
                    json={"answers": {"closer_to_labour_market": closer, "found_useful": useful, "gender": gender}})
    assert r.status_code == 201


def test_effect_goals_count_share_and_suppress(client, world, settings):
    s = published_survey(client, world)
    for i in range(8):
        answer(client, s["slug"], 5 if i < 6 else 2, 4, "woman")
    for i in range(7):
        answer(client, s["slug"], 4, 1 if i < 3 else 5, "man")
    answer(client, s["slug"], 5, 5, "non_binary")
    day = today()
    later = dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2)
    asyncio.run(publish_now(settings, later))  # the term has closed: its final figures
    term = f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"
    r = client.get(f"/api/stats/effect-goals?unit=unit-a&period={term}", headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["min_cell"] == 5 and body["unit"] == "unit-a" and body["release"]["kind"] == "final"
    goals = {g["goal"]: g for g in body["goals"]}
    closer = goals["closer"]
    # published counts: the true 16 and 14, each adjusted by at most 2 (cell key method)
    assert abs(closer["n"] - 16) <= 2 and abs(closer["achieved"] - 14) <= 2
    assert abs(closer["share"] - closer["achieved"] / closer["n"]) < 0.001
    assert closer["ci95"][0] <= closer["share"] <= closer["ci95"][1]
    assert closer["by_gender"]["non_binary"]["verdict"] == "suppressed"
    assert "n" not in closer["by_gender"]["non_binary"]
    assert abs(goals["useful"]["n"] - 16) <= 2 and abs(goals["useful"]["achieved"] - 13) <= 2


def test_small_groups_are_hidden(client, world, settings):
    s = published_survey(client, world)
    for _ in range(2):
        answer(client, s["slug"], 5, 5, "woman")
    asyncio.run(publish_now(settings))
    goals = client.get("/api/stats/effect-goals?unit=unit-a", headers=world.auth("pl_a")).json()["goals"]
    for g in goals:
        assert g["verdict"] == "suppressed"
        assert "n" not in g and "share" not in g and "achieved" not in g


def test_stats_scope_and_bad_period(client, world):
    assert client.get("/api/stats/effect-goals?unit=unit-a", headers=world.auth("fac_b")).status_code == 404
    r = client.get("/api/stats/effect-goals?unit=unit-a&period=2026-X", headers=world.auth("pl_a"))
    assert r.status_code == 422 and "period" in r.text
    assert client.get("/api/stats/effect-goals?period=2026-Q3", headers=world.auth("pl_a")).status_code == 200


def test_dashboard_page_for_staff(client, world):
    from tests.youthvoice.test_auth import login

    login(client, world.emails["pl_a"])
    r = client.get("/analysis")
    assert r.status_code == 200 and "<script" not in r.text
