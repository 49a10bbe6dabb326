"""Languages. Message ids are English; Swedish is the default language.

Catalogues live in translations/<lang>/LC_MESSAGES/<domain>.po, one file per
domain (core, survey, workshops, analysis, ...). They are compiled in memory at
start, so adding a language is one folder of .po files and one line in LANGUAGES
(docs/languages.md).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations


def N_(message: str) -> str:
    """Marks a message id for extraction where it is defined; it is translated where it is shown."""
    return message

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANG = "sv"


class Language(NamedTuple):
    name: str  # in the language itself, as the language list shows it
    dir: str  # ltr | rtl
    locale: str  # Babel locale for numbers and dates
    html: str  # the BCP 47 tag in <html lang>, hreflang and lang= (what screen readers pick a voice by)


# code -> Language. The code is what ?lang=, the lang cookie, stored answers and question texts use.
LANGUAGES: dict[str, Language] = {
    "sv": Language("Svenska", "ltr", "sv", "sv"),
    # Easy-read Swedish (lättläst, MTM's guidance) is a variant of Swedish the young person picks; it is
    # read with a Swedish voice, so its pages say lang="sv".
    "lattlast": Language("Lätt svenska", "ltr", "sv", "sv"),
    "en": Language("English", "ltr", "en", "en"),
    "ar": Language("العربية", "rtl", "ar", "ar"),
    # Dari: Babel (CLDR) has no prs locale; Afghan Persian (fa_AF) formats its numbers and dates.
    "prs": Language("دری", "rtl", "fa_AF", "prs"),
    "so": Language("Soomaali", "ltr", "so", "so"),
    "ti": Language("ትግርኛ", "ltr", "ti", "ti"),
    "uk": Language("Українська", "ltr", "uk", "uk"),
}
LANG_COOKIE = "lang"
# Catalogues whose header says no native speaker has reviewed them yet (X-Review-Status: unreviewed).
REVIEW_HEADER = "X-Review-Status"

# Accept-Language tags that mean one of our languages although the subtag differs: a phone set to
# Persian (fa, fa-IR) reads Dari (same script, mutually intelligible). Easy-read Swedish is never
# chosen by the browser: the young person picks it.
_ACCEPT_ALIASES = {"fa": "prs", "fa-af": "prs", "fa-ir": "prs"}


def catalog_files(lang: str) -> list[Path]:
    return sorted((TRANSLATIONS / lang / "LC_MESSAGES").glob("*.po"))


@cache
def translations(lang: str) -> NullTranslations:
    merged: NullTranslations | None = None
    for po in catalog_files(lang):
        with po.open("rb") as f:
            catalog = read_po(f, locale=babel_locale(lang))
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        t = Translations(buf)
        if merged is None:
            merged = t
        else:
            merged.merge(t)
    return merged or NullTranslations()


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


@cache
def unreviewed_languages() -> list[str]:
    """Shipped languages with a catalogue no native speaker has reviewed yet (its header says so)."""
    # Read from the file: Babel's Catalog keeps only the standard headers.
    out = []
    for code in LANGUAGES:
        if any(review_status(po) == "unreviewed" for po in catalog_files(code)):
            out.append(code)
    return out


def review_status(po: Path) -> str | None:
    head = po.read_text(encoding="utf-8").split("\n\n", 1)[0]
    found = re.search(rf'^"{REVIEW_HEADER}:\s*([\w-]+)\\n"$', head, re.MULTILINE)
    return found.group(1).lower() if found else None


_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$|^\*$")


def parse_accept_language(header: str | None) -> list[str]:
    """Our language codes in the order the browser prefers them (q-values, then the order given)."""
    if not header:
        return []
    weighted = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.match(tag) or tag == "*":
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        weighted.append((-q, i, tag.lower()))
    out: list[str] = []
    for _q, _i, tag in sorted(weighted):
        primary = tag.split("-")[0]
        code = _ACCEPT_ALIASES.get(tag, _ACCEPT_ALIASES.get(primary, primary))
        if code and code in LANGUAGES and code != "lattlast" and code not in out:
            out.append(code)
    return out


def pick_language(query_lang: str | None, cookie_lang: str | None, accept: str | None = None,
                  offered: list[str] | tuple[str, ...] | None = None) -> str:
    """?lang= first, then the lang cookie, then Accept-Language, then Swedish (docs/languages.md).
    `offered`: the languages this page can be shown in (a survey offers the languages every
    question has); None means every shipped language."""
    allowed = [c for c in (offered or LANGUAGES) if c in LANGUAGES]
    for cand in (query_lang, cookie_lang, *parse_accept_language(accept)):
        if cand in allowed:
            return cand  # type: ignore[return-value]
    return DEFAULT_LANG


def direction(lang: str) -> str:
    return LANGUAGES[lang].dir if lang in LANGUAGES else "ltr"


def html_lang(lang: str) -> str:
    return LANGUAGES[lang].html if lang in LANGUAGES else lang


def babel_locale(lang: str) -> str:
    return LANGUAGES[lang].locale if lang in LANGUAGES else DEFAULT_LANG


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(babel_locale(lang))


# Babel formats separators in a locale's own numbering system but leaves the digits Latin.
_DIGITS = {"arabext": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"), "arab": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")}


def _digits(text: str, lang: str) -> str:
    table = _DIGITS.get(_locale(lang).default_numbering_system)
    return text.translate(table) if table else text


def format_number(value: float, lang: str) -> str:
    """A number as the language writes it (Dari: Persian digits ۱۲; Swedish: 1 234,5)."""
    return _digits(format_decimal(value, locale=_locale(lang), numbering_system="default"), lang)


def format_date(value: dt.date | str | None, lang: str, form: str = "long") -> str:
    """A date as the language writes it; an ISO string (as stored releases keep dates) is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return _digits(_babel_date(value, form, locale=_locale(lang)), lang)
