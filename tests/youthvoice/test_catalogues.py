"""Every string a person can see has a translation in every language.

Message ids are English; Swedish (the default) and Arabic — and any language
added later to `i18n.LANGUAGES` — need a non-empty translation in one of the
catalogues `youthvoice/translations/<lang>/LC_MESSAGES/<domain>.po`, or the page
shows English. The strings are found by extraction, so new templates and new
`_("...")` calls are checked without touching this file:

- templates: jinja2's babel extractor over every `youthvoice/templates/**/*.html`;
- Python: babel's Python extractor over `youthvoice/**/*.py` (`_`, `gettext`,
  `ngettext`, `N_`, `lazy_gettext`).

Strings that are only placeholders or numbers (`"2"`, `"%(n)s"`) are skipped.
The check runs per domain (a template folder or a Python package), so a failure
names the domain, the file and line, and the missing message ids.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import jinja2.ext
import pytest
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po

from survey.standard import STANDARD_QUESTIONS
from tests.browser.fonts import font_coverage, missing_glyphs
from youthvoice import i18n, pages

ROOT = Path(i18n.__file__).resolve().parent.parent
PACKAGE = ROOT  # paths in messages are relative to the checkout
TEMPLATES = ROOT / "templates"
SOURCES = ("youthvoice", "survey", "workshops", "analysis")
TRANSLATIONS = i18n.TRANSLATIONS
KEYWORDS = ("_", "gettext", "ngettext", "N_", "lazy_gettext")
SOURCE_LANG = "en"  # message ids are English
TARGET_LANGS = [code for code in i18n.LANGUAGES if code != SOURCE_LANG]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%%")

# Jinja options must match youthvoice.web.env so line numbers and blocks parse alike.
JINJA_OPTIONS = {"trim_blocks": "true", "lstrip_blocks": "true", "extensions": "jinja2.ext.i18n",
                 "newstyle_gettext": "true"}


def _strings(found) -> list[str]:
    """Message ids from an extractor's `message` field (a str, or a tuple for
    ngettext / keyword arguments where non-literal parts are None)."""
    if isinstance(found, str):
        return [found]
    if isinstance(found, tuple):
        return [m for m in found if isinstance(m, str)]
    return []


def _needs_translation(msgid: str) -> bool:
    return bool(re.search(r"[^\W\d_]", PLACEHOLDER.sub("", msgid)))


def _domain_of(path: Path) -> str:
    if path.is_relative_to(TEMPLATES):
        rel = path.relative_to(TEMPLATES)
        return rel.parts[0] if len(rel.parts) > 1 else "core"  # base.html, error.html: core
    top = path.relative_to(ROOT).parts[0]
    return "core" if top == "youthvoice" else top


def extract_all() -> dict[str, dict[str, list[str]]]:
    """domain -> msgid -> ["file:line", ...]"""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(TEMPLATES.rglob("*.html")):
        with path.open("rb") as f:
            for lineno, _func, message, _comments in jinja2.ext.babel_extract(f, KEYWORDS, [], JINJA_OPTIONS):
                for msgid in _strings(message):
                    out[_domain_of(path)][msgid].append(f"{path.relative_to(PACKAGE)}:{lineno}")
    for path in sorted(p for src in SOURCES for p in (ROOT / src).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        with path.open("rb") as f:
            for lineno, _func, message, _comments in extract_python(f, KEYWORDS, [], {}):
                for msgid in _strings(message):
                    out[_domain_of(path)][msgid].append(f"{path.relative_to(PACKAGE)}:{lineno}")
    return out


def load_catalogues(lang: str) -> dict[str, dict[str, object]]:
    """file name -> msgid -> msgstr (str or tuple of plural forms)."""
    cats = {}
    for po in i18n.catalog_files(lang):
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        entries = {}
        for m in catalog:
            # A plural message counts for both its singular and its plural msgid (the extractor lists both).
            for msgid in ([m.id] if isinstance(m.id, str) else list(m.id)) if m.id else []:
                entries.setdefault(msgid, m)
        cats[po.name] = entries
    return cats


def _translated(message) -> bool:
    if message.fuzzy:
        return False
    forms = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return bool(forms) and all(isinstance(s, str) and s.strip() for s in forms)


EXTRACTED = extract_all()
DOMAINS = sorted(EXTRACTED)


def test_extraction_finds_the_layout_strings():
    # Guards the extractor itself: if it silently found nothing, every check below would pass.
    assert "Skip to content" in EXTRACTED["core"]
    assert "Sign in for staff" in EXTRACTED["core"]
    assert sum(len(v) for v in EXTRACTED.values()) > 30


# Calls whose message a person reads on a "too many" page: the exceptions (the error page shows the
# message after its "field: " prefix) and youthvoice.web.limit(request, bucket, rate, message).
LIMIT_CALLS = {"TooManyRequestsException": 0, "TooFast": 0, "limit": 3}


def limit_messages() -> dict[str, list[str]]:
    """message an error page looks up -> ["file:line", ...], for every rate limit in the sources."""
    import ast

    from youthvoice.http import split_detail

    out: dict[str, list[str]] = defaultdict(list)
    for path in sorted(p for src in SOURCES for p in (ROOT / src).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name not in LIMIT_CALLS or len(node.args) <= LIMIT_CALLS[name]:
                continue
            arg = node.args[LIMIT_CALLS[name]]
            if isinstance(arg, ast.Name):  # a module constant such as MANY_REQUESTS
                consts = {t.id: n.value.value for n in ast.parse(path.read_text(encoding="utf-8")).body
                          if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                          for t in n.targets if isinstance(t, ast.Name)}
                arg = ast.Constant(consts.get(arg.id))
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out[split_detail(arg.value)[1]].append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    # the survey page's own "too many" message (shown on the code screen, not as an error page)
    from survey.youth_pages import MESSAGES

    out[MESSAGES["code_tries"]].append("survey/youth_pages.py: MESSAGES")
    return out


def test_the_limit_messages_are_found():
    found = limit_messages()
    # guards the extractor: the room's join limit and the wrong-code limit, by the text the page shows
    assert "many are joining from here right now. Wait a few seconds and try again." in found
    assert "too many wrong codes from here. Wait ten minutes and try again." in found
    assert "Too many requests from here right now. Wait a minute and try again." in found


@pytest.mark.parametrize("lang", TARGET_LANGS)
def test_every_rate_limit_message_is_translated_as_the_page_looks_it_up(lang: str):
    """The error page strips a "field: " prefix before it translates (youthvoice.http.split_detail), so
    a catalogue that holds only "join: many are joining …" leaves the page in English (issue 27.3)."""
    missing = {m: where for m, where in limit_messages().items()
               if i18n.translations(lang).gettext(m) == m}
    assert not missing, f"{lang}: rate-limit messages without a translation of what the page looks up: {missing}"


@pytest.mark.parametrize("lang", TARGET_LANGS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_visible_string_is_translated(domain: str, lang: str):
    cats = load_catalogues(lang)
    merged = {}
    for entries in cats.values():
        for msgid, message in entries.items():
            if _translated(message):
                merged[msgid] = message
    missing = {msgid: where for msgid, where in EXTRACTED[domain].items()
               if _needs_translation(msgid) and msgid not in merged}
    if missing:
        lines = "\n".join(f"  {msgid!r}  ({', '.join(where[:3])})" for msgid, where in sorted(missing.items()))
        pytest.fail(f"{len(missing)} message(s) of domain '{domain}' have no {lang} translation in "
                    f"youthvoice/translations/{lang}/LC_MESSAGES/*.po:\n{lines}", pytrace=False)


def _catalogue_params():
    langs = sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir())
    return [(lang, po.name) for lang in langs for po in i18n.catalog_files(lang)]


@pytest.mark.parametrize(("lang", "name"), _catalogue_params())
def test_translations_keep_their_placeholders(lang: str, name: str):
    """A translation that drops, renames or adds a `%(name)s` would crash the page
    (KeyError) or show the wrong number; a stray `%` would crash formatting."""
    bad = []
    for msgid, message in load_catalogues(lang)[name].items():
        forms = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        wanted = set(PLACEHOLDER.findall(msgid if isinstance(message.id, str) else " ".join(message.id))) - {""}
        for text in forms:
            if not text:
                continue
            got = set(PLACEHOLDER.findall(text)) - {""}
            if got - wanted:
                bad.append(f"{msgid!r}: unknown placeholder(s) {sorted(got - wanted)} in {text!r}")
            elif "%(" in msgid:
                try:
                    text % {k: 1 for k in wanted | {"num"}}
                except (KeyError, ValueError, TypeError) as e:
                    bad.append(f"{msgid!r}: {text!r} does not format ({e!r})")
        if message.fuzzy:
            bad.append(f"{msgid!r} is marked fuzzy: it is not used until checked")
    assert not bad, f"{lang}/{name}:\n" + "\n".join(bad)


def test_every_language_has_the_same_catalogue_files():
    """A language added as a folder must carry every domain's catalogue."""
    files = {lang: {p.name for p in i18n.catalog_files(lang)} for lang in TARGET_LANGS}
    everything = set().union(*files.values())
    missing = {lang: sorted(everything - names) for lang, names in files.items() if everything - names}
    assert not missing, f"catalogue files missing: {missing}"


