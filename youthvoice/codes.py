"""The short codes young people type from a slip or a screen (survey one-time codes, workshop room codes,
personal rejoin and reply codes): one alphabet and one way of reading what was typed, so a code that
works in one place is typed the same way everywhere. Each domain keeps its own code length."""

from __future__ import annotations

import secrets
import unicodedata

# No look-alike pairs at all: no 0/O, 1/I, 2/Z, 5/S, 8/B, 6/G, so a misread character is a wrong
# character, never another valid code.
ALPHABET = "ACDEFHJKLMNPRTUVWXY34679"
# No valid code is longer; a pasted essay is cut here before it reaches a hash or a query.
MAX_TYPED = 16

# Letters from other scripts that look like the alphabet's Latin ones: a phone set to Ukrainian
# (Cyrillic) or Greek types these for the same key on the slip. Upper case only: normalise_code
# upper-cases first.
_SCRIPT_LOOKALIKES = str.maketrans({
    "А": "A", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "Р": "P", "Т": "T", "Х": "X", "У": "Y",
    "Α": "A", "Ε": "E", "Η": "H", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y",
})


def random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def code_from_bytes(data: bytes, length: int) -> str:
    """A code derived from bytes (a MAC), in the same alphabet: the first 8 bytes carry 64 bits,
    enough for 13 characters."""
    n = int.from_bytes(data[:8], "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(out)


def _typed_char(c: str) -> str:
    """One typed character as the alphabet's, or "" for a separator."""
    if c.isspace() or unicodedata.category(c) == "Pd" or c == "\u2212":  # spaces, any dash, minus sign
        return ""
    if c.isdecimal():  # Arabic-Indic and Persian digits from an ar/prs keyboard
        return str(unicodedata.decimal(c))
    return c


def normalise_code(raw: str | None) -> str:
    """What people type: lower case, spaces and dashes, full-width characters (NFKC), Cyrillic and
    Greek look-alike letters, Arabic-Indic digits. The result is only compared with stored codes."""
    folded = unicodedata.normalize("NFKC", raw or "").upper().translate(_SCRIPT_LOOKALIKES)
    return "".join(_typed_char(c) for c in folded)[:MAX_TYPED]


def format_code(code: str) -> str:
    """As printed: two halves with a dash, e.g. ACDE-FHJK."""
    half = (len(code) + 1) // 2
    return f"{code[:half]}-{code[half:]}"
