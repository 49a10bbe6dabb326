"""Languages. Message ids are English; Swedish is the default language.

Catalogues live in translations/<lang>/LC_MESSAGES/<domain>.po, one file per
domain (core, survey, workshops, analysis, ...). They are compiled in memory at
start, so adding a language is one folder of .po files and one line in LANGUAGES.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANG = "sv"
# code -> (name in its own language, text direction)
LANGUAGES: dict[str, tuple[str, str]] = {
    "sv": ("Svenska", "ltr"),
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
}
LANG_COOKIE = "lang"


def catalog_files(lang: str) -> list[Path]:
    return sorted((TRANSLATIONS / lang / "LC_MESSAGES").glob("*.po"))


@cache
def translations(lang: str) -> NullTranslations:
    merged: NullTranslations | None = None
    for po in catalog_files(lang):
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
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


def pick_language(query_lang: str | None, cookie_lang: str | None, accept: str | None = None) -> str:
    for cand in (query_lang, cookie_lang):
        if cand in LANGUAGES:
            return cand  # type: ignore[return-value]
    return DEFAULT_LANG


def direction(lang: str) -> str:
    return LANGUAGES.get(lang, ("", "ltr"))[1]
