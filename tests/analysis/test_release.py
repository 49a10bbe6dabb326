"""Releases: figures change only at a release, every output reads the same stored tables, the
counts are the cell-key perturbed true counts, and the intake leaves no arrival order behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from analysis import calendar, cellkey
from analysis.publish import publish_now
from tests.conftest import published_survey, raw_rows
from youthvoice.clock import today

API = "/api/stats/effect-goals?unit=unit-a"


def publish(settings, day: dt.date | None = None) -> list[str]:
    return asyncio.run(publish_now(settings, day))


def answer(client, slug, closer, useful, gender, text=None):
    answers = {"closer_to_labour_market": closer, "found_useful": useful, "gender": gender}
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers})
    assert r.status_code == 201, r.text
    return r.json()


def outputs(client, world, slug) -> dict:
    """Every output a person can read, as text."""
    auth = world.auth("pl_a")
    return {
        "api": client.get(API, headers=auth).text,
        "breakdowns": client.get("/api/stats/breakdowns?unit=unit-a", headers=auth).text,
        "r": client.get(f"/r/{slug}").text,
        "export": client.get("/api/exports/effect-goals.csv?unit=unit-a", headers=auth).content,
    }


def goals(client, world, url=API) -> dict:
    body = client.get(url, headers=world.auth("pl_a")).json()
    return {g["goal"]: g for g in body["goals"]}, body


def test_one_answer_changes_nothing_until_the_next_release(client, world, settings):
    s = published_survey(client, world)
    for i in range(12):
        answer(client, s["slug"], 5 if i % 3 else 2, 4, "woman" if i % 2 else "man")
    day = today()
    assert "answers:" + str(day) in publish(settings, day)  # the release due for this month's release day
    before = outputs(client, world, s["slug"])
    g, body = goals(client, world)
    assert body["release"]["kind"] == "preliminary" and body["release"]["next"] == str(calendar.next_monthly(day))
    assert g["closer"]["n"] >= 10 and g["closer"]["verdict"] in ("met", "not_met", "undetermined")
    answer(client, s["slug"], 1, 1, "woman")
    assert outputs(client, world, s["slug"]) == before  # read again at once: nothing moved
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 1
    assert publish(settings, day) == []  # at most once per release day
    assert publish(settings, day + dt.timedelta(days=1)) == [] or calendar.next_monthly(day) == day + dt.timedelta(days=1)
    assert outputs(client, world, s["slug"]) == before
    publish(settings, calendar.next_monthly(day))  # the next release day: one answer is not a batch
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 1
    assert raw_rows(settings, "SELECT count(*) AS n FROM response")[0]["n"] == 12


def test_published_counts_are_the_cell_key_perturbed_true_counts(client, world, settings):
    s = published_survey(client, world)
    for i in range(40):
        answer(client, s["slug"], [5, 4, 2, None][i % 4], 4, ["woman", "man", "non_binary"][i % 3])
    publish(settings)
    rows = raw_rows(settings, "SELECT closer, record_key FROM response")
    assert len(rows) == 40 and len({r["record_key"] for r in rows}) > 10  # secret random keys
    n = [r for r in rows if r["closer"] is not None]
    k = [r for r in n if r["closer"] >= 4]
    dk = [r for r in n if r["closer"] == 0]
    g, _ = goals(client, world)
    closer = g["closer"]
    assert closer["n"] == cellkey.perturb(len(n), sum(r["record_key"] for r in n) % 256)
    assert closer["achieved"] == min(closer["n"], cellkey.perturb(len(k), sum(r["record_key"] for r in k) % 256))
    assert closer["dont_know"] == cellkey.perturb(len(dk), sum(r["record_key"] for r in dk) % 256)
    assert abs(closer["n"] - 40) <= 2
    lo, hi = closer["ci95"]
    assert lo <= closer["share"] <= hi
    assert closer["outlook"]["kind"] in ("settled", "next_release", "will_not_settle_soon", "no_data")


def test_preliminary_totals_only_then_final_unchanged_and_exits_locked(client, world, settings):
    s = published_survey(client, world)
    for i in range(30):
        answer(client, s["slug"], 5 if i % 4 else 1, 4, "woman" if i % 2 else "man")
    r = client.post("/api/exits", json={"unit": "unit-a", "month": today().strftime("%Y-%m"), "outcome": "work",
                                        "gender": "woman", "age_band": "16-19"}, headers=world.auth("pl_a"))
    assert r.status_code == 201
    day = today()
    publish(settings, day)
    term = f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"
    g, body = goals(client, world, f"{API}&period={term}")
    assert body["release"]["kind"] == "preliminary"
    assert "by_gender" not in g["closer"] and "parity" not in g["closer"]  # open period: totals only
    # the term has closed: its final release has the breakdowns, parity with its band, women vs men
    later = dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2)
    made = publish(settings, later)
    assert f"final:{term}" in made
    g, body = goals(client, world, f"{API}&period={term}")
    assert body["release"] == {"kind": "final", "published": str(later), "next": None}
    assert set(g["closer"]["by_gender"]) == {"woman", "man", "non_binary", "undisclosed"}
    assert g["closer"]["parity"]["band"] == [0.4, 0.6]
    assert "difference" in g["closer"]["women_vs_men"]
    final = client.get(f"{API}&period={term}", headers=world.auth("pl_a")).text
    r = client.post("/api/exits", json={"unit": "unit-a", "month": day.strftime("%Y-%m"), "outcome": "work",
                                        "gender": "man", "age_band": "16-19"}, headers=world.auth("pl_a"))
    assert r.status_code == 422 and "month" in r.text
    publish(settings, later + dt.timedelta(days=1))
    assert client.get(f"{API}&period={term}", headers=world.auth("pl_a")).text == final


def test_the_agreements_parity_setting_is_the_band(client, world, settings):
    s = published_survey(client, world)
    for i in range(30):
        answer(client, s["slug"], 5, 5, "woman" if i % 2 else "man")
    async def set_band(db):
        from sqlalchemy import select

        from youthvoice.models import Agreement
        a = (await db.execute(select(Agreement).where(Agreement.slug == "agr-a"))).scalar_one()
        a.targets = {**(a.targets or {}), "parity": 0.3}

    from tests.conftest import run_db
    run_db(settings, set_band)
    day = today()
    later = dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2)
    publish(settings, later)
    term = f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"
    g, _ = goals(client, world, f"{API}&period={term}")
    assert g["closer"]["parity"]["band"] == [0.2, 0.4]


def test_released_answers_do_not_sit_in_arrival_order(client, world, settings):
    """Order test: answers read in physical order (rowid-free tables, heap order on PostgreSQL)
    do not follow the order they were given in."""
    s = published_survey(client, world)
    n = 60
    for i in range(n):
        r = client.post(f"/api/public/surveys/{s['slug']}/responses",
                        json={"answers": {"closer_to_labour_market": (i % 5) + 1, "comment": f"order-{i:03d}"}})
        assert r.status_code == 201
    publish(settings)
    if settings.database_url.startswith("sqlite"):
        rows = raw_rows(settings, "SELECT answers FROM response")
    else:
        rows = raw_rows(settings, "SELECT answers::text AS answers FROM response ORDER BY ctid")
    seen = [int(str(r["answers"]).split("order-")[1][:3]) for r in rows]
    assert sorted(seen) == list(range(n))
    # A shuffled order keeps about half the neighbouring pairs ascending; arrival order keeps all.
    ascending = sum(a < b for a, b in itertools.pairwise(seen))
    assert ascending < 0.75 * (n - 1), seen
    longest = run = 1
    for a, b in itertools.pairwise(seen):
        run = run + 1 if b == a + 1 else 1
        longest = max(longest, run)
    assert longest < 8, seen
