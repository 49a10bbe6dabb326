"""The first path: a young person answers; the answer is stored anonymously."""

import re
import threading

from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows, survey_def
from tests.survey.formwalk import form_token, post_screen, screen_questions
from tests.survey.intake import waiting

ANSWERS = {"closer_to_labour_market": 4, "found_useful": 5, "gender": "woman", "age_band": "16-19",
           "comment": "Bra! Mejla mig på kim@example.se eller 070-123 45 67, pnr 20070101-1234"}


def stored(settings) -> int:
    """Answers kept anywhere: waiting in the intake or already released."""
    return sum(raw_rows(settings, f"select count(*) as n from {t}")[0]["n"] for t in ("response_intake", "response"))


def test_json_submission_stores_anonymous_row(client, world, settings):
    s = published_survey(client, world)
    r = client.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": ANSWERS, "language": "sv"},
                    headers={"User-Agent": "Mozilla/5.0 SpecialPhone/123", "X-Forwarded-For": "203.0.113.77"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["results_url"] == f"/r/{s['slug']}"
    intake = waiting(settings)
    assert len(intake) == 1 and raw_rows(settings, "select * from response") == []
    release_all(settings)  # the release moves it, under a new random id (B = 1 here; batches: test_calendar)
    released = raw_rows(settings, "select * from response")
    assert len(released) == 1 and raw_rows(settings, "select * from response_intake") == []
    assert released[0]["id"] != intake[0]["id"]
    for row in (intake[0], released[0]):
        dump = repr(row)
        for leak in ("203.0.113", "127.0.0.1", "testclient", "SpecialPhone", "Mozilla"):
            assert leak not in dump
        # a released row also has its secret cell key (analysis/cellkey.py), a number 0-255
        assert set(row) - {"record_key"} == {"id", "survey_id", "version_id", "unit_id", "month", "language", "gender",
                                             "age_band", "newly_arrived", "disability", "closer", "useful", "answers"}
        assert ("record_key" in row) == (row is released[0])
        assert 200001 <= row["month"] <= 209912 and 1 <= row["month"] % 100 <= 12
        assert re.fullmatch(r"[0-9a-f]{32}", row["id"])
        comment = str(row["answers"])
        assert "kim@example.se" not in comment and "070-123 45 67" not in comment and "20070101-1234" not in comment
        assert "Bra!" in comment


def test_ids_are_random_not_sequential(client, world, settings):
    s = published_survey(client, world)
    for _ in range(6):
        assert client.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": ANSWERS}).status_code == 201
    intake = [r["id"] for r in raw_rows(settings, "select id from response_intake")]
    release_all(settings)
    released = [r["id"] for r in raw_rows(settings, "select id from response")]
    for ids in (intake, released):
        assert len(set(ids)) == 6
        assert sorted(ids) != ids or sorted(ids, reverse=True) != ids  # not insertion-ordered both ways
        assert len({int(i, 16) % 1000 for i in ids}) > 1
    assert not set(intake) & set(released)  # the release gives new ids: an intake id finds no answer


def test_invalid_answer_names_question_and_writes_nothing(client, world, settings):
    s = published_survey(client, world)
    url = f"/api/public/surveys/{s['slug']}/responses"
    for answers, field in [({"closer_to_labour_market": 7}, "closer_to_labour_market"),
                           ({"gender": "robot"}, "gender"),
                           ({"no_such_question": 1}, "no_such_question"),
                           ({"closer_to_labour_market": "4"}, "closer_to_labour_market"),
                           ({"comment": "x" * 1001}, "comment")]:
        r = client.post(url, json={"answers": answers})
        assert r.status_code == 422, (answers, r.text)
        assert field in r.json()["detail"]
    assert client.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code in (400, 422)
    assert client.post(url, json={"answers": {}, "extra": 1}).status_code == 422
    assert stored(settings) == 0


def test_unknown_closed_and_draft_surveys_are_404(client, world):
    assert client.post("/api/public/surveys/nope/responses", json={"answers": {}}).status_code == 404
    r = client.post("/api/surveys", json=survey_def(), headers=world.auth("fac_a"))
    slug = r.json()["slug"]
    assert client.post(f"/api/public/surveys/{slug}/responses", json={"answers": {}}).status_code == 404  # draft
    assert client.get(f"/s/{slug}").status_code == 404
    closed = published_survey(client, world, opens="2020-01-01", closes="2020-12-31")
    assert client.post(f"/api/public/surveys/{closed['slug']}/responses", json={"answers": {}}).status_code == 404


def test_one_time_code_spent_once(client, world, settings):
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 3}, headers=world.auth("fac_a")).json()["codes"]
    assert len(codes) == 3 and all(re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", c) for c in codes)
    assert not any(ch in "".join(codes) for ch in "O0I1B8S5Z2")
    url = f"/api/public/surveys/{s['slug']}/responses"
    assert client.post(url, json={"answers": ANSWERS}).status_code == 422  # code missing
    assert client.post(url, json={"answers": ANSWERS, "code": "AAAA-AAAA"}).status_code == 409  # unknown = used
    assert client.post(url, json={"answers": ANSWERS, "code": codes[0].lower()}).status_code == 201
    assert client.post(url, json={"answers": ANSWERS, "code": codes[0]}).status_code == 409
    assert stored(settings) == 1
    cols = {c for c in raw_rows(settings, "select * from survey_code")[0]}
    assert cols == {"survey_id", "code", "spent", "pending"}  # no time, no link to the answer (pending: until the release rewrites it)


def test_concurrent_double_spend_lets_exactly_one_through(client, world, settings):
    s = published_survey(client, world, access="code")
    code = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 1}, headers=world.auth("fac_a")).json()["codes"][0]
    url = f"/api/public/surveys/{s['slug']}/responses"
    import httpx
    from litestar.testing import TestClient

    from youthvoice.app import create_app

    results = []
    barrier = threading.Barrier(8)
    with TestClient(create_app(settings)) as c2:
        def go():
            barrier.wait()
            results.append(c2.post(url, json={"answers": ANSWERS, "code": code}).status_code)

        threads = [threading.Thread(target=go) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results).count(201) == 1 and sorted(results).count(409) == 7, results
    assert stored(settings) == 1
    del httpx


