"""Issue 19, items 4–6, 8 and 9 (and issue 17's scrubber and "remove a participant"): inputs that gave a
500 or were stored when they should not be, the Host header, the login form bound to the browser,
invisible characters and personal details in statements, staff actions and the operator commands."""

from __future__ import annotations

import csv
import io

import pytest
from litestar.testing import TestClient
from sqlalchemy import exc as sa_exc

import survey.service
from tests.conftest import PASSWORD, published_survey, raw_rows
from tests.workshops.helpers import join, workshop, write
from tests.youthvoice.test_auth import csrf_of, form_token, login
from youthvoice import cli
from youthvoice.app import create_app
from youthvoice.web import youth_form_token

DEEP_LIST = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


def count(settings, table: str) -> int:
    return raw_rows(settings, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def test_deeply_nested_json_on_every_public_json_route_is_a_4xx(client, world, settings):
    s = published_survey(client, world, access="open")
    ws = workshop(client, world)
    who = join(client, ws["code"])
    sid = write(client, ws["code"], who, "Fler platser för praktik")
    routes = [("POST", f"/api/public/surveys/{s['slug']}/responses"),
              ("POST", f"/api/public/workshops/{ws['code']}/participants"),
              ("POST", f"/api/public/workshops/{ws['code']}/statements"),
              ("PUT", f"/api/public/workshops/{ws['code']}/statements/{sid}"),
              ("POST", f"/api/public/workshops/{ws['code']}/statements/{sid}/vote")]
    before = (count(settings, "response_intake"), count(settings, "workshop_statement"), count(settings, "workshop_participant"))
    for method, path in routes:
        for body in (DEEP_LIST, DEEP_OBJECT, '{"answers": ' + DEEP_OBJECT + "}", '{"text": ' + DEEP_LIST + "}"):
            r = client.request(method, path, content=body, headers={"content-type": "application/json", **who})
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
            assert "Traceback" not in r.text
    after = (count(settings, "response_intake"), count(settings, "workshop_statement"), count(settings, "workshop_participant"))
    assert after == before


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "1e309", "-0", "5.0", " 5"])
def test_odd_numbers_in_a_scale_answer_are_a_4xx_naming_the_question(client, world, settings, value):
    s = published_survey(client, world, access="open")
    token = youth_form_token(settings.secret_key, f"survey:{s['slug']}")
    r = client.post(f"/s/{s['slug']}", data={"q_found_useful": value, "_go": "send", "_form": token})
    assert r.status_code == 422, (value, r.status_code)
    assert 'id="q_found_useful' in r.text or "found_useful" in r.text
    assert count(settings, "response_intake") == 0


@pytest.mark.parametrize("value", ["²", "9" * 5000, "١"])
def test_odd_numbers_in_staff_number_fields_are_a_4xx(client, world, settings, value):
    ws = workshop(client, world)
    assert login(client, world.emails["fac_a"]).status_code == 303
    csrf = csrf_of(client.get(f"/workshops/{ws['id']}").text)
    r = client.post(f"/workshops/{ws['id']}/composition", data={"_csrf": csrf, "c_women": value})
    assert r.status_code == 422, r.status_code
    page = client.get("/workshops/new").text
    r = client.post("/workshops/new", data={"_csrf": csrf_of(page), "unit": "unit-a", "title": "T", "date": "2026-10-12",
                                            "place": "P", "neutral_place": "yes", "c_men": value,
                                            "feedback_months": value})
    assert r.status_code == 422, r.status_code
    assert count(settings, "workshop") == 1


def test_a_nul_in_a_static_path_is_refused(client):
    for path in ("/static/style.css%00.js", "/static/%00", "/w/AB%00CD"):
        r = client.get(path)
        assert r.status_code == 400, (path, r.status_code)
    assert client.get("/static/style.css").status_code == 200


def test_nul_in_text_is_a_clear_422_and_nothing_is_stored(client, world, settings):
    s = published_survey(client, world, access="open")
    ws = workshop(client, world)
    who = join(client, ws["code"])
    cases = [
        (f"/api/public/surveys/{s['slug']}/responses", {"answers": {"comment": "hej\x00då", "found_useful": 4}},
         {}, "answers.comment"),
        (f"/api/public/workshops/{ws['code']}/statements", {"text": "mer\x00praktik"}, who, "text"),
        (f"/api/public/workshops/{ws['code']}/participants", {"nickname": "Sa\x00m"}, {}, "nickname"),
        ("/api/workshops", {"unit": "unit-a", "title": "T\x00", "date": "2026-10-12", "place": "P",
                            "neutral_place": True}, world.auth("fac_a"), "title"),
    ]
    before = {t: count(settings, t) for t in ("response_intake", "workshop_statement", "workshop_participant", "workshop")}
    for path, body, headers, field in cases:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert field in r.json()["detail"] and "NUL" in r.text, r.text
    assert before == {t: count(settings, t) for t in before}


