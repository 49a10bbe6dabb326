"""One-time codes reveal nothing before use: a code is checked when the link opens, an unknown and a used
code get the same status and the same page (HTML) or body (JSON), and the checks are rate-limited per
address and per survey, so trying codes one after another soon gets 429 (issue 16.1, issue 17.7)."""

import re

import httpx
import pytest

from tests.conftest import published_survey, raw_rows
from tests.reliability.server import LiveServer
from tests.survey.formwalk import post_screen

ANSWERS = {"found_useful": 4}
UNKNOWN = "ACDE-FGHK"  # letters a real code may have, so only the database can tell it is not one


def _codes(client, world, s, n):
    return client.post(f"/api/surveys/{s['id']}/codes", json={"count": n}, headers=world.auth("fac_a")).json()["codes"]


def _spend(client, s, code):
    r = client.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": ANSWERS, "code": code})
    assert r.status_code == 201, r.text


def _same_page(html: str, code: str) -> str:
    """The page with what must differ taken out: the code typed in, and the form's once-only token."""
    html = html.replace(code, "CODE").replace(code.replace("-", ""), "CODE")
    return re.sub(r'name="_form" value="[^"]+"', 'name="_form" value="TOKEN"', html)


def test_unknown_and_used_code_get_identical_answers(client, world, settings):
    s = published_survey(client, world, access="code")
    used, fresh = _codes(client, world, s, 2)
    _spend(client, s, used)
    # assumed unknown: one code in 30^8 is a real one, but make sure
    assert UNKNOWN.replace("-", "") not in {c["code"] for c in raw_rows(settings, "select code from survey_code")}

    # 1. the QR code's link, checked when it opens
    opened = {c: client.get(f"/s/{s['slug']}?code={c}") for c in (UNKNOWN, used)}
    assert {r.status_code for r in opened.values()} == {409}
    assert _same_page(opened[UNKNOWN].text, UNKNOWN) == _same_page(opened[used].text, used)
    assert "Koden fungerar inte. Kontrollera den – varje kod fungerar en gång." in opened[used].text
    assert 'id="code"' in opened[used].text and 'name="q_found_useful"' not in opened[used].text
    # the same in the page's language
    ar = {c: client.get(f"/s/{s['slug']}?code={c}&lang=ar") for c in (UNKNOWN, used)}
    assert _same_page(ar[UNKNOWN].text, UNKNOWN) == _same_page(ar[used].text, used)
    assert "هذا الرمز لا يعمل" in ar[used].text and "Koden fungerar inte" not in ar[used].text
    client.cookies.clear()

    # 2. typed on the code screen and "Next"
    first = client.get(f"/s/{s['slug']}").text
    typed = {c: post_screen(client, s["slug"], first, {"code": c}) for c in (UNKNOWN, used)}
    assert {r.status_code for r in typed.values()} == {409}
    assert _same_page(typed[UNKNOWN].text, UNKNOWN) == _same_page(typed[used].text, used)

    # 3. the final send with a code that went bad on the way (the JSON API's 409, the page's 409)
    api = f"/api/public/surveys/{s['slug']}/responses"
    j = {c: client.post(api, json={"answers": ANSWERS, "code": c}) for c in (UNKNOWN, used)}
    assert {r.status_code for r in j.values()} == {409}
    assert j[UNKNOWN].json() == j[used].json()
    assert j[used].json()["detail"].startswith("code:")

    # a good code still opens the questions, and nothing was spent or stored by the refusals
    good = client.get(f"/s/{s['slug']}?code={fresh}")
    assert good.status_code == 200 and 'name="q_found_useful"' in good.text
    assert raw_rows(settings, "select count(*) as n from response_intake")[0]["n"] == 1
    assert raw_rows(settings, "select count(*) as n from survey_code where spent")[0]["n"] == 1


