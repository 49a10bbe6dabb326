"""Every page of the app, found from its routes (new pages are picked up without
editing this file), in every language: no server error, the right language and
direction, and axe-core finds no WCAG 2.2 A/AA violation.

Pages that open without signing in are the young people's: they are checked on a
320 px phone, where nothing may scroll sideways. Pages that send an anonymous
visitor to the sign-in page are staff pages: checked signed in as the demo process
leader on a laptop (1280 px)."""

from __future__ import annotations

import pytest

from youthvoice import i18n

from .harness import (
    fill_path,
    format_violations,
    horizontal_overflow,
    html_get_paths,
    login,
    run_axe,
)

PATHS = html_get_paths()
LANGS = list(i18n.LANGUAGES)


@pytest.fixture(scope="module")
def staff_page(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    login(page, server.url, "process_leader")
    yield page
    ctx.close()


@pytest.fixture(scope="module")
def phone_page(browser, server):
    ctx = browser.new_context(viewport={"width": 320, "height": 640}, base_url=server.url)
    ctx.set_default_timeout(20_000)
    yield ctx.new_page()
    ctx.close()


def test_route_discovery_finds_the_known_pages():
    assert {"/login", "/s/{slug:str}", "/"} <= set(PATHS)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("pattern", PATHS)
def test_page_is_accessible(server, phone_page, staff_page, pattern, lang):
    path = fill_path(server, pattern)
    if path is None:
        pytest.skip(f"the demo data has nothing to show at {pattern} yet")
    url = f"{path}{'&' if '?' in path else '?'}lang={lang}"
    response = phone_page.goto(url)
    assert response is not None and response.status < 500, f"{url}: HTTP {response and response.status}"
    youth = "/login" not in phone_page.url or pattern == "/login"
    page = phone_page if youth else staff_page
    if not youth:
        response = staff_page.goto(url)
        assert response.status < 500, f"{url} (staff): HTTP {response.status}"
    if response.status >= 400:
        pytest.skip(f"{url}: HTTP {response.status} with the demo data")
    got = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
    assert got == [i18n.html_lang(lang), i18n.direction(lang)], f"{url}: <html lang dir> = {got}"
    violations = run_axe(page)
    assert not violations, format_violations(f"{url} ({'phone' if youth else 'staff laptop'})", violations)
    if youth:
        assert horizontal_overflow(page) <= 0, f"{url}: scrolls sideways at 320 px"