@pytest.mark.parametrize("lang", TARGET_LANGS)
def test_language_is_switched_on_by_its_catalogue(lang: str):
    # The layout must really come out in the language, not in English.
    assert i18n.gettext(lang, "Skip to content") != "Skip to content"
    assert i18n.direction(lang) == ("rtl" if lang in {"ar", "prs", "fa", "ckb", "ps", "he", "ur"} else "ltr")


# ---------- the shipped languages and their glyphs ----------

SHIPPED = {"sv", "lattlast", "en", "ar", "prs", "so", "ti", "uk"}  # issue 20: seven languages and easy-read


def test_the_seven_languages_and_easy_read_are_shipped_and_switched_on():
    # A catalogue folder not in LANGUAGES would be translated but never shown, and the other way round.
    folders = {p.name for p in TRANSLATIONS.iterdir() if p.is_dir()}
    assert set(i18n.LANGUAGES) == SHIPPED
    assert folders == SHIPPED
    assert set(TARGET_LANGS) == SHIPPED - {"en"}  # every one of them is checked above
    assert [i18n.html_lang(c) for c in ("lattlast", "prs", "ar")] == ["sv", "prs", "ar"]
    assert i18n.direction("prs") == "rtl" and i18n.direction("lattlast") == "ltr"
    # Easy-read is its own text, not the Swedish one.
    assert i18n.gettext("lattlast", "Your voice") and \
        sum(i18n.gettext("lattlast", m) != i18n.gettext("sv", m) for m in EXTRACTED["survey"]) > 20


