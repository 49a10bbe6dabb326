"""The accessibility statement, the privacy notice and the staff pages of this domain in a
real browser at 320 px: axe-core finds no WCAG 2.x A/AA violation and nothing scrolls sideways."""

from __future__ import annotations

import pytest

from tests.browser.harness import format_violations, horizontal_overflow, login, run_axe

pytestmark = pytest.mark.browser


LANGS = ["sv", "en", "ar"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/tillganglighet", "/integritet"])
def test_public_page_has_no_axe_violations(new_page, server, path, lang):
    page = new_page(width=320, height=640)
    r = page.goto(f"{path}?lang={lang}")
    assert r.status == 200
    assert r.headers["cache-control"] == "no-store"
    assert page.get_attribute("html", "lang") == lang
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    violations = run_axe(page)
    assert not violations, format_violations(f"{path}?lang={lang}", violations)
    assert horizontal_overflow(page) <= 0, "the page scrolls sideways at 320 px"
    # both footer links are there and reachable with the keyboard
    assert page.locator('footer a[href="/tillganglighet"]').count() == 1
    assert page.locator('footer a[href="/integritet"]').count() == 1


def test_accessibility_statement_reachable_by_keyboard(new_page, server):
    page = new_page(width=320, height=640, js=False)
    page.goto("/integritet")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/tillganglighet":
            break
    else:
        raise AssertionError("the footer link to /tillganglighet is never reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/tillganglighet")
    assert page.locator('a[href="https://www.digg.se/tdosanmalan"]').count() == 1


@pytest.mark.parametrize("path", ["/records", "/exports"])
def test_staff_page_has_no_axe_violations(new_page, server, path):
    page = new_page(width=1024, height=768)
    login(page, server.url)
    r = page.goto(path)
    assert r.status == 200 and r.headers["cache-control"] == "no-store"
    violations = run_axe(page)
    assert not violations, format_violations(path, violations)