def test_phone_form_answer_and_double_tap_counts_once(client, world, settings):
    s = published_survey(client, world)
    page = client.get(f"/s/{s['slug']}")
    assert page.status_code == 200
    assert "<script src" not in page.text  # the one script is inline (keeps answers through a reload)
    assert "set-cookie" not in page.headers
    choose = {"q_closer_to_labour_market": "dk", "q_found_useful": "4", "q_gender": "man",
              "q_comment": "<script>alert(1)</script>"}
    html = page.text
    while 'value="send"' not in html:
        r = post_screen(client, s["slug"], html, choose)
        assert r.status_code == 200 and "set-cookie" not in r.headers
        html = r.text
    r1 = post_screen(client, s["slug"], html, choose, "send")
    assert r1.status_code == 200 and f"/r/{s['slug']}" in r1.text
    assert "set-cookie" not in r1.headers and "<script>alert" not in r1.text
    r2 = post_screen(client, s["slug"], html, choose, "send")  # double tap / back and resend
    assert r2.status_code == 200 and "De räknas bara en gång" in r2.text
    rows = waiting(settings)
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("closer", "useful", "gender")} == {"closer": 0, "useful": 4, "gender": "man"}
    assert "<script>alert(1)</script>" in str(rows[0]["answers"])  # kept as written, escaped on output


