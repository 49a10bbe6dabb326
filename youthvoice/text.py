"""What young people write, made safe to show and to keep: invisible and direction-changing characters
removed, and personal details (e-mail addresses, phone numbers, personal identity numbers, names given
as names) replaced, also when they are hidden with the tricks a plain regular expression misses —
zero-width characters between the digits, full-width `＠`, Arabic-Indic digits, `900101 - 1234`."""

from __future__ import annotations

import re
import unicodedata

REMOVED = "[borttaget]"

# Bidi controls turn text around on screen ("gpj.exe" shown as "exe.jpg") and can make a statement
# look like the room's own words; zero-width and other invisible characters hide words from the
# scrubber and from the people approving. ZWNJ and ZWJ are kept: Dari and Persian words need ZWNJ,
# emoji sequences need ZWJ (they are still ignored while looking for personal details).
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
INVISIBLE = set("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u115f\u1160\u3164\uffa0\u034f")
KEPT_JOINERS = {"\u200c", "\u200d"}
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def _is_dropped(c: str) -> bool:
    if c in KEPT_JOINERS:
        return False
    if c in BIDI or c in INVISIBLE:
        return True
    cat = unicodedata.category(c)
    # Controls (but line breaks and tabs), format characters, unassigned and private-use code points.
    return (cat == "Cc" and c not in "\n\t\r") or cat in ("Cf", "Co", "Cn")


def strip_invisible(text: str) -> str:
    """Removes bidi controls, zero-width and other invisible characters; odd spaces become spaces."""
    if text.isascii() and text.isprintable():
        return text
    return _SPACES.sub(" ", "".join(c for c in text if not _is_dropped(c)))


def has_nul(text: str) -> bool:
    return "\x00" in text


# Digits of other scripts (Arabic-Indic, Persian, Devanagari …) count as digits for the scrubber.
def _fold(c: str) -> str:
    if c in KEPT_JOINERS or _is_dropped(c):
        return ""
    if c.isdigit():
        try:
            return str(unicodedata.digit(c))
        except (TypeError, ValueError):
            return c
    folded = unicodedata.normalize("NFKC", c)
    return folded


_EMAIL = re.compile(r"[\w.+-]+\s*(?:@|\(at\)|\[at\])\s*[\w-]+(?:\s*\.\s*[\w-]+)+", re.IGNORECASE)
# Swedish personal identity / coordination numbers: (YY)YYMMDD, a separator (also with spaces), 4 digits.
_PNR = re.compile(r"(?<!\d)(?:19|20)?\d{6}\s*[-+–]?\s*\d{4}(?!\d)")
# Phone numbers: +46 or 0046 or a leading 0, then 7–10 more digits in any grouping.
_PHONE = re.compile(r"(?:\+\s*46|(?<!\d)0046|(?<![\d\w])0)(?:[\s\-–/().]*\d){6,10}(?!\d)")
# Names given as names ("jag heter Sara", "my name is Sara Ali"); a bare name cannot be told from a word.
_NAMED = re.compile(r"(?i:\b(?:jag\s+heter|mitt\s+namn\s+är|han\s+heter|hon\s+heter|hen\s+heter|"
                    r"my\s+name\s+is|i\s+am\s+called|i'm\s+called))\s+"
                    r"(?!(?i:inte|nog|också|typ|bara|som|not|just)\b)(\w[\w'-]*(?:\s+[A-ZÅÄÖ][\w'-]*)?)")


def scrub(text: str) -> str:
    """Replaces e-mail addresses, personal identity numbers, phone numbers and names introduced as
    names with [borttaget]. Matching runs on a folded copy (invisible characters dropped, full-width
    and other-script digits folded to ASCII) and the matched spans are replaced in the original, so
    everything else stays exactly as written."""
    folded: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        for f in _fold(c):
            folded.append(f)
            origin.append(i)
    flat = "".join(folded)
    spans: list[tuple[int, int]] = []
    for rx in (_EMAIL, _PNR, _PHONE):
        spans.extend((origin[m.start()], origin[m.end() - 1] + 1) for m in rx.finditer(flat) if m.end() > m.start())
    for m in _NAMED.finditer(flat):
        spans.append((origin[m.start(1)], origin[m.end(1) - 1] + 1))
    if not spans:
        return text
    out, at = [], 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        start = max(start, at)
        out.append(text[at:start])
        out.append(REMOVED)
        at = end
    out.append(text[at:])
    return "".join(out)


def clean_user_text(text: str) -> str:
    """A young person's statement or free-text answer as it is kept: invisible characters removed,
    personal details scrubbed, surrounding space trimmed."""
    return scrub(strip_invisible(text)).strip()


def clean_name(text: str, max_len: int = 40) -> str:
    """A nickname: invisible characters removed, runs of space collapsed."""
    return " ".join(strip_invisible(text).split())[:max_len]
