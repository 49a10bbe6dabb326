"""The phone room without JavaScript, the facilitator's pages and the projector."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from tests.conftest import raw_rows
from tests.youthvoice.test_auth import csrf_of, form_token, login
from youthvoice.app import create_app

from .helpers import join, workshop


def _ids(html: str) -> list[str]:
    return re.findall(r'id="s-([0-9a-f]{32})"', html)


def test_phone_room_works_without_javascript(client, world, settings):
    ws = workshop(client, world)
    code = ws["code"]
    page = client.get(f"/w/{code}")
    assert page.status_code == 200 and "Smeknamn" in page.text  # Swedish by default
    assert "<script>" not in page.text and "style=" not in page.text
    r = client.post(f"/w/{code}/join", data={"_form": form_token(page.text), "nickname": "Sara"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/w/{code}" and "yv_w=" in r.headers["set-cookie"]
    assert "path=/w;" in r.headers["set-cookie"].lower() and "httponly" in r.headers["set-cookie"].lower()
    r = client.get(f"/w/{code}")
    r = client.post(f"/w/{code}/statements", data={"_form": form_token(r.text), "text": "Vi vill ha  fler\nsommarjobb",
                                                   "theme": "Jobb"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/w/{code}")
    assert "Vi vill ha  fler\nsommarjobb" in page.text and "Du skrev det här" in page.text
    [sid] = _ids(page.text)
    # an empty statement: a clear message, nothing stored
    r = client.post(f"/w/{code}/statements", data={"_form": form_token(page.text), "text": "  "})
    assert r.status_code == 422 and "Skriv något först" in r.text
    # a second phone supports it
    with TestClient(create_app(settings)) as other:
        p2 = other.get(f"/w/{code}")
        p2 = other.post(f"/w/{code}/join", data={"_form": form_token(p2.text)})
        r = other.post(f"/w/{code}/statements/{sid}/support", data={"_form": form_token(p2.text)})
        assert "Du håller med (1)" in r.text
        assert "Sara" in r.text  # the nickname is shown in the room
        # another person's statement cannot be edited by them
        r = other.post(f"/w/{code}/statements/{sid}/edit", data={"_form": form_token(r.text), "text": "hackat"})
        assert r.status_code == 422
    # staff suggest other words; the author takes their own words back
    client.put(f"/api/workshops/{ws['id']}/statements/{sid}", json={"text": "Fler sommarjobb för unga"},
               headers=world.auth("fac_a"))
    page = client.get(f"/w/{code}")
    assert "<ins>" in page.text and "Ta tillbaka mina egna ord" in page.text
    r = client.post(f"/w/{code}/statements/{sid}/take-back", data={"_form": form_token(page.text)})
    assert "Vi vill ha  fler\nsommarjobb</blockquote>" in r.text
    # review: vote with the buttons
    client.post(f"/api/workshops/{ws['id']}/review", headers=world.auth("fac_a"))
    page = client.get(f"/w/{code}")
    assert "Dags att godkänna" in page.text and 'name="vote" value="approve"' in page.text
    r = client.post(f"/w/{code}/statements/{sid}/vote", data={"_form": form_token(page.text), "vote": "approve"})
    assert "Du godkände texten." in r.text
    # a form without the signed token is refused
    r = client.post(f"/w/{code}/statements/{sid}/vote", data={"vote": "object"})
    assert r.status_code == 400
    closed = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a")).json()
    assert closed == {"released": [sid]}  # 1 of 2 approved, no objection
    page = client.get(f"/w/{code}")
    assert "Workshopen är slut" in page.text and "Inget svar än" in page.text
    assert raw_rows(settings, "SELECT count(*) AS n FROM workshop_participant")[0]["n"] == 0


def test_room_speaks_arabic_right_to_left(client, world):
    ws = workshop(client, world)
    page = client.get(f"/w/{ws['code']}?lang=ar")
    assert 'dir="rtl"' in page.text and "اسم مستعار" in page.text


def test_unknown_code_is_a_404(client, world):
    assert client.get("/w/XXXXXX").status_code == 404
    assert client.post("/api/public/workshops/XXXXXX/participants", json={}).status_code == 404


def test_facilitator_runs_a_workshop_in_the_browser(client, world):
    login(client, world.emails["fac_a"])
    page = client.get("/workshops/new")
    assert page.status_code == 200
    form = {"_csrf": csrf_of(page.text), "unit": "unit-a", "title": "Din röst", "date": "2026-11-02",
            "place": "Träffpunkten", "themes": "Jobb\nSkola", "c_women": "4", "c_men": "3", "c_age_16_19": "5"}
    r = client.post("/workshops/new", data=form)
    assert r.status_code == 422 and "neutral" in r.text.lower()
    r = client.post("/workshops/new", data={**form, "c_men": "-1", "neutral_place": "yes"})
    assert r.status_code == 422 and 'href="#c_men"' in r.text
    r = client.post("/workshops/new", data={**form, "neutral_place": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    wid = int(r.headers["location"].rsplit("/", 1)[1])
    assert client.post("/workshops/new", data={**form, "neutral_place": "yes", "_csrf": "x"}).status_code == 403
    control = client.get(f"/workshops/{wid}")
    assert control.status_code == 200 and "Din röst" in control.text
    code = re.search(r'class="code">([A-Z0-9]+)<', control.text).group(1)
    r = client.post(f"/workshops/{wid}/add", data={"_csrf": csrf_of(control.text), "text": "Jag vill plugga",
                                                         "theme": "Skola"}, follow_redirects=False)
    assert r.status_code == 303
    control = client.get(f"/workshops/{wid}")
    [sid] = _ids(control.text)
    r = client.post(f"/workshops/{wid}/statements/{sid}", data={"_csrf": csrf_of(control.text),
                                                                "text": "Jag vill plugga vidare", "themes": "Skola"})
    control = client.get(f"/workshops/{wid}")
    assert "<ins>vidare</ins>" in control.text.replace("<ins> vidare</ins>", "<ins>vidare</ins>") or \
        "vidare</ins>" in control.text
    # A refused change shows the control page again with the reason; a good one goes back to the statement.
    token = csrf_of(control.text)
    r = client.post(f"/workshops/{wid}/statements/{sid}", data={"_csrf": token, "themes": "Rymden"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html") and "Rymden" in r.text
    r = client.post(f"/workshops/{wid}/statements/{sid}/screen", data={"_csrf": token, "screen": "nope"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Jag vill plugga vidare" in client.get(f"/workshops/{wid}/screen").text
    r = client.post(f"/workshops/{wid}/statements/{sid}/screen", data={"_csrf": token, "screen": "hidden"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/workshops/{wid}#s-{sid}"
    assert "Jag vill plugga vidare" not in client.get(f"/workshops/{wid}/screen").text
    screen = client.get(f"/workshops/{wid}/screen")
    assert screen.status_code == 200 and "<svg" in screen.text and code in screen.text
    assert "style=" not in screen.text and "<script>" not in screen.text
    assert 'src="/static/room.js"' in screen.text
    # close without review: refused with a message
    r = client.post(f"/workshops/{wid}/close", data={"_csrf": csrf_of(control.text), "confirm": "yes"})
    assert r.status_code == 409
    client.post(f"/workshops/{wid}/review", data={"_csrf": csrf_of(control.text)})
    r = client.post(f"/workshops/{wid}/close", data={"_csrf": csrf_of(control.text), "confirm": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303
    summary = client.get(f"/workshops/{wid}/summary")
    assert summary.status_code == 200 and "Träffpunkten" not in summary.text  # place type only
    assert "<td>4</td>" in summary.text and "Jag vill plugga" not in summary.text  # nobody approved it
    assert client.get("/workshops").status_code == 200


def test_process_leader_answers_in_the_browser(client, world):
    from .helpers import vote, write

    ws = workshop(client, world)
    p = join(client, ws["code"])
    sid = write(client, ws["code"], p, "Mer stöd vid ansökan")
    client.post(f"/api/workshops/{ws['id']}/review", headers=world.auth("fac_a"))
    vote(client, ws["code"], p, sid, "approve")
    client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    login(client, world.emails["pl_a"])
    page = client.get("/workshops/answers")
    assert "Mer stöd vid ansökan" in page.text
    r = client.post(f"/statements/{sid}/response", data={"_csrf": csrf_of(page.text), "status": "done",
                                                         "text": "Vi har öppnat en drop-in på tisdagar."},
                    follow_redirects=False)
    assert r.status_code == 303
    fb = client.get(f"/w/{ws['code']}")
    assert "Gjort" in fb.text and "drop-in på tisdagar" in fb.text


def test_answer_without_a_status_shows_the_form_again(client, world):
    login(client, world.emails["pl_a"])
    page = client.get("/workshops/answers")
    r = client.post("/statements/abc/response", data={"_csrf": csrf_of(page.text), "text": "hej"})
    assert r.status_code == 422 and "Välj ett läge." in r.text