def test_empty_string_for_a_scale_and_an_empty_answer_are_refused(client, world, settings):
    s = published_survey(client, world, access="open")
    url = f"/api/public/surveys/{s['slug']}/responses"
    r = client.post(url, json={"answers": {"found_useful": ""}})
    assert r.status_code == 422 and "found_useful" in r.json()["detail"]
    r = client.post(url, json={"answers": {}})
    assert r.status_code == 422 and "answers" in r.json()["detail"]
    assert count(settings, "response_intake") == 0
    assert client.post(url, json={"answers": {"found_useful": None}}).status_code == 201  # null is "don't know"


def test_an_unknown_host_never_reaches_a_page(client, world, settings):
    s = published_survey(client, world, access="code")
    ws = workshop(client, world)
    assert login(client, world.emails["fac_a"]).status_code == 303
    paths = ["/", "/login", f"/w/{ws['code']}", f"/s/{s['slug']}", f"/workshops/{ws['id']}/screen",
             f"/surveys/{s['id']}/poster", "/no-such-page", "/api/units", "/static/style.css"]
    for host in ("evil.example", "evil.example:8000", "localhost.evil.example"):
        for path in paths:
            r = client.get(path, headers={"host": host})
            assert r.status_code == 400, (host, path, r.status_code)
            assert "evil.example" not in r.text
    # the configured base URL makes the links, whatever the request said
    with TestClient(create_app(settings.__class__(**{**settings.__dict__, "base_url": "https://unga.kommun.se",
                                                     "allowed_hosts": ("testserver.local",)}))) as c2:
        assert login(c2, world.emails["fac_a"]).status_code == 303
        page = c2.get(f"/workshops/{ws['id']}/screen").text
        assert f"https://unga.kommun.se/w/{ws['code']}" in page
        assert c2.get("/login", headers={"host": "unga.kommun.se"}).status_code == 200
        assert c2.get("/login", headers={"host": "evil.example"}).status_code == 400


def test_the_login_token_works_only_in_the_browser_it_was_given_to(settings, world):
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        token = form_token(a.get("/login").text)
        b.get("/login")  # b has its own browser cookie
        data = {"_form": token, "email": world.emails["fac_a"], "password": PASSWORD, "next": "/"}
        r = b.post("/login", data=data, follow_redirects=False)
        assert r.status_code == 403 and "yv_session" not in r.headers.get("set-cookie", "")
        b.cookies.clear()  # and with no cookie at all
        assert b.post("/login", data=data, follow_redirects=False).status_code == 403
        r = a.post("/login", data=data, follow_redirects=False)
        assert r.status_code == 303 and "yv_session" in r.headers["set-cookie"]


TRICKS = {
    "ring mig på 070\u200b-123 45 67": "070",
    "mejla sara\uff20exempel.se": "exempel",
    "mitt nummer är \u0660\u0667\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667": "\u0667\u0660\u0661",
    "personnummer 900101 - 1234 ok": "1234",
    "jag heter Sara Ali och vill ha jobb": "Sara",
    "\u202etxet\u202c vänd": "\u202e",
}


def test_statements_are_scrubbed_and_cleaned_of_invisible_characters(client, world, settings):
    ws = workshop(client, world)
    who = join(client, ws["code"], nickname="\u202eSam\u200b")
    for text, gone in TRICKS.items():
        write(client, ws["code"], who, text)
    stored = [r["text"] for r in raw_rows(settings, "SELECT text FROM workshop_statement")]
    revisions = [r["text"] for r in raw_rows(settings, "SELECT text FROM workshop_revision")]
    for gone in TRICKS.values():
        assert not any(gone in t for t in stored + revisions), (gone, stored)
    assert sum("[borttaget]" in t for t in stored) == 5, stored
    assert "vill ha jobb" in " ".join(stored) and "txet vänd" in stored  # the rest as written
    assert raw_rows(settings, "SELECT nickname FROM workshop_participant")[0]["nickname"] == "Sam"
    # nothing invisible reaches the export either
    client.post(f"/api/workshops/{ws['id']}/review", headers=world.auth("fac_a"))
    for row in raw_rows(settings, "SELECT id FROM workshop_statement"):
        client.post(f"/api/public/workshops/{ws['code']}/statements/{row['id']}/vote", json={"vote": "approve"},
                    headers=who)
    assert client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a")).status_code == 200
    r = client.get("/api/exports/units/unit-a/statements.csv", headers=world.auth("fac_a"))
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text), delimiter=";"))
    assert not any(ch in text for ch in "\u202e\u202c\u200b\ufeff")


