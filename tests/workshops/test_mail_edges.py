"""Issue 25, item 6 (mail): one bad subscriber address aborted the nudge for everyone following that
statement, and the 100 subscriptions a statement takes could be filled from one or two addresses."""

from __future__ import annotations

import collections
import dataclasses
import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import TestClient

from tests.conftest import raw_rows, run_db
from tests.youthvoice.test_auth import form_token
from youthvoice import mail as youthvoice_mail
from youthvoice.app import create_app
from youthvoice.i18n import gettext

from .test_loop import _follow, closed_room, respond

GONE = "finns.inte.langre@example.org"
LATER = "gralistad@example.org"
GOOD = [f"ung{i}@example.org" for i in range(4)]


class PickyServer:
    """A real SMTP server on loopback that refuses one recipient for good (550) and asks another to
    come back later (451) the first time it is named."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.tries: collections.Counter[str] = collections.Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries[address] += 1
        if address == GONE:
            return "550 5.1.1 No such mailbox here"
        if address == LATER and self.tries[address] == 1:
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def picky():
    handler = PickyServer()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def picky_client(settings, picky, monkeypatch):
    monkeypatch.setattr(youthvoice_mail, "RETRY_PAUSE", 0.05, raising=False)
    s = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{picky[1]}", mail_from="svar@kommunen.example",
                            base_url="http://youthvoice.test")
    with TestClient(create_app(s)) as c:
        yield c


def _put_first(settings, address: str) -> None:
    """Makes `address` the first subscriber the nudge goes to (they are sent in id order)."""
    rows = raw_rows(settings, "SELECT id, address FROM workshop_subscription")
    old = next(r["id"] for r in rows if youthvoice_mail.unseal(settings.secret_key, r["address"]) == address)

    async def move(db):
        from sqlalchemy import text

        await db.execute(text("UPDATE workshop_subscription SET id = :new WHERE id = :old"),
                         {"new": "0" * 32, "old": old})
        await db.commit()

    run_db(settings, move)


def test_one_refused_address_does_not_stop_the_nudge_for_the_others(picky_client, picky, world, settings):
    server, _ = picky
    c = picky_client
    ws, sid, _ = closed_room(c, world)
    for address in [GONE, LATER, *GOOD]:
        _follow(c, ws, sid, address, "sv")
    _put_first(settings, GONE)  # first in line: before, its refusal ended the whole sending
    respond(c, world, sid, status="considering", text="Vi tittar på det.")
    end = time.monotonic() + 15
    while len(server.messages) < 5 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.3)
    assert sorted(m["To"] for m in server.messages) == sorted([LATER, *GOOD])
    assert server.tries[GONE] == 1  # refused for good: not tried again
    assert server.tries[LATER] == 2  # asked to come back: tried again, on its own


def _from_addresses(c: TestClient) -> None:
    """Lets a request name the client address it comes from (`X-Test-Client`), as the server sees it."""
    app = c.app

    async def with_client(scope, receive, send):
        if scope["type"] == "http":
            ip = dict(scope["headers"]).get(b"x-test-client")
            if ip:
                scope = {**scope, "client": (ip.decode(), 50000)}
        await app(scope, receive, send)

    c.app = with_client


def test_one_or_two_addresses_cannot_fill_a_statements_subscriptions(picky_client, world, settings, still_clock,
                                                                      monkeypatch):
    from workshops import subscriptions

    c = picky_client
    ws, sid, _ = closed_room(c, world)
    _from_addresses(c)
    url = f"/w/{ws['code']}/follow/{sid}"
    token = form_token(c.get(f"/w/{ws['code']}").text)
    thanks = gettext("sv", "Thank you. You will get an e-mail when something new happens with this statement.")
    too_many = gettext("sv", "Too many e-mail addresses were left from here for this statement today. "
                             "Try again tomorrow.")
    for ip in ("203.0.113.7", "2001:db8:1:2::7"):
        answers = [c.post(url, data={"_form": token, "email": f"spam{i}@example.org"}, headers={"x-test-client": ip})
                   for i in range(15)]
        statuses = [r.status_code for r in answers]
        # ten: a room behind one school network
        assert statuses == [200] * 10 + [429] * 5, (ip, statuses)
        assert thanks in answers[0].text
        refused = answers[-1]
        assert too_many in refused.text and f'id="e-email-{sid}"' in refused.text  # by the field, in Swedish
        assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
    # Another /64 of the same IPv6 network is the same client.
    r = c.post(url, data={"_form": token, "email": "spam@example.org"}, headers={"x-test-client": "2001:db8:1:2::8"})
    assert r.status_code == 429
    assert len(raw_rows(settings, "SELECT id FROM workshop_subscription")) == 20
    # Somebody else, from their own address, can still follow it.
    r = c.post(url, data={"_form": token, "email": "ung@example.org"}, headers={"x-test-client": "198.51.100.4"})
    assert r.status_code == 200 and thanks in r.text
    # When the statement is full, the page says so (not that the statement has its final answer).
    monkeypatch.setattr(subscriptions, "MAX_SUBSCRIPTIONS", 21)
    r = c.post(url, data={"_form": token, "email": "en.till@example.org"}, headers={"x-test-client": "198.51.100.5"})
    assert r.status_code == 409
    assert gettext("sv", "Too many people already follow this statement by e-mail. Come back to this page to "
                         "see the news.") in r.text