def test_a_spent_code_is_refused_when_the_link_opens_and_questions_start_at_page_1(client, world):
    s = published_survey(client, world, access="code")
    code, other = _codes(client, world, s, 2)
    # opened through the QR code: the first screen is the first question page, and it says page 1
    page = client.get(f"/s/{s['slug']}?code={code}")
    assert page.status_code == 200
    pages = re.search(r"Sida (\d+) av (\d+)", page.text)
    assert pages and pages.group(1) == "1", page.text
    total = int(pages.group(2))
    # every screen is a section of the one page (issue 17.8): they count 1, 2, … total
    html = page.text
    seen = [int(n) for n in re.findall(r"Sida (\d+) av", html)]
    assert seen == list(range(1, total + 1))
    # the code screen itself is not counted as a page
    start = client.get(f"/s/{s['slug']}")
    assert 'id="code"' in start.text and "Sida " not in start.text
    thanks = post_screen(client, s["slug"], html, {"q_found_useful": "4"}, "send")
    assert thanks.status_code == 200 and "Tack för dina svar" in thanks.text
    # the same slip scanned again: refused at once, on the code screen, before any question
    again = client.get(f"/s/{s['slug']}?code={code}")
    assert again.status_code == 409
    assert "Koden fungerar inte" in again.text and 'name="q_found_useful"' not in again.text
    # typing the other code there goes on to page 1
    nxt = post_screen(client, s["slug"], again.text, {"code": other})
    assert nxt.status_code == 200 and "Sida 1 av" in nxt.text


def test_a_hundred_guesses_from_one_address_get_429(client, world, settings, still_clock):
    s = published_survey(client, world, access="code")
    (good,) = _codes(client, world, s, 1)
    statuses = [client.get(f"/s/{s['slug']}?code=ACDE-{i:04d}").status_code for i in range(100)]
    assert settings.code_check_rate == 50  # the default
    assert statuses.count(409) == 50 and statuses.index(429) == 50 and set(statuses[50:]) == {429}
    # once limited, a good code gets the same 429: the limit itself tells nothing
    limited = client.get(f"/s/{s['slug']}?code={good}")
    assert limited.status_code == 429 and "För många försök" in limited.text
    first = client.get(f"/s/{s['slug']}").text
    assert post_screen(client, s["slug"], first, {"code": good}).status_code == 429
    # nothing was spent: the code still works once the window has passed
    assert raw_rows(settings, "select count(*) as n from survey_code where spent")[0]["n"] == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.slow  # a real server
def test_guesses_are_limited_per_survey_too(settings, world, tmp_path):
    """A real server behind a proxy (X-Forwarded-For): one address's checks are cut off by its own
    limit (YOUTHVOICE_CODE_CHECK_RATE=3 here) and its refused checks count for nobody else; wrong codes
    spread over many addresses meet the survey's own limit of wrong codes (10 addresses' worth of
    YOUTHVOICE_CODE_MISS_LIMIT, at least 200), which refuses the addresses that keep guessing but not
    one with a first mistake (issue 25.3; tests/security/test_fair_limits.py has the details)."""
    var = tmp_path / "srv"
    var.mkdir()
    live = LiveServer(settings, var, YOUTHVOICE_CODE_CHECK_RATE="3", YOUTHVOICE_CODE_MISS_LIMIT="20",
                      YOUTHVOICE_TRUSTED_PROXIES="127.0.0.1")
    live.start()
    try:
        with httpx.Client(base_url=live.url, timeout=30) as c:
            s = published_survey(c, world, access="code")
            other = published_survey(c, world, access="code")
            one = [c.get(f"/s/{s['slug']}?code=ACDE-{i:04d}", headers={"X-Forwarded-For": "203.0.113.9"}).status_code
                   for i in range(40)]
            assert one == [409, 409, 409] + [429] * 37  # one address: its own limit, and nothing more
            # 200 wrong codes from 100 addresses (2 each): under every address's own limit
            spread = [c.get(f"/s/{s['slug']}?code=ACDE-{a:02d}{i:02d}", headers={"X-Forwarded-For": f"198.51.100.{a}"})
                      .status_code for a in range(100) for i in range(2)]
            assert set(spread) == {409}, spread
            # the survey is now being guessed: an address that keeps guessing is refused (it had 2)...
            more = [c.get(f"/s/{s['slug']}?code=ACDE-{i:04d}", headers={"X-Forwarded-For": "198.51.100.1"})
                    .status_code for i in range(5)]
            assert more[-1] == 429, more
            # ...a phone with a first mistake is not
            r = c.get(f"/s/{s['slug']}?code=ACDE-FHJK", headers={"X-Forwarded-For": "192.0.2.44"})
            assert r.status_code == 409
            # another survey is not held up by it
            r = c.get(f"/s/{other['slug']}?code=ACDE-0001", headers={"X-Forwarded-For": "198.51.100.200"})
            assert r.status_code == 409
    finally:
        live.stop()
