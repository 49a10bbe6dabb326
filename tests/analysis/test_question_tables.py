"""The survey answers export as protected tables per question (issue 15, item 4): no individual
rows, every count the stored release's cell-key perturbed count, small counts blank, crossed
tables only in a closed period's final release, nothing moves between releases, clear 4xx for a
wrong or unreleased version or period, and other units' staff get 404."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections import defaultdict

import openpyxl

from analysis import calendar, cellkey
from analysis.publish import publish_now
from analysis.service import DIMENSIONS
from tests.conftest import published_survey, raw_rows, run_db
from tests.youthvoice.test_auth import login
from youthvoice.clock import today
from youthvoice.web import translator

HIDDEN = "Hidden (too few)"
DIMS = ("gender", "age_band", "newly_arrived", "disability")
DIM_NAMES = {"Gender": "gender", "Age band": "age_band", "Newly arrived": "newly_arrived", "Disability": "disability"}


def publish(settings, day=None):
    return asyncio.run(publish_now(settings, day))


def term_end(day: dt.date) -> tuple[str, dt.date]:
    term = f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"
    return term, (dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2))


def answer(client, slug, **answers):
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers, "language": "sv"})
    assert r.status_code == 201, r.text


# 24 answers: women and men in several background groups, exactly three answering "3" to the
# closer question (a true count of 3 is always published as 3, so always hidden), and one
# non-binary person who says 1 (the S1 target).
MIX = ([dict(gender="woman", age_band="16-19", newly_arrived="no", disability="no", closer_to_labour_market=5,
             found_useful=4)] * 8
       + [dict(gender="man", age_band="20-24", newly_arrived="yes", disability="no", closer_to_labour_market=4,
               found_useful=5)] * 8
       + [dict(gender="woman", age_band="20-24", newly_arrived="no", disability="yes", closer_to_labour_market=3,
               found_useful=2)] * 3
       + [dict(gender="man", age_band="16-19", newly_arrived="no", disability="no", closer_to_labour_market=None,
               found_useful=5)] * 4
       + [dict(gender="non_binary", age_band="16-19", newly_arrived="no", disability="no", closer_to_labour_market=1,
               found_useful=1, comment="bara jag")])


def survey_with_mix(client, world, settings):
    s = published_survey(client, world)
    for a in MIX:
        answer(client, s["slug"], **a)
    return s


def export(client, world, s, query="", who="fac_a", fmt="csv"):
    return client.get(f"/api/exports/surveys/{s['id']}/tables.{fmt}{query}", headers=world.auth(who))


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def rows_of(r) -> tuple[list[str], list[dict]]:
    assert r.status_code == 200, r.text
    header, *data = read_csv(r.content)
    return header, [dict(zip(header, row)) for row in data]


def true_cells(settings, survey_id: int) -> dict:
    """{(question key, option, dim or None, category or None): [true count, key sum]} from the
    stored answers, as the release's rules count them (the attacker's ground truth)."""
    cells: dict = defaultdict(lambda: [0, 0])
    for r in raw_rows(settings, f"SELECT answers, gender, age_band, newly_arrived, disability, record_key "
                                f"FROM response WHERE survey_id = {survey_id}"):
        answers = r["answers"] if isinstance(r["answers"], dict) else json.loads(r["answers"])
        for key in ("closer_to_labour_market", "found_useful", "gender"):
            if key not in answers:
                continue
            v = answers[key]
            name = ("dk" if v is None else str(v)) if key != "gender" else v
            for dim, cat in [(None, None)] + [(d, r[d] or "undisclosed") for d in DIMS if d != key]:
                for n in ("", name):
                    c = cells[(key, n, dim, cat)]
                    c[0] += 1
                    c[1] += r["record_key"]
    return cells


def published(cell) -> int:
    return cellkey.perturb(cell[0], cell[1] % cellkey.KEY_RANGE) if cell else 0


_EN = translator("en")
CATEGORY = {_EN("opt:" + c): c for d in DIMS for c in DIMENSIONS[d]}


def key_of(row: dict) -> tuple:
    """(question key, option or "" for the answered count, dimension or None, category or None) of an export row."""
    qkey = row["Question"].rsplit("[", 1)[1].rstrip("]")
    option = "" if row["Answer"] == "Answered (n)" else "dk" if row["Answer"] == "Don't know" else row["Answer"]
    option = CATEGORY.get(option, option)
    dim = DIM_NAMES.get(row["Background question"])
    return qkey, option, dim, CATEGORY[row["Background answer"]] if dim else None


def test_final_tables_are_the_stored_protected_release_and_no_individual_rows(client, world, settings):
    s = survey_with_mix(client, world, settings)
    publish(settings)
    term, later = term_end(today())
    assert f"final:{term}" in publish(settings, later)
    header, rows = rows_of(export(client, world, s, f"?period={term}&lang=en"))
    # no individual rows: groups and counts, never one column per question, no row per answer
    assert header == ["Question", "Answer", "Background question", "Background answer", "Count", "Note",
                      "Release", "Next release"]
    assert len(rows) != len(MIX) and not any("bara jag" in ";".join(r.values()) for r in rows)
    assert {r["Release"] for r in rows} == {f"Final {later}"}
    assert {r["Next release"] for r in rows} == {"None: final figures do not change"}
    # every background question is crossed with the others (final release of a closed period)
    assert {r["Background question"] for r in rows} == {"All", "Gender", "Age band", "Newly arrived", "Disability"}

    # every count is exactly the stored release's cell ...
    stored = raw_rows(settings, "SELECT t.body FROM release_table t JOIN release r ON r.id = t.release_id "
                                f"WHERE r.key = 'final:{term}' AND t.view LIKE 'questions:%'")
    assert len(stored) == 1
    body = stored[0]["body"] if isinstance(stored[0]["body"], dict) else json.loads(stored[0]["body"])
    closer = next(q for q in body["questions"] if q["key"] == "closer_to_labour_market")
    women = next(g for g in closer["by"]["gender"] if g[0] == "woman")
    csv_women = {key_of(r)[1]: r["Count"] for r in rows if key_of(r)[0] == "closer_to_labour_market"
                 and key_of(r)[2] == "gender" and key_of(r)[3] == "woman"}
    assert csv_women[""] == str(women[1])
    assert {o: ("" if c is None else str(c)) for o, c in women[2]} == {o: c for o, c in csv_women.items() if o}

    # ... and that cell is the cell-key perturbed true count, hidden under 5 (zeros stay zero)
    truth = true_cells(settings, s["id"])
    checked = 0
    for r in rows:
        k = key_of(r)
        if k[0] not in ("closer_to_labour_market", "found_useful", "gender"):
            continue
        cell = truth.get(k)
        group = truth.get((k[0], "", k[2], k[3]))
        pub, group_pub = published(cell), published(group)
        if 0 < group_pub < 5:
            expect = ""  # a small group shows none of its cells
        elif group_pub == 0:
            expect = "0"
        else:
            expect = "" if 0 < pub < 5 else str(pub)
        if k[1] == "":
            expect = "" if 0 < group_pub < 5 else str(group_pub)
        assert r["Count"] == expect, (k, cell, r)
        assert (r["Note"] == HIDDEN) == (expect == ""), r
        if cell and 1 <= cell[0] <= 4:
            assert r["Count"] != str(cell[0]), (k, r)  # a small true count is never printed
        checked += 1
    assert checked > 100
    # the three who answered "3": a true count of 3 is published as 3, which is under 5: blank
    three = next(r for r in rows if key_of(r) == ("closer_to_labour_market", "3", None, None))
    assert truth[("closer_to_labour_market", "3", None, None)][0] == 3
    assert three["Count"] == "" and three["Note"] == HIDDEN
    # the single non-binary answer (S1): its group shows no cell at all, and never a 1
    nb = [r for r in rows if key_of(r)[2] == "gender" and key_of(r)[3] == "non_binary"]
    assert nb and all(r["Count"] in ("", "0") for r in nb)


def test_xlsx_has_the_same_table(client, world, settings):
    s = survey_with_mix(client, world, settings)
    publish(settings)
    term, later = term_end(today())
    publish(settings, later)
    header, rows = rows_of(export(client, world, s, f"?period={term}&lang=sv"))
    assert header[:5] == ["Fråga", "Svar", "Bakgrundsfråga", "Bakgrundssvar", "Antal"]  # Swedish by default
    r = export(client, world, s, f"?period={term}&lang=sv", fmt="xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [["" if c.value is None else str(c.value) for c in row] for row in ws.iter_rows()]
    assert values[0] == header and len(values) == len(rows) + 1
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    count = header.index("Antal")
    assert [v[count] for v in values[1:]] == [row[header[count]] for row in rows]


def test_open_period_publishes_totals_only_and_says_when_breakdowns_come(client, world, settings):
    s = survey_with_mix(client, world, settings)
    day = today()
    publish(settings, day)
    _term, later = term_end(day)
    _header, rows = rows_of(export(client, world, s, "?lang=en"))  # default: this term, open
    assert {r["Background question"] for r in rows} == {"All"}  # no breakdown
    assert not any(r["Question"].endswith("[gender]") or r["Question"].endswith("[age_band]") for r in rows)
    assert {r["Release"] for r in rows} == {f"Preliminary {day}"}
    nxt = calendar.next_monthly(day).isoformat()  # the next release day of the calendar
    final_day = calendar.first_weekday(later.year, later.month).isoformat()
    assert {r["Next release"] for r in rows} == {f"{nxt}; breakdowns by background in the final release on {final_day}"}


def test_answering_after_a_release_changes_nothing_until_the_next(client, world, settings):
    s = survey_with_mix(client, world, settings)
    day = today()
    publish(settings, day)
    before = export(client, world, s).content
    answer(client, s["slug"], gender="non_binary", closer_to_labour_market=5, found_useful=5)
    assert export(client, world, s).content == before  # at once
    assert publish(settings, day) == []
    assert export(client, world, s).content == before  # same day: no new release
    publish(settings, day + dt.timedelta(days=1))
    assert export(client, world, s).content == before  # no release day since, and one answer is no batch
    # the closed period's final release never changes, whatever is answered later (padding: S3, S8)
    term, later = term_end(day)
    publish(settings, later)
    final = export(client, world, s, f"?period={term}").content
    for _ in range(12):  # more than a batch: it moves on the next release day, into the open periods only
        answer(client, s["slug"], gender="non_binary", closer_to_labour_market=1)
    publish(settings, later + dt.timedelta(days=1))
    publish(settings, calendar.next_monthly(later))
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
    assert export(client, world, s, f"?period={term}").content == final


def test_wrong_or_unreleased_version_or_period_is_a_clear_4xx(client, world, settings):
    s = survey_with_mix(client, world, settings)
    r = export(client, world, s)
    assert r.status_code == 409 and r.json()["detail"].startswith("period:")  # nothing released yet
    assert "next release" in r.json()["detail"]
    publish(settings)
    assert export(client, world, s).status_code == 200
    r = export(client, world, s, "?version=7")
    assert r.status_code == 422 and "version" in r.text
    r = export(client, world, s, "?version=abc")
    assert 400 <= r.status_code < 500 and "version" in r.text
    r = export(client, world, s, "?period=2026-XX")
    assert r.status_code == 422 and "period" in r.text
    r = export(client, world, s, "?period=2031-VT")
    assert r.status_code == 409 and "2031-VT" in r.json()["detail"] and r.json()["detail"].startswith("period:")

    async def new_version(db):
        from sqlalchemy import select

        from survey.models import Survey, SurveyVersion

        survey = await db.get(Survey, s["id"])
        v1 = (await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id))).scalar_one()
        db.add(SurveyVersion(survey_id=survey.id, number=2, questions=list(v1.questions)))
        survey.current_version = 2
        await db.commit()

    run_db(settings, new_version)
    r = export(client, world, s)  # version 2: released period exists, but none of its answers yet
    assert r.status_code == 409 and r.json()["detail"].startswith("version: version 2")
    assert export(client, world, s, "?version=1").status_code == 200


def test_other_units_staff_get_404_and_nothing_is_logged(client, world, settings):
    s = survey_with_mix(client, world, settings)
    publish(settings)
    for fmt in ("csv", "xlsx"):
        assert export(client, world, s, who="fac_b", fmt=fmt).status_code == 404
    assert client.get(f"/api/exports/surveys/{s['id']}/tables.csv").status_code == 401
    assert not [r for r in raw_rows(settings, "SELECT action FROM audit_entry") if r["action"] == "export"]
    assert export(client, world, s, who="pl_a").status_code == 200
    logged = [r["subject"] for r in raw_rows(settings, "SELECT action, subject FROM audit_entry")
              if r["action"] == "export"]
    assert len(logged) == 1 and f"survey {s['id']} tables v1" in logged[0]


def test_exports_page_links_each_released_period(client, world, settings):
    s = survey_with_mix(client, world, settings)
    publish(settings)
    term, later = term_end(today())
    login(client, world.emails["fac_a"])
    page = client.get("/exports?lang=en").text
    assert f"/api/exports/surveys/{s['id']}/tables.xlsx?version=1&amp;period={term}" in page
    assert "totals only" in page
    publish(settings, later)
    page = client.get("/exports?lang=en").text
    assert f"/api/exports/surveys/{s['id']}/tables.csv?version=1&amp;period={term}" in page
    assert client.get(f"/api/exports/surveys/{s['id']}/tables.csv?version=1&period={term}").status_code == 200


def test_free_text_refusal_prints_no_small_count(client, world, settings):
    s = published_survey(client, world)
    for _ in range(3):
        answer(client, s["slug"], closer_to_labour_market=4, comment="hej")
    publish(settings)
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=world.auth("fac_a"))
    assert r.status_code == 409 and r.json()["detail"].startswith("version:")
    assert "3" not in r.json()["detail"]


def test_exit_export_reads_the_asked_period_and_refuses_an_unreleased_one(client, world, settings):
    r = client.get("/api/exports/units/unit-a/exits.csv?period=2031-HT", headers=world.auth("pl_a"))
    assert r.status_code == 409 and r.json()["detail"].startswith("period:")
    for i in range(12):
        client.post("/api/exits", json={"unit": "unit-a", "month": "2025-03", "outcome": "work" if i % 2 else "other",
                                        "gender": "woman" if i % 3 else "man", "age_band": "16-19"},
                    headers=world.auth("pl_a"))
    publish(settings)
    header, rows = rows_of(client.get("/api/exports/units/unit-a/exits.csv?period=2025-VT&lang=en",
                                      headers=world.auth("pl_a")))
    assert header == ["Group", "Exits (n)", "Work or studies", "Release"]
    assert rows[0]["Group"] == "All" and abs(int(rows[0]["Exits (n)"]) - 12) <= 2
    assert rows[0]["Release"].startswith("Final ")
    assert len(rows) < 12 and "Gender: Woman" in [r["Group"] for r in rows]


def test_fixed_column_counting_equals_counting_every_answer(client, world, settings):
    """The standard template is counted from the fixed columns with numpy; any other version from
    every answer's JSON. On the same answers both give the same tables, crossed ones included."""
    from sqlalchemy import select

    from analysis import crossed, crosstabs
    from survey.models import SurveyVersion

    s = survey_with_mix(client, world, settings)
    answer(client, s["slug"], gender="undisclosed", closer_to_labour_market=2)  # no age band etc.: undisclosed
    answer(client, s["slug"], found_useful=None, comment="x")  # "don't know", nothing else
    publish(settings)
    first, last = 200001, 209912

    async def both(db):
        versions = {v.id: v for v in (await db.execute(select(SurveyVersion))).scalars()}
        vids = sorted(versions)
        assert all(crosstabs.fixed_column(q) for v in versions.values()
                   for q in crosstabs.closed_questions(v.questions))
        arr = await crossed.fixed_rows(db, first, last, vids)
        sigs = await crosstabs.read_signatures(db, first, last, versions)
        out = []
        for final in (False, True):
            fast = crossed.fixed_cells(arr, __import__("numpy").array(vids), versions, first, last, final)
            for vid in vids:
                qs = crosstabs.closed_questions(versions[vid].questions)
                roles = {q.get("role") for q in qs}
                by = [[d for d in crosstabs.BACKGROUND if d in roles and d != q.get("role")] if final else []
                      for q in qs]
                slow = crosstabs.sum_cells(sigs[vid], first, last, by)
                out.append((crosstabs.version_body(versions[vid], fast[vid], 5, final),
                            crosstabs.version_body(versions[vid], slow, 5, final)))
        return out

    pairs = run_db(settings, both)
    assert len(pairs) == 2
    for fast, slow in pairs:
        assert fast == slow
    assert any(g[1] for q in pairs[1][0]["questions"] for groups in q["by"].values() for g in groups)


