"""A spent QR code in a real browser (issue 17.7): scanning a slip whose code was used opens on the code
screen with the message at once, in the page's language, before any question; a good code opens on the
first question page, which says page 1. At 320 px, with JavaScript on and off, in sv, en and ar, and
with no axe-core (WCAG 2.2 AA) violations on the refusal."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from .harness import format_violations, horizontal_overflow, run_axe, running_server

SPENT, FRESH, UNKNOWN = "ACDEFGHK", "ACDEFGHM", "ACDEFGHN"
MESSAGE = {"sv": "Koden fungerar inte. Kontrollera den – varje kod fungerar en gång.",
           "en": "This code does not work. Check it – each code works once.",
           "ar": "هذا الرمز لا يعمل. تحقق منه – كل رمز يعمل مرة واحدة فقط."}
PAGE_1 = {"sv": "Sida 1 av", "en": "Page 1 of", "ar": None}


@pytest.fixture(scope="module")
def code_server(browser_ready):
    with running_server() as s:
        slug = s.survey_slug  # the demo's open survey, made a code survey here
        with contextlib.closing(sqlite3.connect(s.db_path)) as c:
            sid = c.execute("select id from survey where slug = ?", (slug,)).fetchone()[0]
            c.execute("update survey set access = 'code' where id = ?", (sid,))
            c.executemany("insert into survey_code (survey_id, code, spent) values (?, ?, ?)",
                          [(sid, SPENT, 1), (sid, FRESH, 0)])
            c.commit()
        yield s, slug


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("lang", ["sv", "en", "ar"])
def test_spent_code_is_refused_when_the_link_opens(code_server, browser, lang, js):
    code_server, slug = code_server
    ctx = browser.new_context(viewport={"width": 320, "height": 568}, java_script_enabled=js,
                              base_url=code_server.url)
    twin_ctx = None if js else browser.new_context(viewport={"width": 320, "height": 568},
                                                   base_url=code_server.url)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    try:
        pages = {}
        for code in (SPENT, UNKNOWN):
            r = page.goto(f"/s/{slug}?code={code[:4]}-{code[4:]}&lang={lang}")
            assert r.status == 409
            assert page.locator(".errors").is_visible()
            assert page.get_by_text(MESSAGE[lang]).first.is_visible()
            assert page.locator("#code").is_visible() and page.locator("[name^=q_]").count() == 0
            assert horizontal_overflow(page) == 0
            pages[code] = page.inner_text("main").replace(f"{code[:4]}-{code[4:]}", "")
        assert pages[SPENT] == pages[UNKNOWN]  # a used and an unknown code look the same
        if lang == "ar":
            assert page.locator("html").get_attribute("dir") == "rtl"
        twin = twin_ctx.new_page() if twin_ctx else None
        violations = run_axe(page, twin)
        assert not violations, format_violations(f"spent code {lang} js={js}", violations)
        # the slip with a good code: straight to the questions, the first page counts as page 1
        r = page.goto(f"/s/{slug}?code={FRESH}&lang={lang}")
        assert r.status == 200 and page.locator("[name^=q_]").count() > 0
        if PAGE_1[lang]:
            assert PAGE_1[lang] in page.inner_text("main")
        else:
            assert "1" in page.locator("form .hint").first.inner_text()
    finally:
        ctx.close()
        if twin_ctx:
            twin_ctx.close()


def test_enter_on_the_code_screen_checks_the_code_not_a_language(code_server, browser):
    """The language buttons at the top belong to the answer form and come first in the page; the form's
    default button (what Enter presses in a field) is still its own "Next", which checks the code."""
    code_server, slug = code_server
    ctx = browser.new_context(viewport={"width": 320, "height": 568}, base_url=code_server.url)
    try:
        page = ctx.new_page()
        page.goto(f"/s/{slug}?lang=sv")
        page.locator("#code").fill(UNKNOWN)
        with page.expect_navigation():
            page.locator("#code").press("Enter")
        assert page.evaluate("document.documentElement.lang") == "sv"
        assert page.get_by_text(MESSAGE["sv"]).first.is_visible()
    finally:
        ctx.close()
