"""Issue 27.7 in real Chromium: when staff reword a young person's statement, the author's phone
(320 px) shows it at once, outside the collapsed history, with the words they wrote; taking their
own words back is theirs, and the summary then says the words were not changed by staff."""

from __future__ import annotations

import re

import pytest

from .harness import login, running_server
from .journeys import PageChecks, t
from .test_room_as_lived import join, new_workshop, statement_id, write

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(browser_ready):
    with running_server() as s:
        yield s


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_the_author_sees_staffs_words_at_once_and_takes_their_own_back(server, new_page, lang):
    staff = new_page(1280, 800, js=True, locale="sv-SE")
    login(staff, server.url, "facilitator")
    ws_id, code = new_workshop(server, staff, f"Egna ord {lang}")
    phone = new_page(320, 568, js=True)
    checks = PageChecks(f"[own words {lang}]")
    join(phone, code, lang, nickname="Sam")
    write(phone, lang, "Vi vill ha fler sommarjobb")
    sid = statement_id(server, "Vi vill ha fler sommarjobb", ws_id)

    # Staff suggest other words on the facilitator page.
    staff.goto(f"/workshops/{ws_id}")
    staff.locator(f"#suggest-{sid} summary").click()
    staff.locator(f"#t-{sid}").fill("Fler sommarjobb för unga i Alingsås")
    with staff.expect_navigation():
        staff.locator(f"#suggest-{sid} button[type=submit]").click()

    # The phone updates live: the rewording is in view without opening anything.
    note = phone.locator(f"#staff-{sid}")
    note.wait_for(timeout=10_000)
    assert note.is_visible()
    assert t(lang, "Staff suggested other words for what you wrote.") in note.inner_text()
    assert "Vi vill ha fler sommarjobb" in note.inner_text()
    assert note.locator("ins").count() >= 1
    assert not phone.locator(f"#hist-{sid}").evaluate("d => d.open")  # the history stays folded
    checks.check(phone, lang)

    with phone.expect_navigation():
        phone.locator(f"#s-{sid}").get_by_role("button", name=t(lang, "Take back my own words")).click()
    assert phone.locator(f"#s-{sid} blockquote").inner_text() == "Vi vill ha fler sommarjobb"
    assert phone.locator(f"#staff-{sid}").count() == 0
    roles = [r[0] for r in server.sql("select author_role from workshop_revision where statement_id = ? "
                                       "order by number", sid)]
    assert roles == ["participant", "staff", "participant"]

    # The steering group's summary: not changed by staff.
    staff.goto(f"/workshops/{ws_id}/summary")
    html = staff.content()
    row = re.search(r"<tr><td dir=\"auto\">Vi vill ha fler sommarjobb</td>.*?</tr>", html, re.DOTALL)
    assert row, "the statement is not in the summary"
    assert f"<td>{t('sv', 'No')}</td>" in row.group(0)
    checks.assert_ok()
