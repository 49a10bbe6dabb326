"""Which characters the installed fonts can draw, from fontconfig (Chromium on Linux picks its
fonts, fallbacks included, through fontconfig: a character no font covers is drawn as a box)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from functools import cache


@cache
def font_coverage() -> frozenset[int] | None:
    """Code points some installed font has; None without fontconfig."""
    if shutil.which("fc-list") is None:
        return None
    out = subprocess.run(["fc-list", "--format", "%{charset}\n"], capture_output=True, text=True, check=True).stdout
    covered: set[int] = set()
    for line in out.splitlines():
        for part in line.split():
            lo, _, hi = part.partition("-")
            covered.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return frozenset(covered)


def needs_glyph(ch: str) -> bool:
    # Controls, format characters (ZWNJ in Persian, bidi marks) and spaces draw no glyph of their own.
    return unicodedata.category(ch) not in ("Cc", "Cf", "Zs", "Zl", "Zp")


def missing_glyphs(text: str, covered: frozenset[int]) -> set[str]:
    return {ch for ch in text if needs_glyph(ch) and ord(ch) not in covered}
