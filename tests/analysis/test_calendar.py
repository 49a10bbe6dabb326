"""The release calendar and batches of at least B (issue 26 items 1-3).

A facilitator knows one young person answered on a given day; the public and every staff member
read every output after every release. Figures may change only on release days (the first
weekday of each month, the agreement's steering-group dates, finals once a period closes), and a
survey's answers move into anything anyone can fetch only in batches of at least B (default 10).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import types

from analysis import calendar
from analysis.publish import publish_now
from tests.conftest import published_survey, raw_rows
from tests.youthvoice.test_auth import login
from youthvoice import clock

# ---------- the calendar itself (no database) ----------

def test_monthly_release_days_are_the_first_weekday_and_steering_dates_add_days():
    assert calendar.first_weekday(2027, 5) == dt.date(2027, 5, 3)  # 1 May 2027 is a Saturday
    assert calendar.first_weekday(2027, 2) == dt.date(2027, 2, 1)
    assert calendar.slot(dt.date(2027, 5, 2)) == dt.date(2027, 4, 1)
    assert calendar.slot(dt.date(2027, 5, 3)) == dt.date(2027, 5, 3)
    assert calendar.next_day(dt.date(2027, 5, 3)) == dt.date(2027, 6, 1)
    assert calendar.next_day(dt.date(2026, 12, 8)) == dt.date(2027, 1, 1)
    steering = {dt.date(2027, 5, 12)}
    assert calendar.slot(dt.date(2027, 5, 20), steering) == dt.date(2027, 5, 12)
    assert calendar.next_day(dt.date(2027, 5, 4), steering) == dt.date(2027, 5, 12)
    assert calendar.next_day(dt.date(2027, 5, 12), steering) == dt.date(2027, 6, 1)
    # B is the agreement's setting, 10 by default, never below the smallest cell shown
    assert calendar.batch_min(None, 5) == 10 and calendar.batch_min(3, 5) == 5 and calendar.batch_min(25, 5) == 25


# ---------- helpers ----------

class Frozen:
    """Holds youthvoice.clock.today() at a chosen day (answers get its month, pages its next release)."""

    def __init__(self, monkeypatch, day: dt.date):
        self.day = day
        frozen = self

        class _DateTime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return dt.datetime.combine(frozen.day, dt.time(12), tzinfo=tz)

        monkeypatch.setattr(clock, "dt", types.SimpleNamespace(datetime=_DateTime))


def publish(settings, day: dt.date) -> list[str]:
    return asyncio.run(publish_now(settings, day))


def answer(client, slug, closer, useful, gender, comment=None):
    answers = {"closer_to_labour_market": closer, "found_useful": useful, "gender": gender}
    if comment:
        answers["comment"] = comment
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers})
    assert r.status_code == 201, r.text


DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2} \w+ \d{4}")


def everything(client, world, s, login_cookies) -> dict:
    """Every output a staff member or the public can fetch about the survey and its unit, with the
    announced next release day taken out (it moves when a release day passes, by design)."""
    pl = world.auth("pl_a")
    out = {}
    for name, url in [("api", "/api/stats/effect-goals?unit=unit-a"), ("api_all", "/api/stats/effect-goals"),
                      ("breakdowns", "/api/stats/breakdowns?unit=unit-a")]:
        body = client.get(url, headers=pl).json()
        body["release"] = {k: v for k, v in (body["release"] or {}).items() if k != "next"}
        out[name] = body
    out["r"] = DATE.sub("", client.get(f"/r/{s['slug']}").text)
    for name, url in [("tables", f"/api/exports/surveys/{s['id']}/tables.csv"),
                      ("goals_csv", "/api/exports/effect-goals.csv?unit=unit-a")]:
        r = client.get(url, headers=pl)
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        if rows and rows[0][-1] == "Nästa publicering":  # the announced next release day, by design
            rows = [row[:-1] for row in rows]
        out[name] = (r.status_code, rows)
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=pl)
    out["texts"] = (r.status_code, sorted(r.content.decode("utf-8-sig").splitlines()))  # shuffled on every export
    out["dashboard"] = DATE.sub("", client.get("/analysis?unit=unit-a").text)
    return out


def set_calendar(client, world, batch=10, days=()):
    r = client.put("/api/agreements/agr-a/calendar", json={"batch_min": batch, "steering_days": list(days)},
                   headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    return r.json()


# ---------- one known answer a day for a week ----------

def test_one_known_answer_a_day_for_a_week_changes_nothing_until_b_have_gathered(client, world, settings, monkeypatch):
    d0 = dt.date(2027, 2, 1)  # a Monday, the first weekday of February: a monthly release day
    clk = Frozen(monkeypatch, d0)
    s = published_survey(client, world, who="pl_a")
    for i in range(14):
        answer(client, s["slug"], 5 if i % 3 else 2, 4, "woman" if i % 2 else "man", comment=f"tidigare {i}")
    # steering-group meetings on Thursday and the Thursday after: release days for agreement A
    cal = set_calendar(client, world, days=["2027-02-04", "2027-02-11"])
    assert cal["batch_min"] == 10 and cal["next_release"] == "2027-02-04"
    made = publish(settings, d0)
    assert any(k.startswith("preliminary:") for k in made)
    assert raw_rows(settings, "SELECT count(*) AS n FROM response")[0]["n"] == 14
    login(client, world.emails["pl_a"])
    cookies = dict(client.cookies)
    before = everything(client, world, s, cookies)
    assert before["api"]["goals"][1]["n"] >= 12  # the first batch is published
    body = client.get("/api/stats/effect-goals?unit=unit-a", headers=world.auth("pl_a")).json()
    assert body["release"]["next"] == "2027-02-04"
    seen_next = set()
    for k in range(1, 8):  # Tuesday 2 to Monday 8 February, the steering group's Thursday included
        clk.day = d0 + dt.timedelta(days=k)
        answer(client, s["slug"], 1 if k % 2 else 5, 1, "non_binary", comment=f"min egen text dag {k}")
        publish(settings, clk.day)
        assert everything(client, world, s, cookies) == before, f"day {clk.day}: an output moved with {k} waiting"
        seen_next.add(client.get("/api/stats/effect-goals?unit=unit-a", headers=world.auth("pl_a"))
                      .json()["release"]["next"])
        assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == k
    assert seen_next == {"2027-02-04", "2027-02-11"}  # the pages said when the next release is
    # three more: ten wait, but no release day has come, so still nothing moves
    clk.day = dt.date(2027, 2, 9)
    for _ in range(3):
        answer(client, s["slug"], 4, 4, "woman")
    publish(settings, clk.day)
    assert everything(client, world, s, cookies) == before
    # the next steering-group date moves the batch of ten, at once and together
    clk.day = dt.date(2027, 2, 11)
    made = publish(settings, clk.day)
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
    assert raw_rows(settings, "SELECT count(*) AS n FROM response")[0]["n"] == 24
    after = everything(client, world, s, cookies)
    assert after["api"] != before["api"] and after["texts"] != before["texts"]
    assert sum("min egen text" in line for line in after["texts"][1]) == 7  # the texts came with their batch


def test_a_steering_date_is_a_release_day_for_its_own_agreement_only(client, world, settings, monkeypatch):
    d0 = dt.date(2027, 2, 1)
    clk = Frozen(monkeypatch, d0)
    a = published_survey(client, world, who="pl_a")
    b = published_survey(client, world, who="fac_b", unit="unit-b")
    publish(settings, d0)
    for i in range(11):
        answer(client, a["slug"], 5, 5, "woman")
        answer(client, b["slug"], 5, 5, "man")
    set_calendar(client, world, days=["2027-02-04"])
    # the public unit pages say when the next release is: A's steering date, B's first weekday of March
    assert "4 februari 2027" in client.get("/u/unit-a").text
    assert "1 mars 2027" in client.get("/u/unit-b").text
    clk.day = dt.date(2027, 2, 4)
    publish(settings, clk.day)
    waiting = {r["survey_id"]: r["n"] for r in raw_rows(
        settings, "SELECT survey_id, count(*) AS n FROM response_intake GROUP BY survey_id")}
    assert waiting == {b["id"]: 11}  # A's batch moved on A's steering date; B waits for 1 March
    r = client.get("/api/stats/effect-goals?unit=unit-b", headers=world.auth("fac_b")).json()
    assert r["release"]["next"] == "2027-03-01"
    clk.day = dt.date(2027, 3, 1)
    publish(settings, clk.day)
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0


def test_calendar_settings_page_and_api_check_their_input(client, world, settings, monkeypatch):
    Frozen(monkeypatch, dt.date(2027, 2, 1))
    r = client.put("/api/agreements/agr-a/calendar", json={"batch_min": 3}, headers=world.auth("pl_a"))
    assert r.status_code == 422 and "batch_min" in r.text  # never below min_cell
    r = client.put("/api/agreements/agr-a/calendar", json={"batch_min": 10, "steering_days": ["2027-01-05"]},
                   headers=world.auth("pl_a"))
    assert r.status_code == 422 and "steering_days" in r.text  # not in the past
    assert client.put("/api/agreements/agr-b/calendar", json={"batch_min": 10},
                      headers=world.auth("pl_a")).status_code == 404
    assert client.put("/api/agreements/agr-a/calendar", json={"batch_min": 10},
                      headers=world.auth("fac_a")).status_code == 403
    login(client, world.emails["pl_a"])
    page = client.get("/analysis/calendar")
    assert page.status_code == 200 and "Publiceringskalender" in page.text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    agreement = re.search(r'name="agreement" value="(\d+)"', page.text).group(1)
    r = client.post("/analysis/calendar", data={"_csrf": csrf, "agreement": agreement, "batch_min": "12",
                                                "steering_days": "2027-03-10\n2027-02-17"}, follow_redirects=True)
    assert r.status_code == 200
    got = client.get("/api/agreements/agr-a/calendar", headers=world.auth("pl_a")).json()
    assert got == {"agreement": "agr-a", "batch_min": 12, "steering_days": ["2027-02-17", "2027-03-10"],
                   "next_release": "2027-02-17"}


def test_a_closed_survey_with_fewer_than_b_waiting_publishes_nothing_more(client, world, settings, monkeypatch):
    clk = Frozen(monkeypatch, dt.date(2027, 2, 1))
    s = published_survey(client, world, who="pl_a", closes="2027-02-20")
    for i in range(12):
        answer(client, s["slug"], 5, 5, "woman")
    publish(settings, clk.day)
    first = client.get(f"/r/{s['slug']}").text
    clk.day = dt.date(2027, 2, 15)
    for i in range(4):
        answer(client, s["slug"], 1, 1, "man")
    clk.day = dt.date(2027, 2, 21)  # the survey has closed: its /r/ is final at once
    publish(settings, clk.day)
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0  # the rest is gone
    assert raw_rows(settings, "SELECT count(*) AS n FROM response")[0]["n"] == 12
    final = client.get(f"/r/{s['slug']}").text
    about = re.compile(r"Ungefär (\d+) svar")
    assert about.findall(final) == about.findall(first) and about.findall(first)  # the same twelve answers
    # the /r/ closer table of the final release is the first release's: the late rest of four "1"s is not in it
    closer = re.compile(r"närmare ett jobb(.*?)</table>", re.DOTALL)
    assert closer.search(final).group(1) == closer.search(first).group(1)


# ---------- a 2-answer unit inside an agreement, a term of releases ----------

def exit_(client, world, unit, month, outcome, gender):
    r = client.post("/api/exits", json={"unit": unit, "month": month, "outcome": outcome, "gender": gender,
                                        "age_band": "20-24"}, headers=world.auth("pl_a"))
    assert r.status_code == 201, r.text


def test_a_hidden_two_record_unit_is_not_in_any_view_of_several_units(client, world, settings, monkeypatch):
    """The audit's averaging attack: the agreement view minus the other unit, release after release
    with fresh noise, gave a 2-answer unit's n and achieved counts exactly (posterior 1.000 after 24
    releases). Survey answers now move only in batches of at least B >= min_cell, so the unit with
    two is exits (registered by staff, not batched): views of several units are built from the
    units shown on their own, and the difference is zero in every release of the term."""
    clk = Frozen(monkeypatch, dt.date(2027, 1, 4))
    exit_(client, world, "unit-a2", "2027-01", "work", "woman")
    exit_(client, world, "unit-a2", "2027-01", "other", "man")
    pl = world.auth("pl_a")
    differences, left_out = [], set()
    for month in range(1, 7):  # every monthly release of the spring term, the other unit growing
        clk.day = calendar.first_weekday(2027, month)
        for i in range(6 + month):
            exit_(client, world, "unit-a", f"2027-{month:02d}", "studies" if i % 3 else "other",
                  "woman" if i % 2 else "man")
        publish(settings, clk.day)
        views = {}
        for name, q in [("agreement", ""), ("all", ""), ("a", "unit=unit-a&"), ("a2", "unit=unit-a2&")]:
            url = f"/api/stats/effect-goals?{q}period=2027-VT"
            who = world.auth("admin") if name == "all" else pl
            views[name] = next(g for g in client.get(url, headers=who).json()["goals"] if g["goal"] == "work_or_studies")
        assert views["a2"]["verdict"] == "suppressed"
        for name in ("agreement", "all"):
            left_out.add(views[name]["units_left_out"])
            mine, theirs = views[name]["achieved"], views["a"]["achieved"]
            assert (mine is None) == (theirs is None)  # an achieved count of 1-4 is hidden in both, or in neither
            differences.append((views[name]["n"] - views["a"]["n"], None if mine is None else mine - theirs))
    assert set(differences) <= {(0, 0), (0, None)} and (0, 0) in set(differences), differences
    assert left_out == {1, 2}  # the agreement leaves out unit-a2; all units also the empty unit-b


def test_the_audit_log_keeps_an_exports_kind_and_day_not_its_rows_or_second(client, world, settings, monkeypatch):
    """Two exports' exact row counts and seconds, side by side in the audit log, would tell how many
    answers a release added and when someone looked: the log keeps what was exported and the day."""
    Frozen(monkeypatch, dt.date(2027, 2, 1))
    s = published_survey(client, world, who="pl_a")
    for i in range(13):
        answer(client, s["slug"], 5, 5, "woman", comment=f"text {i}")
    publish(settings, dt.date(2027, 2, 1))
    assert client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=world.auth("pl_a")).status_code == 200
    rows = raw_rows(settings, "SELECT subject, at FROM audit_entry WHERE action = 'export'")
    assert len(rows) == 1
    subject, at = rows[0]["subject"], rows[0]["at"]
    assert f"survey {s['id']} answers" in subject and "csv" in subject
    assert "13" not in subject and "row" not in subject
    at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
    local = at.astimezone(clock.TZ) if at.tzinfo else at
    assert (local.date(), local.time()) == (dt.date(2027, 2, 1), dt.time(0))  # the day, no time of day