def test_a_nickname_cannot_pass_for_the_rooms_own_label(client, world, settings):
    ws = workshop(client, world)
    other = join(client, ws["code"], nickname="Du skrev det här")
    write(client, ws["code"], other, "Bättre bussar")
    page = client.get(f"/w/{ws['code']}")
    r = client.post(f"/w/{ws['code']}/join", data={"_form": form_token(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(f"/w/{ws['code']}?lang=sv").text
    assert 'class="by">Skrivet av: <bdi class="user-text">Du skrev det här</bdi>' in html
    assert 'room-label' not in html.split("Bättre bussar")[1].split("</li>")[0]


def test_staff_remove_a_participant_and_give_the_room_a_new_code(client, world, settings):
    ws = workshop(client, world)
    a, b = join(client, ws["code"], "A"), join(client, ws["code"], "B")
    people = client.get(f"/api/workshops/{ws['id']}/participants", headers=world.auth("fac_a")).json()
    assert sorted(p["nickname"] for p in people) == ["A", "B"]
    b_id = next(p["id"] for p in people if p["nickname"] == "B")
    assert client.delete(f"/api/workshops/{ws['id']}/participants/{b_id}", headers=world.auth("fac_b")).status_code == 404
    r = client.delete(f"/api/workshops/{ws['id']}/participants/{b_id}", headers=world.auth("fac_a"))
    assert r.status_code == 200 and r.json()["joined"] == 1
    assert client.post(f"/api/public/workshops/{ws['code']}/statements", json={"text": "x"}, headers=b).status_code == 401
    r = client.post(f"/api/workshops/{ws['id']}/code", headers=world.auth("fac_a"))
    new = r.json()["code"]
    assert r.status_code == 200 and new != ws["code"]
    assert client.get(f"/api/public/workshops/{ws['code']}/feedback").status_code == 404
    assert client.get(f"/w/{new}").status_code == 200
    assert client.post(f"/api/public/workshops/{new}/statements", json={"text": "Jag är kvar"}, headers=a).status_code == 201
    actions = [r["action"] for r in raw_rows(settings, "SELECT action FROM audit_entry")]
    assert "workshop.remove_participant" in actions and "workshop.new_code" in actions


def test_token_revoke_and_user_deactivate(settings, world, monkeypatch, capsys):
    monkeypatch.setenv("YOUTHVOICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("YOUTHVOICE_SECRET_KEY", settings.secret_key)
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/units", headers=world.auth("fac_a")).status_code == 200
        cli.main(["token", "revoke", "--email", world.emails["fac_a"]])
        assert "Revoked 1 API token" in capsys.readouterr().out
        assert c.get("/api/units", headers=world.auth("fac_a")).status_code == 401
        assert c.get("/api/units", headers=world.auth("pl_a")).status_code == 200  # others keep theirs
        assert login(c, world.emails["pl_a"]).status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 200
        cli.main(["user", "deactivate", "--email", world.emails["pl_a"]])
        assert "Deactivated" in capsys.readouterr().out
        assert c.get("/", follow_redirects=False).status_code in (302, 303, 307)  # the session ended
        assert c.get("/api/units", headers=world.auth("pl_a")).status_code == 401
        assert login(c, world.emails["pl_a"]).status_code == 400  # and no new sign-in
    with pytest.raises(SystemExit):
        cli.main(["user", "deactivate", "--email", "nobody@test.example"])
    audit = {r["action"]: r["subject"] for r in raw_rows(settings, "SELECT action, subject FROM audit_entry")}
    assert "token.revoke" in audit and "user.deactivate" in audit
    assert raw_rows(settings, "SELECT count(*) AS n FROM staff_session")[0]["n"] == 0


def test_no_free_database_connection_is_a_503_in_the_page_s_language(client, world, monkeypatch):
    """When a whole class presses Send at once (after a restart) and no database connection frees up
    in time, the phone is told to try again in a moment: 503 with Retry-After, never a 500."""
    s = published_survey(client, world)

    async def no_connection(*_a, **_kw):
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out")

    monkeypatch.setattr(survey.service, "open_survey", no_connection)
    page = client.get(f"/s/{s['slug']}?lang=ar")
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert "كثيرون يجيبون الآن" in page.text and page.headers["content-type"].startswith("text/html")
    api = client.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": {"found_useful": 4}})
    assert api.status_code == 503 and api.json()["detail"].startswith("Many people are answering right now")
