"""Shared-device mode in a real browser: one tablet passed round the room. After the first
young person sends, the second starts from a clean page, and nothing of the first answer is
in the page, in the back-button history or in the browser cache."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from .harness import running_server
from .journeys import PageChecks, t, tab_through_survey_screen

SECRET = "Hemligt svar nummer ett"


@pytest.fixture(scope="module")
def shared_server(browser_ready):
    # Its own server: switching the demo survey to shared-device mode must not touch other tests.
    with running_server() as s:
        with contextlib.closing(sqlite3.connect(s.db_path)) as c:
            c.execute("update survey set shared_device = 1 where slug = ?", (s.survey_slug,))
            c.commit()
        yield s


def _settled_content(page) -> str:
    for _ in range(20):
        try:
            page.wait_for_load_state("load")
            return page.content()
        except Exception:  # noqa: BLE001 - still navigating (e.g. Chromium's "resend form?" page)
            page.wait_for_timeout(250)
    return page.content()


def _nothing_of_the_first_answer(page, where: str) -> None:
    html = _settled_content(page)
    assert SECRET not in html, f"{where}: the first answer's text is still in the page"
    checked = page.locator("input:checked").count()
    assert checked == 0, f"{where}: {checked} choices of the first answer are still ticked"
    hidden = page.evaluate("Array.from(document.querySelectorAll('input[type=hidden]'))"
                           ".filter(e => e.name.startsWith('q_')).map(e => e.name)")
    assert not hidden, f"{where}: answers carried in hidden fields: {hidden}"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_second_person_finds_nothing_of_the_first(shared_server, browser, js):
    ctx = browser.new_context(viewport={"width": 800, "height": 1000}, java_script_enabled=js,
                              base_url=shared_server.url)
    ctx.set_default_timeout(15_000)
    html_cache_headers: list[tuple[str, str]] = []
    ctx.on("response", lambda r: html_cache_headers.append((r.url, r.headers.get("cache-control", "")))
           if "text/html" in r.headers.get("content-type", "") else None)
    page = ctx.new_page()
    try:
        slug = shared_server.survey_slug
        before = shared_server.response_count()
        page.goto(f"/s/{slug}")
        checks = PageChecks("[shared device]", axe=False)
        thanks = t("sv", "Thank you for your answers!")
        for _ in range(12):
            if page.locator("h1").first.inner_text().strip() == thanks:
                break
            tab_through_survey_screen(page, checks, text=SECRET)
        else:
            raise AssertionError("no thank-you page")
        assert shared_server.response_count() == before + 1
        _nothing_of_the_first_answer(page, "thank-you page")

        # The next young person takes the tablet and starts again.
        page.get_by_role("link", name=t("sv", "Start a new answer")).click()
        page.wait_for_load_state()
        assert page.locator("form").count() >= 1
        _nothing_of_the_first_answer(page, "fresh start")

        # Back through the history: every earlier screen must not come back with the answers.
        for step in range(6):
            with contextlib.suppress(Exception):  # Chromium refuses to resend a form: nothing shown
                page.go_back(wait_until="load")
            _nothing_of_the_first_answer(page, f"history back {step + 1}")
        assert html_cache_headers, "no HTML responses seen"
        for url, cc in html_cache_headers:
            assert "no-store" in cc, f"{url} may be cached: Cache-Control {cc!r}"
        assert shared_server.response_count() == before + 1, "going back sent the answer again"
        checks.assert_ok()
    finally:
        ctx.close()
