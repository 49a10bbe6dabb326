"""Issue 25, item 6 (disk), in the workshop room: a statement typed on a phone when the disk is full
comes back in the form with a 503 "try again", not a 500 that loses it."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.conftest import raw_rows
from tests.survey.test_full_disk import SAVE_FAILED, full_disk
from tests.youthvoice.test_auth import form_token
from youthvoice.app import create_app
from youthvoice.i18n import gettext

from .helpers import join, workshop

TEXT = "Fler sommarjobb för oss som är 16"


def statements(settings) -> int:
    return raw_rows(settings, "SELECT count(*) AS n FROM workshop_statement")[0]["n"]


def test_a_full_disk_keeps_the_statement_in_the_phones_form(client, world, settings):
    ws = workshop(client, world)
    room = f"/w/{ws['code']}"
    r = client.post(f"{room}/join", data={"_form": form_token(client.get(room).text), "nickname": "Sam"},
                    follow_redirects=False)
    assert r.status_code == 303
    api_phone = join(client, ws["code"])
    with full_disk(settings, "workshop_statement"), \
            TestClient(create_app(settings), raise_server_exceptions=False, cookies=client.cookies) as phone:
        token = form_token(phone.get(room).text)
        r = phone.post(f"{room}/statements?lang=en", data={"_form": token, "text": TEXT}, follow_redirects=False)
        assert r.status_code == 503, (r.status_code, r.text[:300])
        assert int(r.headers["retry-after"]) > 0
        assert SAVE_FAILED in r.text and f">{TEXT}</textarea>" in r.text
        r = phone.post(f"{room}/statements?lang=sv", data={"_form": token, "text": TEXT}, follow_redirects=False)
        assert r.status_code == 503 and gettext("sv", SAVE_FAILED) in r.text and f">{TEXT}</textarea>" in r.text
        r = phone.post(f"/api/public/workshops/{ws['code']}/statements", json={"text": TEXT}, headers=api_phone)
        assert r.status_code == 503 and r.json()["status_code"] == 503 and int(r.headers["retry-after"]) > 0
    assert statements(settings) == 0
    # Room on the disk again: the same form, sent again, is written.
    with TestClient(create_app(settings), cookies=client.cookies) as phone:
        r = phone.post(f"{room}/statements", data={"_form": token, "text": TEXT}, follow_redirects=False)
        assert r.status_code == 303
    assert statements(settings) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_disk_that_fills_at_the_commit_also_keeps_the_statement(client, world, settings):
    """PostgreSQL refuses only at the commit (a deferred trigger), as SQLite does when its log cannot grow."""
    ws = workshop(client, world)
    room = f"/w/{ws['code']}"
    r = client.post(f"{room}/join", data={"_form": form_token(client.get(room).text)}, follow_redirects=False)
    assert r.status_code == 303
    with full_disk(settings, "workshop_statement", at_commit=True), \
            TestClient(create_app(settings), raise_server_exceptions=False, cookies=client.cookies) as phone:
        token = form_token(phone.get(room).text)
        r = phone.post(f"{room}/statements", data={"_form": token, "text": TEXT}, follow_redirects=False)
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0, (r.status_code, r.text[:300])
        assert gettext("sv", SAVE_FAILED) in r.text and f">{TEXT}</textarea>" in r.text
    assert statements(settings) == 0