def test_phone_form_error_names_question_and_keeps_answers(client, world, settings):
    s = published_survey(client, world, access="code")
    code = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 1}, headers=world.auth("fac_a")).json()["codes"][0]
    first = client.get(f"/s/{s['slug']}")
    assert 'id="code"' in first.text  # a code survey opens on the code screen
    r = post_screen(client, s["slug"], first.text, {"code": ""}, "send")
    assert r.status_code == 422 and 'href="#code"' in r.text and "Skriv koden" in r.text
    r = post_screen(client, s["slug"], first.text, {"code": "ACDE-ACDE"}, "send")
    assert r.status_code == 409 and "Koden fungerar inte" in r.text
    # the QR code pre-fills the code and skips the code screen
    page = client.get(f"/s/{s['slug']}?code={code}")
    assert screen_questions(page.text)[0] == ["closer_to_labour_market", "found_useful", "gender"]
    assert 'id="code"' not in page.text and f'type="hidden" name="code" value="{code}"' in page.text
    assert "Sida 1 av 3" in page.text  # the first question screen is page 1
    r = post_screen(client, s["slug"], page.text, {"q_found_useful": "5", "q_closer_to_labour_market": "9"}, "send")
    assert r.status_code == 422
    # summary names the question and links to it; inline message in Swedish
    assert 'href="#q_closer_to_labour_market"><bdi>Känner du dig närmare' in r.text
    assert 'id="q_closer_to_labour_market-err">Välj en siffra från 1 till 5' in r.text
    assert 'value="5" checked' in r.text
    assert stored(settings) == 0


