"""Guarantee 3: hostile input. schemathesis against the app's own OpenAPI document
(public routes anonymously, staff routes with a facilitator's token, real objects in
the path so the handlers are reached) on a real server; hypothesis on the HTML forms
(/login, /s/{slug}): oversize bodies, wrong types, broken UTF-8, huge numbers,
unknown fields, script tags. No 5xx, no half-written rows, stored text escaped."""

from __future__ import annotations

import os
import re

import httpx
import msgspec.json as msgspec_json
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows
from tests.reliability.server import LiveServer
from tests.security.routes import is_streaming, make_objects, route_table
from tests.survey.intake import waiting
from youthvoice.web import youth_form_token

EXAMPLES = int(os.environ.get("YOUTHVOICE_FUZZ_EXAMPLES", "12"))
FORM_EXAMPLES = int(os.environ.get("YOUTHVOICE_FORM_EXAMPLES", "40"))
FUZZ = {"deadline": None, "database": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}

NASTY = st.sampled_from([
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' OR 1=1 --", "9" * 400, "-1", "1e309",
    "NaN", "\u202e\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\x00", "dk", "yes", "%", "A" * 20000, "", "[]",
    # numbers that are digits to str.isdigit() but not to int(), and more digits than int() takes
    "²", "\u0663", "\u06f5", "\uff15", "9" * 5000, "-0", "0x10", "1_000", " 5", "5\n"])
TEXT = st.one_of(NASTY, st.text(max_size=300), st.integers(min_value=-(10**30), max_value=10**30).map(str))


@pytest.mark.slow
def test_openapi_fuzz_no_server_errors(settings, world, tmp_path):
    server = LiveServer(settings, tmp_path / "var")
    server.var_dir.mkdir()
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            # objects of unit-a to aim at (the LiveServer has its own app; make them over HTTP)
            o = make_objects(c, world)
        schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
        real = {"slug": o.slug, "survey_id": o.survey_id, "workshop_id": o.workshop_id, "code": o.code,
                "sid": o.sid, "unit": "unit-a"}
        calls, statuses, failures = 0, {}, []
        operations = [r.ok() for r in schema.get_all_operations()]
        assert operations
        for op in operations:
            staff = not op.path.startswith("/api/public/")
            headers = world.auth("fac_a") if staff else (o.participant or {})

            @hsettings(max_examples=EXAMPLES, **FUZZ)
            @given(case=op.as_strategy())
            def run(case):
                nonlocal calls
                for name in list(case.path_parameters or {}):
                    if name in real and real[name] and calls % 3:
                        case.path_parameters[name] = real[name]
                r = case.call(base_url=server.url, headers=headers, timeout=30)  # noqa: B023 (run() is called at once)
                calls += 1
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {r.status_code}")

            run()
        assert not failures, "\n".join(failures[:20])
        # No half-written submission: every stored answer of the code survey spent exactly one code.
        n = raw_rows(settings, f"SELECT count(*) AS c FROM response_intake WHERE survey_id = {o.survey_id}")[0]["c"]
        spent = raw_rows(settings, f"SELECT count(*) AS c FROM survey_code WHERE survey_id = {o.survey_id} "
                                   "AND spent = true")[0]["c"]
        assert n == spent
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
    print(f"\nFUZZ-API {settings.database_url.split(':')[0]}: {len(operations)} operations, {calls} calls, "
          f"statuses {dict(sorted(statuses.items()))}")


def _form_survey(client, world):

    s = published_survey(client, world, access="open")
    return s


