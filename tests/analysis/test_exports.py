"""Exports staff open in Excel: formula injection neutralised, characters intact,
unit scope, no individual rows (free text alone and shuffled; protected counts), and the audit log."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import openpyxl
import pytest

from analysis import calendar
from analysis.publish import publish_now
from tests.conftest import published_survey, raw_rows, run_db
from tests.youthvoice.test_auth import login
from youthvoice import tables as service
from youthvoice.clock import today
from youthvoice.periods import current_term

EVIL = '=HYPERLINK("http://example.org","x")'
SWEDISH = "Det var bra att få åka till Öland och äta"
ARABIC = "شكرا جزيلا على المساعدة"


def answer(client, slug, **answers):
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers, "language": "sv"})
    assert r.status_code == 201, r.text


def survey_with_answers(client, world, n=10, who="fac_a"):  # ten: one batch of B
    s = published_survey(client, world, who=who)
    texts = [EVIL, SWEDISH, ARABIC] + ["ok"] * max(0, n - 3)
    genders = ["woman", "man", "woman", "woman", "non_binary"] + ["woman"] * max(0, n - 5)
    for i in range(n):
        answer(client, s["slug"], closer_to_labour_market=(4 if i % 2 == 0 else None), found_useful=5,
               gender=genders[i], age_band="16-19", comment=texts[i % len(texts)] if i < 3 else "ok")
    asyncio.run(publish_now(world.settings))
    return s


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel reads UTF-8"
    text = body.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_survey_answers_csv_neutralises_formulas_and_keeps_characters(client, world, settings):
    s = survey_with_answers(client, world)
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "no-store"
    rows = read_csv(r.content)
    header, data = rows[0], rows[1:]
    assert len(data) == 10
    # free text alone: the question and the text, no month, language or background answer
    assert len(header) == 2
    comments = [row[1] for row in data]
    assert "'" + EVIL in comments and EVIL not in comments
    assert SWEDISH in comments and ARABIC in comments
    assert not any(today().strftime("%Y-%m") in ";".join(row) for row in data)


def test_survey_answers_xlsx_cell_is_text_not_formula(client, world, settings):
    s = survey_with_answers(client, world)
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.xlsx", headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no formula anywhere"
    evil = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert len(evil) == 1 and evil[0].data_type == "s" and evil[0].value == "'" + EVIL
    values = {c.value for c in cells}
    assert SWEDISH in values and ARABIC in values
    assert ws.max_column == 2  # no answer beside the text


def test_every_export_is_audited(client, world, settings):
    s = survey_with_answers(client, world)
    client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=world.auth("fac_a"))
    client.get("/api/exports/effect-goals.xlsx?unit=unit-a", headers=world.auth("pl_a"))
    rows = raw_rows(settings, "SELECT a.action, a.subject, u.email FROM audit_entry a "
                              "JOIN staff_user u ON u.id = a.user_id ORDER BY a.id")
    exports = [(r["email"], r["subject"]) for r in rows if r["action"] == "export"]
    assert len(exports) == 2
    assert exports[0][0] == world.emails["fac_a"] and f"survey {s['id']}" in exports[0][1] and "csv" in exports[0][1]
    assert exports[1][0] == world.emails["pl_a"] and "effect goals unit-a" in exports[1][1]


def test_other_units_staff_get_404(client, world, settings):
    s = survey_with_answers(client, world)
    for path in (f"/api/exports/surveys/{s['id']}/answers.csv", f"/api/exports/surveys/{s['id']}/answers.xlsx",
                 "/api/exports/effect-goals.csv?unit=unit-a", "/api/exports/units/unit-a/statements.csv",
                 "/api/exports/units/unit-a/exits.xlsx", f"/api/exports/surveys/{s['id']}/tables.csv",
                 f"/api/exports/surveys/{s['id']}/tables.xlsx?period=2026-HT"):
        r = client.get(path, headers=world.auth("fac_b"))
        assert r.status_code == 404, (path, r.status_code)
    assert client.get(f"/api/exports/surveys/{s['id']}/answers.csv").status_code == 401
    # nothing was exported, so nothing in the log
    assert not [r for r in raw_rows(settings, "SELECT action FROM audit_entry") if r["action"] == "export"]


def test_too_few_answers_cannot_be_exported(client, world, settings):
    s = survey_with_answers(client, world, n=4)
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv", headers=world.auth("fac_a"))
    assert r.status_code == 409 and "version" in r.json()["detail"]
    r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv?version=7", headers=world.auth("fac_a"))
    assert r.status_code == 422 and "version" in r.text


def test_effect_goal_export_hides_small_groups_like_the_dashboard(client, world, settings):
    # 10 women, 1 man, 1 non-binary: noise moves a count by at most 2, so the total (12) stays above the
    # smallest shown cell (5) and the man's cell stays under it
    survey_with_answers(client, world, n=12)
    period = current_term(today())
    day = today()
    asyncio.run(publish_now(settings, dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2)))
    api = client.get(f"/api/stats/effect-goals?unit=unit-a&period={period}", headers=world.auth("pl_a")).json()
    r = client.get(f"/api/exports/effect-goals.csv?unit=unit-a&period={period}&lang=en", headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    rows = read_csv(r.content)
    header, data = rows[0], rows[1:]
    n_col = header.index("Answers (n)")
    useful = [row for row in data if row[0] == "Found it useful"]
    everyone = next(row for row in useful if row[1] == "All")
    goal = next(g for g in api["goals"] if g["goal"] == "useful")
    assert everyone[n_col] == str(goal["n"]) and abs(goal["n"] - 12) <= 2
    man = next(row for row in useful if row[1] == "Man")
    assert goal["by_gender"]["man"]["verdict"] == "suppressed"
    assert man[n_col] == "" and man[-1] == "Hidden (too few)"
    # shares use a decimal comma for Swedish Excel
    share = everyone[header.index("Share")]
    assert "," in share and "." not in share
    r = client.get("/api/exports/effect-goals.csv?period=2026-XX", headers=world.auth("pl_a"))
    assert r.status_code == 422 and "period" in r.text


def test_exports_page_lists_files_for_own_units(client, world, settings):
    s = survey_with_answers(client, world, n=10)
    r = client.get("/exports", follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
    login(client, world.emails["fac_a"])
    r = client.get("/exports")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert f"/api/exports/surveys/{s['id']}/answers.xlsx?version=1" in r.text
    assert "UNIT-B" not in r.text
    # the link works with the staff session as well as with a bearer token
    assert client.get(f"/api/exports/surveys/{s['id']}/answers.csv?version=1").status_code == 200


def test_openapi_lists_export_routes(client, world):
    paths = client.get("/schema/openapi.json").json()["paths"]
    for p in ("/api/exports/surveys/{survey_id}/answers.csv", "/api/exports/surveys/{survey_id}/answers.xlsx",
              "/api/exports/effect-goals.csv", "/api/exports/effect-goals.xlsx",
              "/api/exports/units/{unit}/statements.csv", "/api/exports/units/{unit}/exits.xlsx",
              "/api/exports/surveys/{survey_id}/tables.csv", "/api/exports/surveys/{survey_id}/tables.xlsx"):
        assert p in paths, p


@pytest.mark.parametrize("value", ["=1+1", "+46701234567", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_every_dangerous_start_is_neutralised_in_both_formats(value):
    table = service.Table(title="t", header=["h"], rows=[[value], ["-5 is fine as a number"], [-5]])
    rows = read_csv(service.to_csv(table))
    assert rows[1] == ["'" + value]
    assert rows[3] == ["-5"]  # numbers are numbers, not text
    ws = openpyxl.load_workbook(io.BytesIO(service.to_xlsx(table))).active
    # (XML turns a stored carriage return into a line feed when read back)
    assert ws["A2"].value == ("'" + value).replace("\r", "\n") and ws["A2"].data_type == "s"
    assert ws["A4"].value == -5 and ws["A4"].data_type == "n"


def test_released_statements_export_with_feedback(client, world, settings):
    import datetime as dt

    import workshops.models as wm

    async def seed(db):
        from sqlalchemy import select

        from youthvoice.models import Unit

        unit = (await db.execute(select(Unit).where(Unit.slug == "unit-a"))).scalar_one()
        w = wm.Workshop(unit_id=unit.id, code="ABC123", title="Höstens workshop", date=dt.date(2026, 10, 1),
                        place="Biblioteket", neutral_place=True, status="closed")
        db.add(w)
        await db.flush()
        s1 = wm.Statement(workshop_id=w.id, seq=1, text=EVIL, released=True, themes=["jobb"],
                          response_status="done", response_text="Vi har ordnat det – تم", response_on=dt.date(2026, 11, 2))
        s2 = wm.Statement(workshop_id=w.id, seq=2, text="Inte släppt", released=False)
        db.add_all([s1, s2])
        await db.flush()
        db.add_all([wm.Revision(statement_id=s1.id, number=1, text="första", author_role="participant"),
                    wm.Revision(statement_id=s1.id, number=2, text=EVIL, author_role="staff")])
        await db.commit()

    try:
        run_db(settings, seed)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"workshops tables not migrated yet: {type(e).__name__}")
    r = client.get("/api/exports/units/unit-a/statements.csv?lang=en", headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    header, *data = read_csv(r.content)
    assert len(data) == 1  # only the released statement
    row = dict(zip(header, data[0]))
    assert row["Statement"] == "'" + EVIL and row["First wording"] == "första"
    assert row["Changed by staff"] == "yes" and row["Answer status"] == "Done"
    assert row["Answer"] == "Vi har ordnat det – تم" and row["Workshop"] == "Höstens workshop"
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/api/exports/units/unit-a/statements.xlsx",
                                                      headers=world.auth("pl_a")).content)).active
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_exit_records_export_only_own_unit(client, world, settings):
    for unit, who, outcome, gender in (("unit-a", "fac_a", "work", "woman"), ("unit-a", "fac_a", "studies", "man"),
                                       ("unit-b", "fac_b", "other", "woman")):
        r = client.post("/api/exits", json={"unit": unit, "month": "2026-10", "outcome": outcome, "gender": gender,
                                            "age_band": "20-24"}, headers=world.auth(who))
        assert r.status_code == 201, r.text
    asyncio.run(publish_now(settings, dt.date(2027, 1, 2)))
    r = client.get("/api/exports/units/unit-a/exits.csv?period=2026-HT", headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    header, *data = read_csv(r.content)
    assert header == ["Grupp", "Avslut (n)", "Arbete eller studier", "Publicering"]  # counts, not records
    assert data[0][0] == "Alla" and data[0][1] in ("", "0")  # two exits: published 0 or 3, under 5 not shown
    assert not any(row[0] == "2026-10" for row in data)
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/api/exports/units/unit-a/exits.xlsx?lang=ar&period=2026-HT",
                                                      headers=world.auth("fac_a")).content)).active
    assert ws.max_column == 4
    assert client.get("/api/exports/units/unit-b/exits.csv", headers=world.auth("fac_a")).status_code == 404


def test_each_version_exports_its_own_questions_and_answers(client, world, settings):
    s = survey_with_answers(client, world, n=10)

    async def new_version(db):
        from sqlalchemy import select

        from survey.models import Survey, SurveyVersion

        survey = await db.get(Survey, s["id"])
        v1 = (await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id))).scalar_one()
        questions = list(v1.questions) + [{"key": "extra", "kind": "yesno", "text": {"sv": "Var det roligt?"}}]
        db.add(SurveyVersion(survey_id=survey.id, number=2, questions=questions))
        survey.current_version = 2
        await db.commit()

    run_db(settings, new_version)
    for _ in range(10):
        answer(client, s["slug"], found_useful=3, extra=True)

    def export(q=""):
        r = client.get(f"/api/exports/surveys/{s['id']}/answers.csv{q}", headers=world.auth("fac_a"))
        assert r.status_code == 200, r.text
        return read_csv(r.content)

    asyncio.run(publish_now(settings, calendar.next_monthly(today())))  # the next release day moves the batch
    v1, v2, current = export("?version=1"), export("?version=2"), export()
    # only what people wrote in their own words: ten texts under version 1, none under version 2
    assert len(v1) == 1 + 10 and len(v2) == 1 and current == v2
    assert all(row[0].endswith("[comment]") for row in v1[1:])
