"""Text that is not text — bytes that are not UTF-8, lone surrogates — in a form post or a JSON body
is refused with a 422 naming the field, and nothing is stored (issue 25, item 7). Before, a form
stored it silently changed (U+FFFD) and a JSON body got a 400 that named no field."""

from __future__ import annotations

import json

from tests.conftest import published_survey, raw_rows
from tests.survey.intake import waiting
from tests.security.routes import make_objects
from youthvoice.web import youth_form_token

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


def stored(settings) -> list[str]:
    """Each stored answer's free text (the column is JSON text on SQLite, jsonb on PostgreSQL)."""
    rows = [r["answers"] for r in waiting(settings)]  # waiting answers are sealed: opened as the release does
    return [str((json.loads(a) if isinstance(a, str) else a).get("comment")) for a in rows]


def test_survey_form_with_broken_text_is_refused_naming_the_field(client, world, settings):
    s = published_survey(client, world, access="open")
    token = youth_form_token(settings.secret_key, f"survey:{s['slug']}").encode()
    # percent-encoded bytes that are not UTF-8, the same sent raw, and a surrogate encoded as UTF-8
    for comment in (b"ab%FFcd", b"ab\xff\xfecd", b"ab%ED%A0%80cd"):
        body = b"q_gender=woman&q_comment=" + comment + b"&_go=send&_form=" + token
        r = client.post(f"/s/{s['slug']}", content=body, headers=FORM)
        assert r.status_code == 422, (comment, r.status_code)
        assert "text/html" in r.headers["content-type"]
        assert "q_comment" in r.text  # the page names the field
        assert stored(settings) == []
    # The same form with sound text is taken: the refusal is about the bytes, not the form.
    good = body.replace(comment, b"ab%C3%A5cd")
    assert client.post(f"/s/{s['slug']}", content=good, headers=FORM).status_code == 200
    assert stored(settings) == ["abåcd"]


def test_json_answer_with_broken_text_is_refused_naming_the_field(client, world, settings):
    s = published_survey(client, world, access="open")
    for comment in (b'"ab\\ud800cd"', b'"ab\\udc00"', b'"ab\xff\xfecd"'):  # lone high, lone low, raw bytes
        body = b'{"answers": {"gender": "woman", "comment": ' + comment + b"}}"
        r = client.post(f"/api/public/surveys/{s['slug']}/responses", content=body, headers=JSON)
        assert r.status_code == 422, (comment, r.status_code, r.text)
        assert r.json()["errors"][0]["field"] == "answers.comment"
        assert stored(settings) == []


def test_escaped_surrogate_pair_is_one_character_and_taken(client, world, settings):
    """JSON writers that escape everything (Python's json.dumps) send an emoji as two escapes."""
    s = published_survey(client, world, access="open")
    body = json.dumps({"answers": {"gender": "woman", "comment": "bra 😀"}}).encode()
    assert b"\\ud83d\\ude00" in body
    r = client.post(f"/api/public/surveys/{s['slug']}/responses", content=body, headers=JSON)
    assert r.status_code == 201, r.text
    assert stored(settings) == ["bra 😀"]


def test_workshop_statement_with_lone_surrogate_is_refused(client, world, settings):
    o = make_objects(client, world)
    r = client.post(f"/api/public/workshops/{o.code}/statements", content=b'{"text": "vi vill \\udbff"}',
                    headers={**JSON, **o.participant})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "text"
    texts = raw_rows(settings, "SELECT text FROM workshop_revision")
    assert not any("vi vill" in str(t["text"]) for t in texts)