@pytest.mark.parametrize("lang", ["prs", "so", "ti", "uk", "lattlast"])
def test_machine_assisted_catalogues_say_who_translated_and_that_review_is_needed(lang):
    for po in i18n.catalog_files(lang):
        comment = po.read_text(encoding="utf-8").split('msgid ""')[0].lower()
        assert "translat" in comment and "native speaker" in comment, po
        status = i18n.review_status(po)
        assert status in ("unreviewed", "reviewed"), po
        if status == "unreviewed":
            assert lang in i18n.unreviewed_languages()


def test_numbers_and_dates_follow_each_locale():
    assert i18n.format_number(1234.5, "sv") == "1\xa0234,5"
    assert i18n.format_number(12, "prs") == "۱۲"  # Dari (fa_AF): Persian digits
    assert i18n.format_number(1234.5, "prs") == "۱٬۲۳۴٫۵"
    assert i18n.format_number(12, "ar") == "12"
    assert "грудня" in i18n.format_date(dt.date(2026, 12, 1), "uk")
    assert i18n.format_date(dt.date(2026, 12, 1), "lattlast") == i18n.format_date(dt.date(2026, 12, 1), "sv")


def test_every_translated_glyph_has_a_font():
    """A character no installed font has renders as an empty box (tofu): Ethiopic without Noto Sans
    Ethiopic, Persian letters without an Arabic-script font. Checks every translation, standard question,
    language name and known gap against the fonts fontconfig knows (scripts/ensure-system.sh installs them)."""
    covered = font_coverage()
    if covered is None:
        pytest.skip("fontconfig (fc-list) is not installed")
    texts: dict[str, str] = {}
    for lang in i18n.LANGUAGES:
        parts = []
        for entries in load_catalogues(lang).values():
            for m in entries.values():
                parts.extend(m.string if isinstance(m.string, (tuple, list)) else [m.string])
        parts += [q["text"].get(lang, "") for q in STANDARD_QUESTIONS]
        parts += [g.get(lang, "") for g in pages.known_gaps()["gaps"]]
        parts.append(i18n.LANGUAGES[lang].name)
        texts[lang] = "".join(p for p in parts if p)
    # The check itself must be able to fail: a private-use character has no font.
    assert missing_glyphs("\ue000", covered) == {"\ue000"}
    missing = {lang: "".join(sorted(missing_glyphs(t, covered))) for lang, t in texts.items()}
    missing = {lang: chars for lang, chars in missing.items() if chars}
    assert not missing, f"characters without any installed font: {missing} (install fonts-noto-core)"
