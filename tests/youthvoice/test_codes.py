"""One way of reading a typed code (youthvoice/codes.py) for survey one-time codes and workshop room codes:
what a young person types from the slip or the screen gets them in the same way in both places."""

from __future__ import annotations

import re

from tests.conftest import published_survey
from tests.workshops.helpers import workshop
from youthvoice.codes import ALPHABET, MAX_TYPED, format_code, normalise_code, random_code

ANSWERS = {"closer_to_labour_market": 4}

CYRILLIC = str.maketrans("ACEHKMPTXY", "АСЕНКМРТХУ")
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def typings(code: str) -> list[str]:
    """Ways a person types `code`: each must read as the code itself."""
    half = len(code) // 2
    return [
        code.lower(),
        f" {code[:half].lower()} - {code[half:]} ",
        f"{code[:half]}\u2013{code[half:]}",  # an en dash from a phone's auto-correct
        f"{code[:half]}\u00a0{code[half:]}",  # a non-breaking space pasted from a message
        "".join(chr(ord(c) + 0xFEE0) for c in code),  # full-width, from a CJK keyboard
        code.translate(CYRILLIC),  # a Ukrainian keyboard: the same-looking letters
        code.translate(CYRILLIC).lower(),
        code.translate(ARABIC_DIGITS),
        code.translate(PERSIAN_DIGITS),
    ]


def test_every_way_of_typing_reads_as_the_code():
    for length in (5, 8, 10):  # rejoin, room and reply codes, survey codes
        code = random_code(length)
        assert re.fullmatch(f"[{ALPHABET}]{{{length}}}", code)
        for typed in typings(code):
            assert normalise_code(typed) == code, typed
    fixed = "ACEHKMPTXY34679"  # every letter that has a look-alike, and every digit
    assert all(normalise_code(t) == fixed for t in typings(fixed))
    assert normalise_code(None) == normalise_code("  - ") == ""
    assert len(normalise_code("A" * 500)) == MAX_TYPED
    assert format_code("ACDEFHJKLM") == "ACDEF-HJKLM" and format_code("ACDEFHJK") == "ACDE-FHJK"


def test_alphabet_has_no_lookalike_pairs():
    for a, b in ("0O", "1I", "2Z", "5S", "8B", "6G"):
        assert not (a in ALPHABET and b in ALPHABET), (a, b)


def test_survey_code_and_room_code_accept_the_same_typing(client, world):
    """A survey one-time code and a workshop room code, each typed the same odd ways, both get in."""
    ways = typings("X")  # how many ways there are
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": len(ways)},
                        headers=world.auth("fac_a")).json()["codes"]
    url = f"/api/public/surveys/{s['slug']}/responses"
    for i, printed in enumerate(codes):  # each code typed one of the ways
        typed = typings(printed.replace("-", ""))[i]
        r = client.post(url, json={"answers": ANSWERS, "code": typed})
        assert r.status_code == 201, (printed, typed, r.text)
        assert client.post(url, json={"answers": ANSWERS, "code": printed}).status_code == 409  # it was spent

    room = workshop(client, world)["code"]
    for typed in typings(room):
        r = client.get("/w/", params={"code": typed}, follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"] == f"/w/{room}", (typed, r.status_code)
    assert client.get("/w/", params={"code": "OOOO-0000"}).status_code == 404
