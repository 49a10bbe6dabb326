"""A young person answers the demo survey on a 320 px phone, keyboard only,
with JavaScript off and on, in Swedish, English and Arabic; axe-core finds no
WCAG 2.2 A/AA violation on any screen and nothing scrolls sideways."""

from __future__ import annotations

import pytest

from .journeys import PageChecks, answer_survey, t

LANGS = ["sv", "en", "ar"]


@pytest.mark.parametrize("js", [False, True], ids=["nojs", "js"])
@pytest.mark.parametrize("lang", LANGS)
def test_answer_survey_by_keyboard_on_small_phone(server, new_page, lang, js):
    page = new_page(320, 640, js=js)
    before = server.response_count()
    twin = None if js else new_page(320, 640, js=True)
    checks = PageChecks(f"[survey {lang} {'js' if js else 'nojs'}]", twin=twin)
    answer_survey(page, server.url, server.survey_slug, lang, checks)
    checks.assert_ok()
    assert server.response_count() == before + 1, "the answer was not stored exactly once"
    # The way on to the results is there, in the same language.
    link = page.get_by_role("link", name=t(lang, "See what everyone answered and what happens next"))
    assert link.count() >= 1


def test_arabic_survey_is_laid_out_right_to_left(server, new_page):
    page = new_page(320, 640)
    page.goto(f"/s/{server.survey_slug}?lang=ar")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # The first answer choice sits at the right edge of its question, its text to the left of the button.
    radio = page.locator("input[type=radio]").first
    label = radio.locator("xpath=..")
    rb, lb = radio.bounding_box(), label.bounding_box()
    assert rb["x"] + rb["width"] > lb["x"] + lb["width"] * 0.6, (rb, lb)


def test_language_choice_is_kept_on_the_next_page(server, new_page):
    page = new_page(320, 640, js=False)
    page.goto(f"/s/{server.survey_slug}?lang=en")
    page.goto(f"/s/{server.survey_slug}")
    assert page.evaluate("document.documentElement.lang") == "en"


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_text_at_200_percent_still_usable_at_320px(server, new_page, lang):
    """The browser's text size set to 200 % (32 px instead of 16 px): the text grows,
    nothing scrolls sideways and the survey can still be answered."""
    page = new_page(320, 640, js=False)
    cdp = page.context.new_cdp_session(page)
    page.goto(f"/s/{server.survey_slug}?lang={lang}")
    normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    page.reload()
    big = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert big >= 2 * normal - 0.5, f"text did not grow: {normal}px -> {big}px"
    before = server.response_count()
    checks = PageChecks(f"[survey {lang} text 200%]", axe=False)
    answer_survey(page, server.url, server.survey_slug, lang, checks)
    checks.assert_ok()
    assert server.response_count() == before + 1