def test_a_custom_question_is_counted_from_the_answers(client, world, settings):
    """A version with a question outside the template (here yes/no) goes the JSON way, and its
    published counts are the perturbed true counts like every other."""
    custom = {"key": "liked", "kind": "yesno", "text": {"sv": "Var det roligt?", "en": "Was it fun?"}}
    from tests.conftest import survey_def

    d = survey_def()
    d["questions"] = [*d["questions"], custom]
    r = client.post("/api/surveys", json=d, headers=world.auth("fac_a"))
    assert r.status_code == 201, r.text
    s = r.json()
    assert client.post(f"/api/surveys/{s['id']}/publish", headers=world.auth("fac_a")).status_code == 200
    for i in range(14):
        answer(client, s["slug"], liked=i % 3 != 0, gender="woman" if i % 2 else "man", closer_to_labour_market=4)
    publish(settings)
    _, rows = rows_of(export(client, world, s, "?lang=en"))
    liked = {r["Answer"]: r["Count"] for r in rows if r["Question"].endswith("[liked]")}
    truth = defaultdict(lambda: [0, 0])
    for r in raw_rows(settings, f"SELECT answers, record_key FROM response WHERE survey_id = {s['id']}"):
        answers = r["answers"] if isinstance(r["answers"], dict) else json.loads(r["answers"])
        for name in ("", "yes" if answers["liked"] else "no"):
            truth[name][0] += 1
            truth[name][1] += r["record_key"]
    assert truth["yes"][0] == 9 and truth["no"][0] == 5
    for label, name in (("Answered (n)", ""), ("yes", "yes"), ("no", "no")):
        pub = published(truth[name])
        assert liked[label] == ("" if 0 < pub < 5 else str(pub)), (label, truth[name])