def test_screens_are_one_page_paged_by_fragment_and_nothing_is_posted_before_send(client, world, settings):
    """Next and Back are links to #p1, #p2, … in one page (CSS shows one screen at a time), so the
    phone's back button and reload never resend a form and no answer rides in a hidden field;
    the one POST (Send) is answered with a redirect to the thank-you page's own address."""
    s = published_survey(client, world)
    page = client.get(f"/s/{s['slug']}")
    assert screen_questions(page.text) == [["closer_to_labour_market", "found_useful", "gender"],
                                           ["age_band", "disability", "newly_arrived"], ["comment"]]
    assert "Sida 1 av 3" in page.text and 'href="#p2"' in page.text and 'href="#p1"' in page.text
    assert 'type="hidden" name="q_' not in page.text and "<script src" not in page.text
    assert stored(settings) == 0
    r = client.post(f"/s/{s['slug']}", data={"_form": form_token(page.text), "q_found_useful": "2",
                                             "q_comment": "hej", "_go": "send"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/s/{s['slug']}/thanks")
    assert [w["useful"] for w in waiting(settings)] == [2]
    again = client.get(r.headers["location"])  # reload of the thank-you page: a GET, nothing resent
    assert again.status_code == 200 and "Tack för dina svar" in again.text
    assert stored(settings) == 1


def test_language_switch_keeps_answers(client, world):
    s = published_survey(client, world)
    page = client.get(f"/s/{s['slug']}")
    switched = post_screen(client, s["slug"], page.text, {"q_found_useful": "4", "q_age_band": "16-19"},
                           go="lang", lang="ar")
    assert switched.status_code == 200
    assert 'dir="rtl"' in switched.text and "كم عمرك" in switched.text
    assert 'value="16-19" checked' in switched.text  # the answers given so far are kept
    assert re.search(r'name="q_found_useful" value="4" checked', switched.text)
    assert switched.cookies.get("lang") == "ar" and set(switched.cookies) == {"lang"}
    assert "<script src" not in switched.text


def test_free_text_has_no_autocomplete_and_limit(client, world):
    s = published_survey(client, world)
    page = client.get(f"/s/{s['slug']}")
    html = page.text
    while "<textarea" not in html:
        html = post_screen(client, s["slug"], html, {}).text
    assert re.search(r'<textarea[^>]*maxlength="1000"[^>]*autocomplete="off"', html)
    assert 'autocomplete="off"' in re.search(r'<form id="answer"[^>]*>', html).group(0)


def test_survey_page_and_css_fit_in_14_kb_gzip(client, world):
    import gzip

    s = published_survey(client, world)
    sizes = {}
    for lang in ("sv", "ar"):
        html = client.get(f"/s/{s['slug']}?lang={lang}").content
        css = client.get("/static/style.css").content
        sizes[lang] = len(gzip.compress(html, 6)) + len(gzip.compress(css, 6))
    print("survey page + css gzip bytes:", sizes)
    assert max(sizes.values()) <= 14 * 1024, sizes


def test_phone_form_in_three_languages(client, world):
    s = published_survey(client, world)
    sv = client.get(f"/s/{s['slug']}").text
    en = client.get(f"/s/{s['slug']}?lang=en").text
    ar = client.get(f"/s/{s['slug']}?lang=ar").text
    assert 'lang="sv"' in sv and "Känner du dig närmare" in sv
    assert 'lang="en"' in en and "Do you feel closer" in en
    assert 'dir="rtl"' in ar and "هل تشعر" in ar


def test_staff_of_other_unit_cannot_touch_survey(client, world):
    s = published_survey(client, world)
    assert client.post(f"/api/surveys/{s['id']}/publish", headers=world.auth("fac_b")).status_code == 404
    assert client.post(f"/api/surveys/{s['id']}/codes", json={"count": 1}, headers=world.auth("fac_b")).status_code == 404
    r = client.post("/api/surveys", json=survey_def(unit="unit-a"), headers=world.auth("fac_b"))
    assert r.status_code == 404


def test_bad_definitions_name_the_field_and_write_nothing(client, world, settings):
    bad = [
        (survey_def(unit="unit-a", closes="2019-01-01"), "closes"),
        (survey_def(unit="unit-a", access="sometimes"), "access"),
        ({**survey_def(), "questions": []}, "questions"),
        ({k: v for k, v in survey_def().items() if k != "title"}, "title"),
    ]
    for body, field in bad:
        r = client.post("/api/surveys", json=body, headers=world.auth("fac_a"))
        assert r.status_code == 422, r.text
        assert field in r.text
    assert raw_rows(settings, "select count(*) as n from survey")[0]["n"] == 0


def test_an_app_resending_with_its_idempotency_key_is_counted_once(client, world, settings):
    """A kiosk app whose connection was cut sends the same answer again with the same key: thanked, not
    stored twice. Only a hash of survey and key is kept, beside the month."""
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 2}, headers=world.auth("fac_a")).json()["codes"]
    url = f"/api/public/surveys/{s['slug']}/responses"
    key = "6f1c2a4e-9b7d-4c3e-8a15-0d2f6b9e7c41"
    first = client.post(url, json={"answers": ANSWERS, "code": codes[0]}, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = client.post(url, json={"answers": ANSWERS, "code": codes[0]}, headers={"Idempotency-Key": f'"{key}"'})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["results_url"] == first.json()["results_url"]
    assert stored(settings) == 1
    # Another key with the spent code is a second answer: refused as any used code is.
    other = client.post(url, json={"answers": ANSWERS, "code": codes[0]}, headers={"Idempotency-Key": "k" * 20})
    assert other.status_code == 409 and stored(settings) == 1
    # A key that is not one is refused, naming the header, and changes nothing (the code stays unused).
    bad = client.post(url, json={"answers": ANSWERS, "code": codes[1]}, headers={"Idempotency-Key": "short"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.text and stored(settings) == 1
    assert client.post(url, json={"answers": ANSWERS, "code": codes[1]}).status_code == 201
    rows = raw_rows(settings, "select * from submission_nonce")
    assert len(rows) == 1 and set(rows[0]) == {"nonce_hash", "month", "pending"}
    assert key not in repr(rows) and key not in repr(raw_rows(settings, "select * from response_intake"))


def test_an_open_survey_without_a_key_still_takes_every_answer(client, world, settings):
    s = published_survey(client, world)
    url = f"/api/public/surveys/{s['slug']}/responses"
    for headers in ({}, {}, {"Idempotency-Key": "a" * 16}, {"Idempotency-Key": "a" * 16}, {"Idempotency-Key": "b" * 16}):
        assert client.post(url, json={"answers": ANSWERS}, headers=headers).status_code == 201
    assert stored(settings) == 4
