"""Closing the loop (issue 18): an answer with a history, replies from the young people with their
personal reply code, an e-mail nudge through a real SMTP server on loopback, the promised date as a
calendar file, and links to earlier statements on the same theme."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import email
import email.policy
import io
import json
import re
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from icalendar import Calendar
from litestar.testing import TestClient
from sqlalchemy import text as sql_text

from tests.conftest import raw_rows, run_db
from tests.youthvoice.test_auth import csrf_of, form_token, login
from youthvoice.app import create_app
from youthvoice.i18n import gettext
from youthvoice.migrate import alembic_config, upgrade

from .helpers import on_day, vote, workshop

AR_ANSWER = "تلقينا ما قلتموه وسنعود إليكم."
SV_ANSWER = "Vi har tagit emot det ni sa."


def closed_room(client, world, text="Fler praktikplatser på kvällstid", lang="ar", themes=None, **kw):
    """A workshop whose one statement was approved and released; the phone joined reading `lang`."""
    ws = workshop(client, world, **({"themes": themes} if themes else {}), **kw)
    r = client.post(f"/api/public/workshops/{ws['code']}/participants?lang={lang}", json={})
    assert r.status_code == 201
    token = r.json()["participant_token"]
    p = {"Authorization": f"Bearer {token}"}
    r = client.post(f"/api/public/workshops/{ws['code']}/statements", headers=p,
                    json={"text": text, "themes": [(themes or ["Jobb"])[0]]})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    client.post(f"/api/workshops/{ws['id']}/review", headers=world.auth("fac_a"))
    vote(client, ws["code"], p, sid, "approve")
    r = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    assert r.json()["released"] == [sid]
    return ws, sid, token


def respond(client, world, sid, **body):
    r = client.post(f"/api/statements/{sid}/response", json=body, headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    return r.json()


def _positions(html: str, *needles: str) -> list[int]:
    pos = [html.find(n) for n in needles]
    assert all(p >= 0 for p in pos), [n for n, p in zip(needles, pos) if p < 0]
    return pos


def test_two_responses_and_a_milestone_in_order_with_dates_in_swedish_and_arabic(client, world, monkeypatch):
    ws, sid, _ = closed_room(client, world)
    d1, d2, d3 = dt.date(2026, 10, 20), dt.date(2026, 11, 3), dt.date(2026, 11, 24)
    on_day(monkeypatch, d1)
    respond(client, world, sid, status="received", text=SV_ANSWER, texts={"ar": AR_ANSWER})
    on_day(monkeypatch, d2)
    r = client.post(f"/api/statements/{sid}/milestones", headers=world.auth("pl_a"),
                    json={"text": "Vi träffade arbetsgivarna.", "texts": {"ar": "التقينا بأصحاب العمل."}})
    assert r.status_code == 201, r.text
    on_day(monkeypatch, d3)
    body = respond(client, world, sid, status="considering", text="Tre företag vill prova kvällar.",
                   texts={"ar": "ثلاث شركات تريد تجربة المساء."}, next_update_by="2027-01-15")
    # The contract's fields still say the latest; the history keeps all three, oldest first.
    assert body["status"] == "considering" and body["response"] == "Tre företag vill prova kvällar."
    assert [(h["kind"], h["on"]) for h in body["history"]] == [
        ("response", "2026-10-20"), ("milestone", "2026-11-03"), ("response", "2026-11-24")]
    assert body["responses"]["ar"] == "ثلاث شركات تريد تجربة المساء."
    fb = client.get(f"/api/public/workshops/{ws['code']}/feedback").json()["statements"][0]
    assert fb["status"] == "considering" and len(fb["history"]) == 3 and fb["next_update_by"] == "2027-01-15"

    for path in (f"/w/{ws['code']}", "/u/unit-a"):
        sv = client.get(f"{path}?lang=sv").text
        a, b, c = _positions(sv, SV_ANSWER, "Vi träffade arbetsgivarna.", "Tre företag vill prova kvällar.")
        assert a < b < c, path
        _positions(sv, '<time datetime="2026-10-20">', '<time datetime="2026-11-03">',
                   '<time datetime="2026-11-24">', '<time datetime="2027-01-15">')
        assert sv.index('datetime="2026-10-20"') < sv.index('datetime="2026-11-03"') < sv.index('datetime="2026-11-24"')
        # Each language writes the date its own way (Babel): Swedish in words, Dari in Persian digits.
        assert "20 oktober 2026" in sv and "15 januari 2027" in sv
        assert "۲۰ اکتوبر ۲۰۲۶" in client.get(f"{path}?lang=prs").text
        _positions(sv, gettext("sv", "A step on the way"), gettext("sv", "Being considered"),
                   gettext("sv", "Next update promised by"))
        assert AR_ANSWER not in sv
        ar = client.get(f"{path}?lang=ar").text
        assert 'dir="rtl"' in ar
        a, b, c = _positions(ar, AR_ANSWER, "التقينا بأصحاب العمل.", "ثلاث شركات تريد تجربة المساء.")
        assert a < b < c, path
        _positions(ar, gettext("ar", "A step on the way"), gettext("ar", "Next update promised by"))
        assert SV_ANSWER not in ar
        # The English reader gets the Swedish text, marked as Swedish for the screen reader.
        en = client.get(f"{path}?lang=en").text
        assert f'<p lang="sv" dir="auto">{SV_ANSWER}</p>' in en
    # Nothing was overwritten: three entries in the database.
    assert len(raw_rows(world.settings, f"SELECT id FROM workshop_statement_entry WHERE statement_id = '{sid}'")) == 3


def test_the_room_languages_give_the_process_leader_one_field_each(client, world):
    ws, sid, _ = closed_room(client, world, lang="ar")
    login(client, world.emails["pl_a"])
    page = client.get("/workshops/answers").text
    assert 'name="text_ar"' in page and 'name="text"' in page and 'name="text_en"' not in page
    r = client.post(f"/statements/{sid}/response", follow_redirects=False, data={
        "_csrf": csrf_of(page), "status": "received", "text": SV_ANSWER, "text_ar": AR_ANSWER})
    assert r.status_code == 303
    assert AR_ANSWER in client.get(f"/w/{ws['code']}?lang=ar").text


def test_a_broken_promise_shows_on_the_staff_pages_and_the_feedback_page(client, world, monkeypatch):
    ws, sid, _ = closed_room(client, world)
    on_day(monkeypatch, dt.date(2026, 11, 1))
    respond(client, world, sid, status="considering", text="Vi återkommer.", next_update_by="2026-11-30")
    login(client, world.emails["pl_a"])
    late = gettext("sv", "Promised updates that are late")
    assert late not in client.get("/workshops/answers").text and late not in client.get("/").text
    on_day(monkeypatch, dt.date(2026, 12, 1))
    answers = client.get("/workshops/answers").text
    assert late in answers and f'href="/workshops/answers#s-{sid}"' in answers
    home = client.get("/").text
    assert late in home and f"/workshops/answers#s-{sid}" in home and "30 november 2026" in home
    fb = client.get(f"/w/{ws['code']}").text
    assert gettext("sv", "The date has passed without an update.") in fb and gettext("sv", "not kept") in fb
    # An update clears the list; the old promise is shown as not kept, the new one is open.
    respond(client, world, sid, status="considering", text="Nu har vi svar från två företag.")
    assert late not in client.get("/workshops/answers").text
    # A promise kept in time says so.
    on_day(monkeypatch, dt.date(2026, 12, 2))
    respond(client, world, sid, status="considering", text="Möte bokat.", next_update_by="2026-12-20")
    on_day(monkeypatch, dt.date(2026, 12, 18))
    respond(client, world, sid, status="done", text="Kvällspraktik startar i januari.")
    fb = client.get(f"/w/{ws['code']}").text
    assert gettext("sv", "kept") + "</p>" in fb.replace("\n", "").replace("  ", "")


def test_a_promised_date_in_the_past_is_refused(client, world):
    _, sid, _ = closed_room(client, world)
    r = client.post(f"/api/statements/{sid}/response", headers=world.auth("pl_a"),
                    json={"status": "considering", "next_update_by": "2001-01-01"})
    assert r.status_code == 422 and "next_update_by" in r.text
    assert raw_rows(world.settings, "SELECT id FROM workshop_statement_entry") == []


def _reply_code(html: str) -> str:
    return re.search(r'class="code">([A-Z0-9]{4}-[A-Z0-9]{4})<', html).group(1)


def test_a_reply_through_the_feedback_page_reaches_the_process_leader(client, world, settings):
    ws, sid, token = closed_room(client, world, lang="sv")
    respond(client, world, sid, status="considering", text="Vi tittar på det.")
    # The phone that was in the room still has its cookie: its personal reply code is shown.
    phone = TestClient(client.app)
    with phone:
        # as the room sets it: the token, then the personal rejoin code
        phone.cookies.set("yv_w", f"{token}.K7PQ-2M4X", path=f"/w/{ws['code']}")
        page = phone.get(f"/w/{ws['code']}")
        code = _reply_code(page.text)
        assert gettext("sv", "Your personal reply code:") in page.text
        r = phone.post(f"/w/{ws['code']}/replies/{sid}", follow_redirects=False, data={
            "_form": form_token(page.text), "kind": "not_satisfied", "reply_code": code,
            "text": "Vi menade kvällar efter 18. Ring Sara på 070-123 45 67"})
        assert r.status_code == 303, r.text
    # Someone with the workshop code but without a reply code (a fresh phone) is refused.
    stranger = TestClient(client.app)
    with stranger:
        page = stranger.get(f"/w/{ws['code']}")
        assert 'class="code"' not in page.text
        for wrong in ("", "ACDE-FHJK"):
            r = stranger.post(f"/w/{ws['code']}/replies/{sid}", data={
                "_form": form_token(page.text), "kind": "agree", "reply_code": wrong, "text": "Vi håller med"})
            assert r.status_code == 403 and gettext("sv", FEEDBACK_REFUSED) in r.text
        r = stranger.post(f"/api/public/workshops/{ws['code']}/statements/{sid}/replies",
                          json={"reply_code": "ACDE-FHJK", "kind": "agree"})
        assert r.status_code == 401
    replies = raw_rows(settings, "SELECT texts, reply_kind, author_role FROM workshop_statement_entry WHERE kind = 'reply'")
    assert len(replies) == 1 and replies[0]["reply_kind"] == "not_satisfied"
    said = json.loads(replies[0]["texts"]) if isinstance(replies[0]["texts"], str) else replies[0]["texts"]
    # The survey scrubber removes the phone number (names are its other engineer's work in progress).
    assert "070-123" not in said["sv"] and said["sv"].startswith("Vi menade kvällar efter 18.")
    # The process leader sees it in the statement's history.
    login(client, world.emails["pl_a"])
    answers = client.get("/workshops/answers").text
    assert gettext("sv", "We are not satisfied") in answers and "Vi menade kvällar efter 18" in answers
    assert "070-123 45 67" not in answers
    # And it is on the public timeline too; the code works through the JSON API as well.
    assert "Vi menade kvällar efter 18" in client.get(f"/w/{ws['code']}").text
    r = client.post(f"/api/public/workshops/{ws['code']}/statements/{sid}/replies",
                    json={"reply_code": code.lower().replace("-", " "), "kind": "agree", "text": "Bra!"})
    assert r.status_code == 201 and r.json()["history"][-1]["reply_kind"] == "agree"
    r = client.get(f"/api/public/workshops/{ws['code']}/reply-code", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"reply_code": code}


FEEDBACK_REFUSED = "That is not a reply code from this workshop. Check the code you saved when the workshop ended."


def test_not_possible_says_where_to_turn(client, world, settings):
    ws, sid, _ = closed_room(client, world)
    respond(client, world, sid, status="not_possible", text="Det går inte i år.", contact="Ali på Ung i Alingsås, 0322-61 60 00")
    for lang in ("sv", "ar"):
        page = client.get(f"/w/{ws['code']}?lang={lang}").text
        assert gettext(lang, "To complain to the municipality:") in page and "Ali på Ung i Alingsås" in page
    app = create_app(dataclasses.replace(settings, complaint_route="https://alingsas.se/synpunkter"))
    with TestClient(app) as other:
        assert 'href="https://alingsas.se/synpunkter"' in other.get("/u/unit-a").text


def test_the_promised_date_as_a_calendar_file(client, world):
    ws, sid, _ = closed_room(client, world)
    assert client.get(f"/w/{ws['code']}/calendar/{sid}").status_code == 404  # nothing promised yet
    respond(client, world, sid, status="considering", text="Vi återkommer.", next_update_by="2099-03-14")
    page = client.get(f"/w/{ws['code']}").text
    assert f'/w/{ws["code"]}/calendar/{sid}' in page
    r = client.get(f"/w/{ws['code']}/calendar/{sid}?lang=ar")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    ev = events[0]
    assert ev.decoded("dtstart") == dt.date(2099, 3, 14) and ev.decoded("dtend") == dt.date(2099, 3, 15)
    assert ws["code"] in str(ev["url"]) and str(ev["uid"])
    assert gettext("ar", "Promised answer: %(title)s") % {"title": "Vad behöver unga i Alingsås?"} == str(ev["summary"])


def test_a_statement_links_to_an_earlier_one_on_the_same_theme(client, world):
    _, old_sid, _ = closed_room(client, world, text="Mer praktik i våras", date="2026-04-02")
    ws, sid, _ = closed_room(client, world, text="Praktik igen, tack")
    _, other_sid, _ = closed_room(client, world, text="Bättre bussar", themes=["Fritid"], date="2026-03-01")
    login(client, world.emails["pl_a"])
    page = client.get("/workshops/answers").text
    form = page[page.index(f'action="/statements/{sid}/earlier"'):]
    form = form[:form.index("</form>")]
    assert old_sid in form and other_sid not in form  # same theme only, earlier workshops only
    r = client.post(f"/statements/{sid}/earlier", data={"_csrf": csrf_of(page), "earlier": other_sid})
    assert r.status_code == 422
    r = client.post(f"/statements/{sid}/earlier", data={"_csrf": csrf_of(page), "earlier": old_sid},
                    follow_redirects=False)
    assert r.status_code == 303
    fb = client.get(f"/w/{ws['code']}").text
    assert gettext("sv", "We asked for this before too:") in fb and "Mer praktik i våras" in fb
    assert "Mer praktik i våras" in client.get("/u/unit-a").text
    api = client.get(f"/api/public/workshops/{ws['code']}/feedback").json()["statements"][0]
    assert [e["id"] for e in api["earlier"]] == [old_sid]


def test_without_smtp_the_address_is_not_asked_for(client, world):
    ws, sid, _ = closed_room(client, world)
    page = client.get(f"/w/{ws['code']}").text
    assert 'name="email"' not in page
    r = client.post(f"/w/{ws['code']}/follow/{sid}", data={"_form": form_token(page), "email": "a@example.se"})
    assert r.status_code == 404
    assert raw_rows(world.settings, "SELECT id FROM workshop_subscription") == []


# ---------- a real SMTP server on loopback ----------

class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback (aiosmtpd checks its own port after start)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_client(settings, smtp):
    _, port = smtp
    s = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}", mail_from="svar@kommunen.example",
                            base_url="http://youthvoice.test")
    with TestClient(create_app(s)) as c:
        yield c


def _wait_for(inbox: Inbox, n: int, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while len(inbox.messages) < n and time.monotonic() < end:
        time.sleep(0.05)


def _follow(c, ws, sid, address: str, lang: str):
    page = c.get(f"/w/{ws['code']}?lang={lang}").text
    assert 'name="email"' in page
    r = c.post(f"/w/{ws['code']}/follow/{sid}?lang={lang}", data={"_form": form_token(page), "email": address})
    assert r.status_code == 200 and gettext(lang, "Thank you. You will get an e-mail when something new happens with "
                                                  "this statement.") in r.text
    return r


def test_one_message_in_arabic_with_a_working_unsubscribe_link(mail_client, world, smtp, settings):
    inbox, _ = smtp
    c = mail_client
    ws, sid, _ = closed_room(c, world)
    bad = c.get(f"/w/{ws['code']}").text
    r = c.post(f"/w/{ws['code']}/follow/{sid}", data={"_form": form_token(bad), "email": "inte en adress"})
    assert r.status_code == 422 and gettext("sv", "Write an e-mail address like name@example.se.") in r.text
    _follow(c, ws, sid, "ung.person@example.org", "ar")
    row = raw_rows(settings, "SELECT * FROM workshop_subscription")
    assert len(row) == 1 and "ung.person" not in str(row) and row[0]["lang"] == "ar"  # sealed at rest
    respond(c, world, sid, status="considering", text=SV_ANSWER, texts={"ar": AR_ANSWER})
    _wait_for(inbox, 1)
    time.sleep(0.5)
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "ung.person@example.org" and msg["From"] == "svar@kommunen.example"
    assert msg["Content-Language"] == "ar"
    assert msg["Subject"] == gettext("ar", "News about your statement: %(title)s") % {"title": ws_title()}
    body = msg.get_content()
    assert gettext("ar", "Being considered") in body and "Fler praktikplatser" in body
    link = re.search(r"http://youthvoice\.test(/w/\S+/unsubscribe/\S+)", body).group(1)
    assert msg["List-Unsubscribe"] == f"<http://youthvoice.test{link}>"
    page = c.get(link)
    assert page.status_code == 200 and gettext("ar", "Delete my address") in page.text
    assert len(raw_rows(settings, "SELECT id FROM workshop_subscription")) == 1  # opening the link alone keeps it
    r = c.post(link.split("?")[0], data={"_form": form_token(page.text)})
    assert r.status_code == 200 and gettext("ar", "Done. Your e-mail address is deleted and you get no more messages.") in r.text
    assert raw_rows(settings, "SELECT id FROM workshop_subscription") == []
    respond(c, world, sid, status="done", text="Klart.")
    time.sleep(1.0)
    assert len(inbox.messages) == 1
    # Unsubscribing twice says the same; a forged link is not a link.
    assert c.post(link.split("?")[0]).status_code == 200
    assert c.post(f"/w/{ws['code']}/unsubscribe/{'0' * 32}.{'0' * 32}").status_code == 404
    assert c.get(f"/w/{ws['code']}/unsubscribe/{'0' * 32}.{'0' * 32}").status_code == 404


def ws_title() -> str:
    return "Vad behöver unga i Alingsås?"


def _database_bytes(settings) -> bytes:
    """Every byte the database keeps on disk: SQLite's file and WAL, or (after a CHECKPOINT) every file
    of this PostgreSQL database — tables, indexes and TOAST."""
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    async def files(db):
        await db.execute(sql_text("CHECKPOINT"))
        base = Path((await db.execute(sql_text("SHOW data_directory"))).scalar_one())
        oid = (await db.execute(sql_text("SELECT oid FROM pg_database WHERE datname = current_database()"))).scalar_one()
        return b"".join(p.read_bytes() for p in sorted((base / "base" / str(oid)).iterdir()) if p.is_file())

    try:
        return run_db(settings, files)
    except PermissionError:
        pytest.skip("the database server's files are not readable from this test")


def test_after_the_final_answer_and_the_reply_window_no_trace_of_the_address(mail_client, world, smtp, settings,
                                                                             monkeypatch):
    inbox, _ = smtp
    c = mail_client
    ws, sid, _ = closed_room(c, world)
    address = "spar.mig.inte@example.org"
    _follow(c, ws, sid, address, "sv")
    sealed = raw_rows(settings, "SELECT address FROM workshop_subscription")[0]["address"]
    before = _database_bytes(settings)
    assert sealed.encode() in before and address.encode() not in before  # sealed at rest, and the test sees it
    on_day(monkeypatch, dt.date(2026, 11, 2))
    respond(c, world, sid, status="done", text="Klart: kvällspraktik från januari.")
    _wait_for(inbox, 1)
    assert len(inbox.messages) == 1 and inbox.messages[0]["Content-Language"] == "sv"
    # Final, but the reply window is open: the address is still kept (the young person may still
    # hear about a correction), and the option is no longer offered.
    on_day(monkeypatch, dt.date(2026, 11, 20))
    assert 'name="email"' not in c.get(f"/w/{ws['code']}").text
    assert len(raw_rows(settings, "SELECT id FROM workshop_subscription")) == 1
    on_day(monkeypatch, dt.date(2026, 12, 3))  # 30 days later
    assert c.get(f"/w/{ws['code']}").status_code == 200
    assert raw_rows(settings, "SELECT id FROM workshop_subscription") == []
    raw = _database_bytes(settings)
    for needle in (address.encode(), address.encode("utf-16-le"), sealed.encode(), sealed[:40].encode()):
        assert needle not in raw


def test_the_export_counts_the_history_and_the_promise(client, world):
    _, sid, _ = closed_room(client, world)
    respond(client, world, sid, status="received", text="Tack.")
    respond(client, world, sid, status="considering", text="Vi tittar på det.", next_update_by="2099-02-01")
    r = client.get("/api/exports/units/unit-a/statements.csv?lang=sv", headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    text = r.text.lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text), delimiter=csv.Sniffer().sniff(text.splitlines()[0]).delimiter))[:2]
    cells = dict(zip(header, row))
    assert cells[gettext("sv", "Answers and steps")] == "2"
    assert cells[gettext("sv", "Replies from the young people")] == "0"
    assert cells[gettext("sv", "Next update promised by")] == "2099-02-01"


def test_milestones_and_promises_from_the_answers_page(client, world):
    ws, sid, _ = closed_room(client, world)
    login(client, world.emails["pl_a"])
    page = client.get("/workshops/answers").text
    r = client.post(f"/statements/{sid}/milestone", data={"_csrf": csrf_of(page), "text": "Möte med arbetsgivare.",
                                                          "on": "2099-01-01"})
    assert r.status_code == 422 and gettext("sv", "A milestone is something that has happened: today or earlier.") in r.text
    r = client.post(f"/statements/{sid}/milestone", data={"_csrf": csrf_of(page), "text": "Möte", "on": "igår"})
    assert r.status_code == 422 and gettext("sv", "Write the date as YYYY-MM-DD.") in r.text
    r = client.post(f"/statements/{sid}/milestone", data={"_csrf": csrf_of(page), "text": ""})
    assert r.status_code == 422 and gettext("sv", "Write what happened.") in r.text
    assert raw_rows(world.settings, "SELECT id FROM workshop_statement_entry") == []
    r = client.post(f"/statements/{sid}/milestone", follow_redirects=False, data={
        "_csrf": csrf_of(page), "text": "Möte med arbetsgivare.", "next_update_by": "2099-05-01"})
    assert r.status_code == 303
    fb = client.get(f"/w/{ws['code']}").text
    assert "Möte med arbetsgivare." in fb and '<time datetime="2099-05-01">' in fb
    # A facilitator may read the answers page but not answer.
    login(client, world.emails["fac_a"])
    page = client.get("/workshops/answers").text
    assert f'action="/statements/{sid}/milestone"' not in page
    r = client.post(f"/statements/{sid}/milestone", data={"_csrf": csrf_of(page), "text": "x"})
    assert r.status_code == 403


def test_the_migration_keeps_answers_given_before_the_history(tmp_path):
    """An answer saved before this revision becomes the first entry of its statement's history."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "workshops_0001")
    command.upgrade(alembic_config(url), "heads")  # every other branch, so only this revision is left
    command.downgrade(alembic_config(url), "workshops_0001")
    with sqlite3.connect(path) as c:
        c.execute("INSERT INTO agreement (id, slug, name, targets) VALUES (1, 'a', 'A', '{}')")
        c.execute("INSERT INTO unit (id, slug, name, agreement_id, retention_months, release_min_share) "
                  "VALUES (1, 'u', 'U', 1, 36, 0.5)")
        c.execute("INSERT INTO workshop (id, unit_id, code, title, date, place, neutral_place, status, themes, "
                  "composition, joined, feedback_months, closed_on, version, next_seq) VALUES "
                  "(1, 1, 'ACDEFH', 'T', '2026-01-10', 'P', 1, 'closed', '[]', '{}', 3, 12, '2026-01-10', 1, 1)")
        c.execute("INSERT INTO workshop_statement (id, workshop_id, seq, text, themes, released, response_status, "
                  "response_text, response_on) VALUES ('s1', 1, 1, 'Mer praktik', '[]', 1, 'done', 'Klart!', '2026-02-01')")
    upgrade(url)
    with sqlite3.connect(path) as c:
        rows = c.execute('SELECT kind, status, texts, "on", unit_id FROM workshop_statement_entry').fetchall()
    assert rows == [("response", "done", '{"sv": "Klart!"}', "2026-02-01", 1)]


def test_replies_and_rejoins_are_rate_limited(client, world, settings, still_clock):
    """Guessing reply codes or rejoin codes meets the per-address limit (these limits were once
    called without being awaited, so they never counted)."""
    ws, sid, _ = closed_room(client, world)
    strict = dataclasses.replace(settings, submit_rate=3)
    with TestClient(create_app(strict)) as c:
        got = [c.post(f"/api/public/workshops/{ws['code']}/statements/{sid}/replies",
                      json={"reply_code": "ACDE-FHJK", "kind": "agree"}).status_code for _ in range(5)]
        assert got[0] == 401 and got[-2:] == [429, 429], got
        room = workshop(c, world)
        page = c.get(f"/w/{room['code']}")
        tries = [c.post(f"/w/{room['code']}/rejoin", data={"_form": form_token(page.text), "rejoin": "ACDEF"}).status_code
                 for _ in range(5)]
        assert tries[0] != 429 and tries[-1] == 429, tries
