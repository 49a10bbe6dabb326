"""Issue 27.1, in real Chromium: a reload (what Android does to a discarded background tab) or Back
after a language switch used to bring the survey back with every answer empty, and nothing said so.
The form now keeps the unsent answers in the tab's sessionStorage (never a cookie, never the
server before Send), brings them back saying so, forgets them after Send, and Send with a goal
question blank asks once before sending."""

from __future__ import annotations

import pytest

from .journeys import PageChecks, t

pytestmark = pytest.mark.browser

CHECKED = "[...document.querySelectorAll('section.page input:checked')].map(e => e.name + '=' + e.value).sort()"
STORED = "JSON.stringify(Object.keys(sessionStorage).filter(k => k.startsWith('yv-answers:')).map(k => sessionStorage.getItem(k)))"
COOKIES_WITH_ANSWERS = "document.cookie.includes('q_')"


def tick_first_of_each(page, section: str) -> None:
    page.evaluate("""(id) => { const seen = new Set();
        for (const i of document.querySelectorAll('#' + id + ' input[type=radio], #' + id + ' input[type=checkbox]')) {
          if (!seen.has(i.name)) { seen.add(i.name); i.click(); } } }""", section)


def test_reload_brings_every_answer_back_and_says_so(server, new_page):
    page = new_page(320, 568, js=True, locale="sv-SE")
    checks = PageChecks("[survey reload]")
    slug = server.survey_slug
    before = server.response_count()
    page.goto(f"/s/{slug}")
    screens = page.locator("section.page").count()
    tick_first_of_each(page, "p1")
    page.locator("#p1 a.next").click()
    page.wait_for_function("location.hash === '#p2'")
    tick_first_of_each(page, "p2")
    for n in range(2, screens):
        page.locator(f"#p{n} a.next").click()
        page.wait_for_function(f"location.hash === '#p{n + 1}'")
    text = page.locator(f"#p{screens} textarea")
    assert text.count(), "the demo survey's last screen has a free-text question"
    text.first.fill("Mer praktik, tack")
    chosen = page.evaluate(CHECKED)
    assert len(chosen) >= 4
    assert not page.locator("#kept").is_visible()

    # The tab is reloaded (a discarded background tab comes back the same way).
    response = page.reload()
    assert response.request.method == "GET"
    assert page.evaluate(CHECKED) == chosen, "the reload emptied the answers"
    assert text.first.input_value() == "Mer praktik, tack"
    kept = page.locator("#kept")
    assert kept.is_visible()
    assert t("sv", "Your answers from before are back. They are kept only in this browser tab until you send them.") \
        in kept.inner_text()
    assert not page.evaluate(COOKIES_WITH_ANSWERS) and server.response_count() == before
    checks.check(page, "sv")

    # Sent: counted once, and the copy in the tab is gone, so a new visit starts empty.
    with page.expect_navigation():
        page.locator(f"#p{screens} button[value=send]").click()
    assert "/thanks" in page.url
    assert server.response_count() == before + 1
    assert page.evaluate(STORED) == "[]"
    page.goto(f"/s/{slug}")
    assert page.evaluate(CHECKED) == [] and not page.locator("#kept").is_visible()
    checks.assert_ok()


def test_clear_my_answers_empties_the_form_and_the_tab(server, new_page):
    page = new_page(320, 568, js=True, locale="sv-SE")
    page.goto(f"/s/{server.survey_slug}")
    tick_first_of_each(page, "p1")
    page.reload()
    assert page.evaluate(CHECKED)
    page.locator("#kept button").click()
    assert page.evaluate(CHECKED) == [] and not page.locator("#kept").is_visible()
    page.reload()
    assert page.evaluate(CHECKED) == []


def test_back_after_a_language_switch_keeps_the_answers(server, new_page):
    page = new_page(320, 568, js=True, locale="sv-SE")
    slug = server.survey_slug
    page.goto(f"/s/{slug}")
    tick_first_of_each(page, "p1")
    chosen = page.evaluate(CHECKED)
    with page.expect_navigation():
        page.locator("header nav.langs [lang=ar]").click()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate(CHECKED) == chosen
    page.go_back()
    page.wait_for_load_state()
    assert page.locator("form#answer").count() == 1  # the page before the switch, fetched again
    assert page.evaluate(CHECKED) == chosen, "Back after the language switch emptied the answers"


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_send_with_the_goal_questions_blank_asks_once(server, new_page, lang):
    page = new_page(320, 568, js=True)
    checks = PageChecks(f"[survey blank goals {lang}]")
    slug = server.survey_slug
    before = server.response_count()
    page.goto(f"/s/{slug}?lang={lang}")
    screens = page.locator("section.page").count()
    goals = page.locator("[data-goal]").count()
    assert goals >= 2
    # Only a later screen answered: the goal questions on screen 1 are blank.
    page.locator("#p1 a.next").click()
    page.wait_for_function("location.hash === '#p2'")
    tick_first_of_each(page, "p2")
    for n in range(2, screens):
        page.locator(f"#p{n} a.next").click()
        page.wait_for_function(f"location.hash === '#p{n + 1}'")
    page.locator(f"#p{screens} button[value=send]").click()
    page.wait_for_timeout(300)
    assert server.response_count() == before, "sent with the goal questions blank, without a word"
    blank = page.locator("#blank")
    assert blank.is_visible()
    assert page.evaluate("document.activeElement.id") == "blank"
    assert t(lang, "You have not answered these questions:") in blank.inner_text()
    assert blank.locator("li a").count() == goals
    checks.check(page, lang)
    # A link leads to the question's screen.
    blank.locator("li a").first.click()
    page.wait_for_function("location.hash === '#p1'")
    assert page.locator("#p1").is_visible()
    # Pressing Send again sends: the goal questions may be skipped.
    page.evaluate(f"location.hash = '#p{screens}'")
    page.wait_for_function(f"location.hash === '#p{screens}'")
    with page.expect_navigation():
        page.locator(f"#p{screens} button[value=send]").click()
    assert "/thanks" in page.url and server.response_count() == before + 1
    checks.assert_ok()
