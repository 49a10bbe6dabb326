"""Which language a young person gets, and which languages a survey offers (issue 20, issue 17 item 6).

?lang= first, then the lang cookie, then Accept-Language, then Swedish (docs/languages.md), among the
languages every question of the survey has. The designer shows per question what is missing."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from survey import service
from survey.standard import standard_questions
from tests.conftest import published_survey, raw_rows
from tests.survey.formwalk import answer_all
from tests.survey.intake import waiting
from tests.youthvoice.test_auth import csrf_of, form_token, login
from youthvoice import i18n
from youthvoice.errors import FieldError


def _html_tag(html: str) -> str:
    return re.search(r"<html[^>]*>", html).group(0)


def _top_names(html: str) -> list[str]:
    """The language names in the nav at the top of the page (before <main>)."""
    nav = html.split("<main", 1)[0]
    return re.findall(r'<(?:a|span|button)[^>]*\blang="[\w-]+"[^>]*>([^<]+)</(?:a|span|button)>', nav)


def test_accept_language_is_parsed_by_preference():
    assert i18n.parse_accept_language("ar-SA,ar;q=0.9,en;q=0.5") == ["ar", "en"]
    assert i18n.parse_accept_language("en;q=0.3, ti-ER;q=0.8, so") == ["so", "ti", "en"]
    assert i18n.parse_accept_language("fa-AF, uk;q=0.9") == ["prs", "uk"]  # Persian reads Dari
    assert i18n.parse_accept_language("de-DE, *;q=0.1") == []
    assert i18n.parse_accept_language("sv-x-lattlast, lattlast") == ["sv"]  # easy-read: picked by the person
    assert i18n.pick_language(None, None, "de, so;q=0.5") == "so"
    assert i18n.pick_language("uk", "ar", "so") == "uk"
    assert i18n.pick_language(None, "ar", "so") == "ar"
    assert i18n.pick_language(None, None, "so", offered=["sv", "ar"]) == "sv"
    assert i18n.pick_language("so", None, "ar", offered=["sv", "ar"]) == "ar"


def test_a_phone_set_to_arabic_gets_the_survey_in_arabic(client, world):
    s = published_survey(client, world)
    r = client.get(f"/s/{s['slug']}", headers={"Accept-Language": "ar-SE,ar;q=0.9,sv;q=0.8"})
    assert r.status_code == 200 and _html_tag(r.text) == '<html lang="ar" dir="rtl">'
    assert "هل تشعر" in r.text and "Accept-Language" in r.headers.get("vary", "")
    assert "set-cookie" not in r.headers  # the browser's language is not remembered: only a choice is
    r = client.get(f"/s/{s['slug']}", headers={"Accept-Language": "fa-AF"})
    assert _html_tag(r.text) == '<html lang="prs" dir="rtl">'
    assert "آیا حالا نسبت به پیش از آمدن نزد ما" in r.text
    r = client.get(f"/s/{s['slug']}?lang=ti", headers={"Accept-Language": "ar"})
    assert _html_tag(r.text) == '<html lang="ti" dir="ltr">' and "ሕጂ ናብ ስራሕ" in r.text
    assert "lang=ti" in r.headers.get("set-cookie", "")
    r = client.get(f"/s/{s['slug']}", headers={"Accept-Language": "ar"})  # the cookie beats the browser
    assert _html_tag(r.text) == '<html lang="ti" dir="ltr">'


def test_every_language_is_named_at_the_top_of_the_first_screen(client, world):
    s = published_survey(client, world)
    html = client.get(f"/s/{s['slug']}?lang=so").text
    assert _top_names(html) == [lang.name for lang in i18n.LANGUAGES.values()]
    # each re-posts the answer form in that language, so answers given so far are kept
    nav, slug = html.split("<main", 1)[0], s["slug"]
    assert f'form="answer" type="submit" name="_go" value="lang" formaction="/s/{slug}?lang=prs"' in nav
    assert f'formaction="/s/{slug}?lang=lattlast" formnovalidate class="link" lang="sv"' in nav
    page = client.post(f"/s/{s['slug']}?lang=uk", data={"_form": form_token(html), "_go": "lang",
                                                         "q_closer_to_labour_market": "4"})
    assert page.status_code == 200 and _html_tag(page.text) == '<html lang="uk" dir="ltr">'
    assert re.search(r'name="q_closer_to_labour_market" value="4"[^>]*checked', page.text)
    assert client.get(f"/s/{s['slug']}").status_code == 200 and not raw_rows(world.settings, "SELECT * FROM response_intake")


def test_easy_read_swedish_is_its_own_variant(client, world):
    s = published_survey(client, world)
    html = client.get(f"/s/{s['slug']}?lang=lattlast").text
    assert _html_tag(html) == '<html lang="sv" dir="ltr">'
    assert "Är du närmare ett jobb eller en utbildning nu?" in html  # the easy-read standard question
    assert "Känner du dig närmare" not in html
    assert '<span aria-current="true" lang="sv">Lätt svenska</span>' in html


def test_a_survey_offers_only_the_languages_every_question_has(client, world, settings):
    questions = [*standard_questions(),
                 {"key": "fika", "kind": "yesno", "text": {"sv": "Var fikat gott?", "ar": "هل كانت القهوة جيدة؟"}}]
    s = published_survey(client, world, questions=questions)
    html = client.get(f"/s/{s['slug']}").text
    assert _top_names(html) == ["Svenska", "العربية"]
    assert 'lang="so"' not in html and "Soomaali" not in html
    # Somali is not offered: the next choice (Arabic, else Swedish), never a half-Swedish Somali page
    r = client.get(f"/s/{s['slug']}?lang=so")
    assert _html_tag(r.text) == '<html lang="sv" dir="ltr">' and "Ma dareemaysaa" not in r.text
    r = client.get(f"/s/{s['slug']}", headers={"Accept-Language": "so, ar;q=0.5"})
    assert _html_tag(r.text) == '<html lang="ar" dir="rtl">'
    # an answer in a language not offered is stored under the language shown
    answer_all(client, s["slug"], {"q_fika": "yes"}, start="?lang=uk")
    assert [w["language"] for w in waiting(settings)] == ["sv"]


def test_options_written_by_the_unit_count_for_completeness():
    q = {"key": "day", "kind": "choice", "options": ["mon", "tue"],
         "text": {lang: "x" for lang in i18n.LANGUAGES},
         "option_text": {"mon": {lang: "m" for lang in i18n.LANGUAGES}, "tue": {"sv": "Tisdag"}}}
    assert service.missing_languages(q) == [lang for lang in i18n.LANGUAGES if lang != "sv"]
    assert service.offered_languages([q]) == ["sv"]
    assert service.offered_languages(standard_questions()) == list(i18n.LANGUAGES)
    with pytest.raises(FieldError) as e:
        service.check_languages([q], ["sv", "uk"])
    assert e.value.field == "questions[0].text" and "uk" in e.value.message
    service.check_languages(standard_questions(), list(i18n.LANGUAGES))


def _post(client, url, html, **data):
    return client.post(url, data={"_csrf": csrf_of(html), **data}, follow_redirects=False)


def test_designer_shows_missing_languages_and_takes_every_language(client, world, settings):
    login(client, world.emails["pl_a"])
    page = client.get("/surveys")
    r = client.post("/surveys", data={"_csrf": csrf_of(page.text), "unit": "unit-a", "title_sv": "Hur var det?"},
                    follow_redirects=False)
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    html = client.get(f"/surveys/{sid}").text
    # the ready-made standard questions are complete in all eight
    assert "Översättning saknas" not in html.split('id="questions"')[1]
    assert re.search(r"De unga kan välja bland de här språken: (<bdi[^>]*>[^<]+</bdi>(, )?){8}\.", html)
    form = client.get(f"/surveys/{sid}/questions/new?kind=choice").text
    for lang in i18n.LANGUAGES:
        assert f'name="text_{lang}"' in form
    assert 'name="text_prs" rows="2" lang="prs" dir="rtl"' in form and 'name="options_ti"' in form
    r = _post(client, f"/surveys/{sid}/questions", form, kind="choice", text_sv="Vilken dag?", text_en="Which day?",
              options="Måndag\nTisdag", options_en="Monday\nTuesday", options_uk="Понеділок")
    assert r.status_code == 303, r.text
    html = client.get(f"/surveys/{sid}").text
    item = html.split("Vilken dag?")[1].split("</li>")[0]
    missing = re.findall(r"<bdi[^>]*>([^<]+)</bdi>", item.split("Översättning saknas:")[1])
    assert missing == ["Lätt svenska", "العربية", "دری", "Soomaali", "ትግርኛ", "Українська"]  # uk: one answer short
    assert "Not offered" not in html and "1 fråga saknas" in html
    stored = raw_rows(settings, "select questions from survey_version")[0]["questions"]
    stored = stored if isinstance(stored, list) else json.loads(stored)
    day = next(q for q in stored if q["text"]["sv"] == "Vilken dag?")
    assert day["option_text"] == {"mandag": {"sv": "Måndag", "en": "Monday", "uk": "Понеділок"},
                                  "tisdag": {"sv": "Tisdag", "en": "Tuesday"}}
    key = day["key"]
    form = client.get(f"/surveys/{sid}/questions/{key}").text
    assert ">Monday\nTuesday</textarea>" in form and "Понеділок</textarea>" in form
    # a background question keeps its fixed answers; only its texts change
    form = client.get(f"/surveys/{sid}/questions/gender").text
    assert 'name="options"' not in form
    texts = {f"text_{lang}": text for lang, text in next(q for q in stored if q["key"] == "gender")["text"].items()}
    r = _post(client, f"/surveys/{sid}/questions/gender", form, kind="choice", **{**texts, "text_uk": "Твоя стать?"})
    assert r.status_code == 303, r.text
    stored = raw_rows(settings, "select questions from survey_version")[0]["questions"]
    stored = stored if isinstance(stored, list) else json.loads(stored)
    gender = next(q for q in stored if q["key"] == "gender")
    assert gender["options"] == ["woman", "man", "non_binary", "undisclosed"] and gender["text"]["uk"] == "Твоя стать?"
        # the slips can be printed in the languages the survey has: now only Swedish and English
    html = client.get(f"/surveys/{sid}").text
    assert re.findall(r'name="slip_lang" value="(\w+)"', html) == ["sv", "en"]
    slips = _post(client, f"/surveys/{sid}/codes", html, count="2", slip_lang="en")
    assert slips.status_code == 200 and "Your code:" in slips.text and "Din kod:" not in slips.text
    assert "&amp;lang=en" in slips.text or "&lang=en" in slips.text  # the QR code opens the survey in English
    body = urlencode([("_csrf", csrf_of(html)), ("count", "1"), ("slip_lang", "sv"), ("slip_lang", "en"),
                      ("slip_lang", "so")])
    both = client.post(f"/surveys/{sid}/codes", content=body.encode(),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert both.status_code == 200 and "Your code:" in both.text and "Din kod:" in both.text
    assert 'lang="so"' not in both.text  # Somali is not offered by this survey
    bad = _post(client, f"/surveys/{sid}/codes", html, count="2", slip_lang="so")
    assert bad.status_code == 422 and "slip_lang" in bad.text


def test_accessibility_statement_lists_unreviewed_languages(client):
    assert i18n.unreviewed_languages() == ["lattlast", "prs", "so", "ti", "uk"]
    html = client.get("/tillganglighet?lang=en").text
    assert "have not yet been checked by a native speaker: Lätt svenska, دری, Soomaali, ትግርኛ, Українська." in html
    assert "WCAG 2.1 success criterion 3.3.2" in html
    for lang in i18n.LANGUAGES.values():
        assert f'<bdi lang="{lang.html}">{lang.name}</bdi>' in html  # "It is in these languages: …"



def test_numbers_are_written_the_way_each_language_writes_them(client, world):
    s = published_survey(client, world)  # seven questions: three screens
    page = {lang: client.get(f"/s/{s['slug']}?lang={lang}").text for lang in ("sv", "prs", "ar")}
    assert i18n.gettext("prs", "Page %(n)s of %(total)s") % {"n": "۱", "total": "۳"} in page["prs"]
    assert "Sida 1 av 3" in page["sv"]
    assert i18n.gettext("ar", "Page %(n)s of %(total)s") % {"n": "1", "total": "3"} in page["ar"]  # ar: Latin digits (CLDR)
    html = client.get("/tillganglighet?lang=uk").text
    assert re.search(r"\d{1,2} (грудня|листопада|січня) \d{4}", html)  # the review date in Ukrainian
