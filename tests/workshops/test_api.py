"""The workshop JSON API: set-up, capacity, co-writing, approval, close, answers, feedback."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import raw_rows
from tests.youthvoice.test_auth import login
from workshops.service import CODE_LEN
from youthvoice.codes import ALPHABET as CODE_ALPHABET

from .helpers import join, on_day, vote, workshop, write


def test_neutral_place_must_be_confirmed(client, world):
    base = {"unit": "unit-a", "title": "T", "date": "2026-10-12", "place": "Biblioteket"}
    for extra in ({}, {"neutral_place": False}):
        r = client.post("/api/workshops", json={**base, **extra}, headers=world.auth("fac_a"))
        assert r.status_code == 422 and "neutral_place" in r.text
    r = client.post("/api/workshops", json={**base, "date": "12/10"}, headers=world.auth("fac_a"))
    assert r.status_code == 422 and "date" in r.text
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop")[0]["n"] == 0
    ws = workshop(client, world)
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LEN}}}", ws["code"])


def test_staff_see_only_their_units(client, world):
    ws = workshop(client, world)
    r = client.post("/api/workshops", json={"unit": "unit-b", "title": "T", "date": "2026-10-12", "place": "P",
                                             "neutral_place": True}, headers=world.auth("fac_a"))
    assert r.status_code == 404
    for method, path in [("GET", f"/api/workshops/{ws['id']}/statements"), ("POST", f"/api/workshops/{ws['id']}/review"),
                         ("POST", f"/api/workshops/{ws['id']}/close"), ("GET", f"/api/workshops/{ws['id']}")]:
        assert client.request(method, path, headers=world.auth("fac_b")).status_code == 404, path
    assert client.get(f"/workshops/{ws['id']}", headers=world.auth("fac_b")).status_code == 404
    assert [w["id"] for w in client.get("/api/workshops", headers=world.auth("fac_b")).json()] == []
    assert [w["id"] for w in client.get("/api/workshops", headers=world.auth("pl_a")).json()] == [ws["id"]]


def test_participant_token_is_not_a_staff_token(client, world):
    ws = workshop(client, world)
    p = join(client, ws["code"])
    assert client.get(f"/api/workshops/{ws['id']}/statements", headers=p).status_code == 401
    assert client.get("/api/units", headers=p).status_code == 401
    # and a staff token is not a participant in the room
    r = client.post(f"/api/public/workshops/{ws['code']}/statements", json={"text": "x"}, headers=world.auth("fac_a"))
    assert r.status_code == 401
    # a token from another workshop does not work here either
    other = workshop(client, world)
    r = client.post(f"/api/public/workshops/{other['code']}/statements", json={"text": "x"}, headers=p)
    assert r.status_code == 401
    stored = raw_rows(world.settings, "SELECT token_hash FROM workshop_participant")
    assert p["Authorization"][7:] not in str(stored)


def test_the_eleventh_is_refused_kindly(client, world):
    ws = workshop(client, world)
    for _ in range(10):
        join(client, ws["code"])
    r = client.post(f"/api/public/workshops/{ws['code']}/participants", json={})
    assert r.status_code == 409 and "full" in r.text
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_participant")[0]["n"] == 10
    page = client.get(f"/w/{ws['code']}")
    from tests.youthvoice.test_auth import form_token
    r = client.post(f"/w/{ws['code']}/join", data={"_form": form_token(page.text), "nickname": ""})
    assert r.status_code == 409 and "10" in r.text


def test_code_is_forgiving_when_typed(client, world):
    ws = workshop(client, world)
    typed = ws["code"][:3].lower() + " " + ws["code"][3:].lower()
    r = client.post(f"/api/public/workshops/{typed}/participants", json={})
    assert r.status_code == 201


def test_cowriting_keeps_words_and_author_roles(client, world):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    amir = join(client, code, nickname="Amir")
    sid = write(client, code, amir, "Vi vill ha fler praktikplatser")
    r = client.put(f"/api/workshops/{wid}/statements/{sid}", json={"text": "Vi vill ha fler praktikplatser i kommunen"},
                   headers=world.auth("fac_a"))
    assert r.status_code == 200
    [st] = client.get(f"/api/workshops/{wid}/statements", headers=world.auth("fac_a")).json()
    assert st["text"] == "Vi vill ha fler praktikplatser i kommunen" and st["edited_by_staff"] is True
    assert [(r["author_role"]) for r in st["revisions"]] == ["participant", "staff"]
    # someone else cannot take it back; the author can
    other = join(client, code)
    assert client.post(f"/api/public/workshops/{code}/statements/{sid}/take-back", headers=other).status_code == 422
    assert client.post(f"/api/public/workshops/{code}/statements/{sid}/take-back", headers=amir).status_code == 200
    [st] = client.get(f"/api/workshops/{wid}/statements", headers=world.auth("fac_a")).json()
    assert st["text"] == "Vi vill ha fler praktikplatser"
    assert [r["author_role"] for r in st["revisions"]] == ["participant", "staff", "participant"]
    # themes from the offered list only
    r = client.put(f"/api/workshops/{wid}/statements/{sid}", json={"themes": ["Bostad"]}, headers=world.auth("fac_a"))
    assert r.status_code == 422 and "themes" in r.text
    r = client.put(f"/api/workshops/{wid}/statements/{sid}", json={"themes": ["jobb"]}, headers=world.auth("fac_a"))
    assert r.json()["themes"] == ["Jobb"]
    r = client.post(f"/api/public/workshops/{code}/statements", json={"text": "   "}, headers=amir)
    assert r.status_code == 422 and "text" in r.text


def _room_with_votes(client, world, joined=4):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    people = [join(client, code, nickname=f"nick{i}") for i in range(joined)]
    ok = write(client, code, people[0], "Vi vill ha busskort")
    objected = write(client, code, people[1], "Skolan ska börja senare")
    too_few = write(client, code, people[2], "Mer fritidsgårdar")
    none = write(client, code, people[3], "Ingen röstar på detta")
    client.put(f"/api/workshops/{wid}/statements/{ok}", json={"text": "Vi vill ha gratis busskort"},
               headers=world.auth("fac_a"))
    # voting is only possible in the review
    r = client.post(f"/api/public/workshops/{code}/statements/{ok}/vote", json={"vote": "approve"}, headers=people[0])
    assert r.status_code == 409
    assert client.post(f"/api/workshops/{wid}/review", headers=world.auth("fac_a")).status_code == 200
    for p in people[:2]:
        vote(client, code, p, ok, "approve")
    for p in people[:3]:
        vote(client, code, p, objected, "approve")
    vote(client, code, people[3], objected, "object")
    vote(client, code, people[0], too_few, "approve")
    return ws, people, dict(ok=ok, objected=objected, too_few=too_few, none=none)


def test_close_releases_only_what_the_group_approved_and_deletes_the_rest(client, world):
    ws, _people, s = _room_with_votes(client, world)
    code, wid = ws["code"], ws["id"]
    # staff are not participants: they cannot vote a statement through
    r = client.post(f"/api/public/workshops/{code}/statements/{s['too_few']}/vote", json={"vote": "approve"},
                    headers=world.auth("fac_a"))
    assert r.status_code == 401
    r = client.post(f"/api/workshops/{wid}/close", headers=world.auth("fac_a"))
    assert r.status_code == 200
    assert r.json() == {"released": [s["ok"]]}
    texts = [row["text"] for row in raw_rows(world.settings, "SELECT text FROM workshop_statement")]
    assert texts == ["Vi vill ha gratis busskort"]
    revs = raw_rows(world.settings, "SELECT statement_id, text, author_role FROM workshop_revision ORDER BY number")
    assert [(r["statement_id"], r["text"], r["author_role"]) for r in revs] == [
        (s["ok"], "Vi vill ha busskort", "participant"), (s["ok"], "Vi vill ha gratis busskort", "staff")]
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_participant")[0]["n"] == 0
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_vote")[0]["n"] == 0
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_support")[0]["n"] == 0
    dump = str(raw_rows(world.settings, "SELECT * FROM workshop")) + str(
        raw_rows(world.settings, "SELECT * FROM workshop_statement")) + str(raw_rows(world.settings, "SELECT * FROM audit_entry"))
    assert "nick" not in dump and "Skolan" not in dump and "fritidsgårdar" not in dump
    [st] = client.get(f"/api/workshops/{wid}/statements", headers=world.auth("fac_a")).json()
    assert st["released"] is True and st["edited_by_staff"] is True
    assert [r["author_role"] for r in st["revisions"]] == ["participant", "staff"]
    # closed: nothing changes any more, nobody joins
    r = client.put(f"/api/workshops/{wid}/statements/{s['ok']}", json={"text": "Annat"}, headers=world.auth("fac_a"))
    assert r.status_code == 409
    assert client.post(f"/api/public/workshops/{code}/participants", json={}).status_code == 409


def test_a_staff_rewording_in_review_resets_the_approval(client, world):
    ws, _people, s = _room_with_votes(client, world)
    wid = ws["id"]
    r = client.put(f"/api/workshops/{wid}/statements/{s['ok']}", json={"text": "Vi vill ha billiga busskort"},
                   headers=world.auth("fac_a"))
    assert r.status_code == 200 and r.json()["approvals"] == 0
    assert client.post(f"/api/workshops/{wid}/close", headers=world.auth("fac_a")).json() == {"released": []}
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_statement")[0]["n"] == 0
    assert raw_rows(world.settings, "SELECT count(*) AS n FROM workshop_revision")[0]["n"] == 0


def test_release_share_is_configurable_per_unit(client, world):
    from sqlalchemy import text

    from tests.conftest import run_db

    async def strict(db):
        await db.execute(text("UPDATE unit SET release_min_share = 0.75 WHERE slug = 'unit-a'"))
        await db.commit()

    run_db(world.settings, strict)
    ws, _people, _s = _room_with_votes(client, world)
    # 2 of 4 approved "ok": enough at 0.5, not at 0.75
    assert client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a")).json() == {"released": []}


def test_close_needs_the_review_first(client, world):
    ws = workshop(client, world)
    p = join(client, ws["code"])
    write(client, ws["code"], p, "Något")
    r = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    assert r.status_code == 409 and "review" in r.text


def test_process_leader_answers_and_feedback_is_public_by_code(client, world):
    ws, _people, s = _room_with_votes(client, world)
    code, wid = ws["code"], ws["id"]
    # before close: cannot answer an unreleased statement
    r = client.post(f"/api/statements/{s['ok']}/response", json={"status": "received", "text": "x"},
                    headers=world.auth("pl_a"))
    assert r.status_code == 409
    client.post(f"/api/workshops/{wid}/close", headers=world.auth("fac_a"))
    body = {"status": "considering", "text": "Vi pratar med kollektivtrafiken i november."}
    assert client.post(f"/api/statements/{s['ok']}/response", json=body, headers=world.auth("fac_a")).status_code == 403
    assert client.post(f"/api/statements/{s['ok']}/response", json=body, headers=world.auth("fac_b")).status_code == 403
    r = client.post(f"/api/statements/{s['ok']}/response", json={"status": "maybe", "text": ""},
                    headers=world.auth("pl_a"))
    assert r.status_code == 422 and "status" in r.text
    assert client.post(f"/api/statements/{s['ok']}/response", json=body, headers=world.auth("pl_a")).status_code == 200
    fb = client.get(f"/api/public/workshops/{code}/feedback").json()
    assert [(x["text"], x["status"], x["response"], x["edited_by_staff"]) for x in fb["statements"]] == [
        ("Vi vill ha gratis busskort", "considering", body["text"], True)]
    page = client.get(f"/w/{code}")
    assert page.status_code == 200 and body["text"] in page.text and "Skolan" not in page.text
    assert "Vi funderar" in page.text  # Swedish status label
    unit_page = client.get("/u/unit-a")
    assert body["text"] in unit_page.text and "Vi vill ha gratis busskort" in unit_page.text
    assert client.get("/u/unit-b").status_code == 200 and body["text"] not in client.get("/u/unit-b").text


def test_themes_per_month_for_the_analysis(client, world):
    ws, people, s = _room_with_votes(client, world)
    client.put(f"/api/workshops/{ws['id']}/statements/{s['ok']}", json={"themes": ["Fritid"]},
               headers=world.auth("fac_a"))
    for p in people[:2]:
        vote(client, ws["code"], p, s["ok"], "approve")
    client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    r = client.get("/api/workshops/themes?period=2026-HT", headers=world.auth("pl_a"))
    assert r.json() == [{"theme": "Fritid", "month": "2026-10", "statements": 1}]
    assert client.get("/api/workshops/themes?period=2026-HT", headers=world.auth("fac_b")).json() == []
    assert client.get("/api/workshops/themes?period=nope", headers=world.auth("pl_a")).status_code == 422
    assert client.get("/api/workshops/themes?period=2026-VT", headers=world.auth("pl_a")).json() == []
    # The analysis dashboard counts the same statements (one counter, in workshops/views.py).
    login(client, world.emails["pl_a"])
    themes = client.get("/analysis?period=2026-HT").text.split('id="themes"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<th scope="row">Fritid</th><td>1</td>', themes), themes
    assert "Fritid" not in client.get("/analysis?period=2026-VT").text.split('id="themes"', 1)[1]


def test_feedback_code_works_for_the_configured_months_after_close(client, world, monkeypatch):
    ws = workshop(client, world, feedback_months=2)
    client.post(f"/api/workshops/{ws['id']}/review", headers=world.auth("fac_a"))
    on_day(monkeypatch, dt.date(2026, 10, 20))
    assert client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a")).status_code == 200
    on_day(monkeypatch, dt.date(2026, 12, 31))
    assert client.get(f"/api/public/workshops/{ws['code']}/feedback").status_code == 200
    assert "1 januari 2027" in client.get(f"/w/{ws['code']}").text
    on_day(monkeypatch, dt.date(2027, 1, 1))
    assert client.get(f"/api/public/workshops/{ws['code']}/feedback").status_code == 404
    assert client.get(f"/w/{ws['code']}").status_code == 404


def test_workshop_routes_are_in_the_openapi_document(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    for p in ("/api/workshops", "/api/public/workshops/{code}/participants", "/api/workshops/{workshop_id}/close",
              "/api/statements/{sid}/response", "/api/public/workshops/{code}/feedback"):
        assert p in paths, p


def test_ids_out_of_range_are_404_not_500(client, world):
    for path in ("/api/workshops/14543613270", "/api/workshops/14543613270/statements", "/api/workshops/0"):
        assert client.get(path, headers=world.auth("fac_a")).status_code == 404, path
    r = client.post(f"/api/statements/{'x' * 300}/response", json={"status": "done", "text": ""},
                    headers=world.auth("pl_a"))
    assert r.status_code == 404