@pytest.mark.slow  # fuzz
def test_html_forms_take_anything_without_5xx_or_half_rows(client, world, settings):
    s = _form_survey(client, world)
    slug = s["slug"]
    counter = {"calls": 0, "stored": 0}

    def count() -> int:
        return raw_rows(settings, f"SELECT count(*) AS c FROM response_intake WHERE survey_id = {s['id']}")[0]["c"]

    @hsettings(max_examples=FORM_EXAMPLES, **FUZZ)
    @given(fields=st.dictionaries(st.sampled_from(["q_closer_to_labour_market", "q_found_useful", "q_gender",
                                                   "q_age_band", "q_newly_arrived", "q_disability", "q_comment",
                                                   "code", "_go", "_screen", "lang", "unknown_field", "q_nope",
                                                   "answers[x]"]),
                                  st.one_of(TEXT, st.lists(TEXT, max_size=3)), max_size=10),
           send=st.booleans(), token=st.sampled_from(["valid", "none", "garbage"]))
    def survey_form(fields, send, token):
        data = dict(fields)
        if send:
            data["_go"] = "send"
        if token == "valid":
            data["_form"] = youth_form_token(settings.secret_key, f"survey:{slug}")
        elif token == "garbage":
            data["_form"] = "a.b.c"
        before = count()
        r = client.post(f"/s/{slug}", data=data)
        counter["calls"] += 1
        assert r.status_code < 500, (data, r.status_code)
        grew = count() - before
        assert grew in (0, 1)
        if grew:
            counter["stored"] += 1
            assert r.status_code == 200 and token == "valid"

    @hsettings(max_examples=FORM_EXAMPLES // 2, **FUZZ)
    @given(fields=st.dictionaries(st.sampled_from(["email", "password", "next", "_form", "extra"]),
                                  st.one_of(TEXT, st.lists(TEXT, max_size=3)), max_size=5))
    def login_form(fields):
        r = client.post("/login", data=fields, follow_redirects=False)
        counter["calls"] += 1
        assert r.status_code in (400, 403, 422, 429), r.status_code
        assert "yv_session" not in r.headers.get("set-cookie", "")

    survey_form()
    login_form()
    # Raw bodies no form library would send.
    token = youth_form_token(settings.secret_key, f"survey:{slug}")
    raw = [
        b"q_comment=%FF%FE%80&_go=send&_form=" + token.encode(),           # broken UTF-8, percent-encoded
        b"q_comment=\xff\xfe\x80abc&_go=send&_form=" + token.encode(),      # broken UTF-8, raw bytes
        b"q_gender=man&q_gender=woman&q_gender=" + b"x" * 5000 + b"&_go=send",
        b"=&&&==&q_=%00&_go=send",
        b'{"answers": {"comment": "json to a form"}}',
        b"q_comment=" + b"A" * 1_100_000,                                  # over the 1 MB body limit
    ]
    for body in raw:
        for ctype in ("application/x-www-form-urlencoded", "application/json", "multipart/form-data"):
            before = count()
            r = client.post(f"/s/{slug}", content=body, headers={"content-type": ctype})
            counter["calls"] += 1
            assert r.status_code < 500, (body[:60], ctype, r.status_code)
            assert count() - before in (0, 1)
    r = client.post("/login", content=b"email=\xff\xfe&password=%ZZ", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code < 500
    print(f"\nFUZZ-FORMS {settings.database_url.split(':')[0]}: {counter['calls']} calls, {counter['stored']} stored")


def test_stored_text_is_rendered_escaped_everywhere(client, world, settings):
    """A script tag in a young person's words comes back as text on every page."""
    o = make_objects(client, world)  # its workshop statement carries a script tag
    open_survey = published_survey(client, world, access="open")
    evil = '<script>alert("yv")</script><img src=x onerror=alert(2)>'
    r = client.post(f"/api/public/surveys/{open_survey['slug']}/responses",
                    json={"answers": {"comment": evil, "gender": "woman", "closer_to_labour_market": 5}})
    assert r.status_code == 201
    stored = waiting(settings)
    assert any("<script>" in str(row["answers"]) for row in stored), "kept as written"
    release_all(settings)  # released, so the pages that show answers have it to show
    stored = raw_rows(settings, "SELECT answers FROM response")
    assert any("<script>" in str(row["answers"]) for row in stored), "kept as written when released"
    pages = 0
    for route in route_table(client.app):
        if route.method != "GET" or is_streaming(route.path):
            continue
        for who in ("admin", "fac_a"):
            for survey in (o, None):
                url = o.fill(route) if survey else o.fill(route).replace(o.slug, open_survey["slug"])
                r = client.get(url, headers=world.auth(who), params={"unit": "unit-a", "period": "2026"})
                if "html" not in r.headers.get("content-type", ""):
                    continue
                pages += 1
                assert not re.search(r"<script>alert|<img src=x", r.text, re.IGNORECASE), url
    assert pages >= 10


# Numbers at and beyond every edge a JSON parser, Python's int() and the databases' columns have.
EDGE_NUMBERS = st.sampled_from([0, -1, 1, 5, 6, 2**31 - 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**400,
                                0.5, -0.0, 1e308, 4.9e-324, True, False])


def _nested(depth: int, leaf):
    return st.recursive(leaf, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), kids, max_size=3)),
                        max_leaves=depth)


JSON_VALUE = _nested(40, st.one_of(EDGE_NUMBERS, TEXT, st.none()))


@pytest.mark.slow  # fuzz
def test_public_json_routes_take_nested_and_numeric_edge_cases_without_5xx(client, world, settings):
    """hypothesis on the five public JSON routes with bodies the OpenAPI run does not make: values
    nested deep and wide, numbers at every edge, and bodies nested thousands of levels deep."""
    s = published_survey(client, world, access="open")
    o = make_objects(client, world)
    who = o.participant or {}
    routes = [("POST", f"/api/public/surveys/{s['slug']}/responses"),
              ("POST", f"/api/public/surveys/{o.slug}/responses"),
              ("POST", f"/api/public/workshops/{o.code}/participants"),
              ("POST", f"/api/public/workshops/{o.code}/statements"),
              ("PUT", f"/api/public/workshops/{o.code}/statements/{o.sid}"),
              ("POST", f"/api/public/workshops/{o.code}/statements/{o.sid}/vote")]
    keys = st.sampled_from(["answers", "code", "language", "text", "themes", "nickname", "vote",
                            "found_useful", "closer_to_labour_market", "gender", "comment"])
    statuses: dict[int, int] = {}

    def stored() -> int:
        return raw_rows(settings, "SELECT count(*) AS c FROM response_intake")[0]["c"]

    @hsettings(max_examples=FORM_EXAMPLES * 2, **FUZZ)
    @given(route=st.sampled_from(routes),
           body=st.one_of(st.dictionaries(keys, JSON_VALUE, max_size=4),
                          st.builds(lambda a: {"answers": a}, st.dictionaries(keys, JSON_VALUE, max_size=5)),
                          JSON_VALUE),
           depth=st.sampled_from([0, 0, 0, 200, 3000, 20000]))
    def run(route, body, depth):
        method, path = route
        raw = msgspec_json.encode(body)
        if depth:
            raw = b'{"answers": ' + b"[" * depth + raw + b"]" * depth + b"}"
        before = stored()
        r = client.request(method, path, content=raw, headers={"content-type": "application/json", **who})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (path, raw[:200], r.status_code, r.text[:300])
        grew = stored() - before
        assert grew in (0, 1) and (not grew or r.status_code == 201)

    run()
    assert sum(statuses.values()) >= FORM_EXAMPLES
    print(f"\nFUZZ-JSON-EDGES {settings.database_url.split(':')[0]}: statuses {dict(sorted(statuses.items()))}")
