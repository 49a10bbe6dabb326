"""The room in a real browser (Chromium): with JavaScript the phone shows what another
phone wrote without reloading (room.js + server-sent events); the pages pass axe at 320 px."""

from __future__ import annotations

import pytest

from tests.browser.journeys import PageChecks, t

pytestmark = pytest.mark.browser



def _open_code(server) -> str:
    rows = server.sql("select code from workshop where status = 'open' order by id limit 1")
    if not rows:
        pytest.skip("no open demo workshop")
    return rows[0][0]


def _join(page, code: str, lang: str, nickname: str = "") -> None:
    page.goto(f"/w/{code}?lang={lang}")
    if nickname:
        page.get_by_label(t(lang, "Nickname")).fill(nickname)
    page.get_by_role("button", name=t(lang, "Join")).click()
    page.get_by_label(t(lang, "What do you want to say?")).wait_for()


def test_a_phone_sees_what_another_phone_wrote_without_reloading(server, new_page):
    code = _open_code(server)
    a = new_page(320, 640, js=True)
    _join(a, code, "sv", "Nora")
    a.evaluate("window.__stayed = true")
    b = new_page(320, 640, js=False)
    _join(b, code, "sv")
    b.get_by_label(t("sv", "What do you want to say?")).fill("Hej från telefon B")
    b.get_by_role("button", name=t("sv", "Add")).click()
    b.locator("blockquote", has_text="Hej från telefon B").wait_for()
    a.locator("blockquote", has_text="Hej från telefon B").wait_for(timeout=10_000)
    assert a.evaluate("window.__stayed === true"), "the page reloaded instead of updating in place"


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_room_pages_pass_axe_on_a_small_phone(server, new_page, lang):
    code = _open_code(server)
    page = new_page(320, 640, js=True)
    checks = PageChecks(f"[workshop room {lang}]")
    page.goto(f"/w/{code}?lang={lang}")
    checks.check(page, lang)
    _join(page, code, lang)
    checks.check(page, lang)
    closed = server.sql("select code from workshop where status = 'closed' order by id limit 1")
    if closed:
        page.goto(f"/w/{closed[0][0]}?lang={lang}")
        checks.check(page, lang)
    checks.assert_ok()
