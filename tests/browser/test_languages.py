"""Every youth page in the seven languages and easy-read Swedish, in Chromium on a 320 px phone
(issue 20): `<html lang dir>` right, axe-core (WCAG 2.2 A/AA) finds nothing, nothing scrolls
sideways, no Swedish interface text is left, every character has a font, and every language's own
name is in the first screen (issue 17 item 6). A survey answered fully in Dari and in Tigrinya
without JavaScript is stored and counted like any other."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.pofile import read_po

from youthvoice import i18n

from .fonts import font_coverage, missing_glyphs
from .harness import DEMO_UNIT, format_violations, horizontal_overflow, run_axe
from .journeys import PageChecks, answer_survey, t

LANGS = list(i18n.LANGUAGES)
PHONE = {"width": 320, "height": 568}


@cache
def swedish_left_over(lang: str) -> frozenset[str]:
    """Swedish interface texts that must not show on a page in `lang`: every Swedish translation
    of at least two words that `lang` translates otherwise (names and codes are not catalogue texts)."""
    if lang == "sv":
        return frozenset()
    sv = i18n.translations("sv")
    own = i18n.translations(lang)
    out = set()
    for po in i18n.catalog_files("sv"):
        with po.open("rb") as f:
            for m in read_po(f):
                if not m.id or not isinstance(m.id, str) or "%" in m.id:
                    continue
                text = sv.gettext(m.id)
                if len(text.split()) >= 2 and own.gettext(m.id) != text:
                    out.add(text)
    return frozenset(out)


def _youth_paths(server) -> list[tuple[str, int]]:
    """(path, expected status) of every youth page that opens by address."""
    paths = [(f"/s/{server.survey_slug}", 200), (f"/r/{server.survey_slug}", 200), ("/integritet", 200),
             ("/tillganglighet", 200), ("/s/there-is-no-such-survey", 404)]
    workshop = server.workshop()
    if workshop is not None:
        paths += [("/w", 200), (f"/w/{workshop[1]}", 200), (f"/u/{DEMO_UNIT}", 200), ("/w/ZZZZZZZZ", 404)]
    return paths


def _text_problems(page, lang: str, where: str) -> list[str]:
    problems = []
    text = page.evaluate("document.body.innerText")
    # A short Swedish text counts when it is a whole line (a button, a heading); a longer one anywhere.
    # Text the unit wrote (a workshop titled "Din röst är viktig …") is a name, not interface text.
    lines = {line.strip() for line in text.splitlines()}
    left = sorted(s for s in swedish_left_over(lang) if s in lines or (len(s.split()) >= 4 and s in text))
    if left:
        problems.append(f"{where}: Swedish left on the page: {left[:5]}")
    covered = font_coverage()
    if covered is not None:
        missing = missing_glyphs(text, covered)
        if missing:
            problems.append(f"{where}: characters no installed font has: {sorted(missing)}")
    return problems


def _check(page, lang: str, where: str) -> list[str]:
    problems = []
    got = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
    want = [i18n.html_lang(lang), i18n.direction(lang)]
    if got != want:
        problems.append(f"{where}: <html lang dir> is {got}, expected {want}")
    over = horizontal_overflow(page)
    if over > 0:
        problems.append(f"{where}: scrolls {over}px sideways at 320 px")
    violations = run_axe(page)
    if violations:
        problems.append(format_violations(where, violations))
    return problems + _text_problems(page, lang, where)


def test_the_swedish_check_can_fail():
    # Guards the check below: in Dari, Swedish button texts are forbidden; in Swedish, nothing is.
    assert "Skicka mina svar" in swedish_left_over("prs") and not swedish_left_over("sv")
    assert "Skicka mina svar" in swedish_left_over("lattlast") or \
        i18n.gettext("lattlast", "Send my answers") == i18n.gettext("sv", "Send my answers")


@pytest.mark.parametrize("lang", LANGS)
def test_every_youth_page_in_every_language(server, new_page, lang):
    page = new_page(**PHONE)
    problems: list[str] = []
    for path, status in _youth_paths(server):
        response = page.goto(f"{path}?lang={lang}")
        assert response is not None
        if response.status != status:
            problems.append(f"{path} [{lang}]: HTTP {response.status}, expected {status}")
            continue
        problems += _check(page, lang, f"{path} [{lang}]")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_every_survey_screen_and_the_thanks_page_in_every_language(server, new_page, lang):
    page = new_page(**PHONE)
    checks = PageChecks(f"[survey {lang}]")
    answer_survey(page, server.url, server.survey_slug, lang, checks)
    checks.assert_ok()
    # PageChecks checked lang, dir, axe and 320 px on every screen and the thanks page; the text here.
    problems = _text_problems(page, lang, f"thanks [{lang}]")
    assert page.locator("h1").first.inner_text().strip() == t(lang, "Thank you for your answers!")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["sv", "ar", "prs", "ti"])
def test_every_language_name_is_in_the_first_screen(server, new_page, lang):
    # 320 x 568: the smallest phone the walk-through used; before, العربية was ~1500 px down.
    page = new_page(**PHONE)
    page.goto(f"/s/{server.survey_slug}?lang={lang}")
    boxes = page.evaluate("""() => [...document.querySelectorAll('header nav.langs [lang]')].map(e => {
        const r = e.getBoundingClientRect(); return [e.textContent.trim(), r.top, r.bottom, r.width]; })""")
    assert [b[0] for b in boxes] == [lang_.name for lang_ in i18n.LANGUAGES.values()]
    for name, top, bottom, width in boxes:
        assert top >= 0 and bottom <= PHONE["height"] and width > 0, f"{name} is not in the first screen: {top}-{bottom}"
    # a tap on a name opens the survey in that language
    page.locator("header nav.langs [lang='uk']").click()
    assert page.evaluate("document.documentElement.lang") == "uk"


def test_a_phone_set_to_dari_opens_the_survey_in_dari(server, new_page):
    page = new_page(**PHONE, locale="fa-AF", extra_http_headers={"Accept-Language": "fa-AF,fa;q=0.9"})
    page.goto(f"/s/{server.survey_slug}")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["prs", "rtl"]
    page = new_page(**PHONE, extra_http_headers={"Accept-Language": "ar"})
    page.goto(f"/s/{server.survey_slug}")
    assert page.evaluate("document.documentElement.lang") == "ar"


def _counts(server) -> tuple[int, int, int]:
    row = server.sql("select coalesce(sum(n), 0), coalesce(sum(closer_n), 0), coalesce(sum(useful_n), 0) "
                     "from response_count rc join survey s on s.id = rc.survey_id where s.slug = ?",
                     server.survey_slug)[0]
    return tuple(row)


@pytest.mark.parametrize("lang", ["prs", "ti"])
def test_a_survey_answered_fully_without_javascript_counts_like_any_other(server, new_page, lang):
    rows = "select id, closer, useful, gender, age_band, answers from response where language = ?"
    server.release()  # anything already waiting is released first, so only this answer arrives below
    before_ids = {r[0] for r in server.sql(rows, lang)}
    before = _counts(server)
    page = new_page(**PHONE, js=False)
    twin = new_page(**PHONE)  # axe runs in a JavaScript-enabled copy of each screen
    checks = PageChecks(f"[survey {lang} nojs]", twin=twin)
    answer_survey(page, server.url, server.survey_slug, lang, checks)
    checks.assert_ok()
    assert page.locator("h1").first.inner_text().strip() == t(lang, "Thank you for your answers!")
    server.release()  # answers reach `response` and the counts only at a release
    # The stored answer: one more row in the language, and one more in the counts the figures read,
    # with both goal questions answered (the walk chooses an answer on every question).
    new = [r for r in server.sql(rows, lang) if r[0] not in before_ids]
    assert len(new) == 1, new
    _id, closer, useful, gender, age_band, answers = new[0]
    assert closer is not None and useful is not None and gender and age_band
    assert re.search(r"closer_to_labour_market", answers) and re.search(r"found_useful", answers)
    after = _counts(server)
    assert after == (before[0] + 1, before[1] + 1, before[2] + 1), (before, after)
