"""Guarantee 5: the security baseline (OWASP ASVS level 2 where it applies)."""

from __future__ import annotations

import dataclasses
import io
import re
import sys

import httpx
import pytest
from litestar.testing import TestClient

from tests.conftest import PASSWORD, raw_rows, survey_def
from tests.reliability.dbsnap import snapshot
from tests.reliability.server import LiveServer
from tests.security.routes import (
    form_body,
    is_public,
    is_streaming,
    make_objects,
    route_table,
)
from tests.youthvoice.test_auth import csrf_of, form_token, login
from youthvoice.app import create_app
from youthvoice.auth import MIN_PASSWORD, hash_password, verify_password


def test_passwords_are_argon2id_with_a_minimum_length(settings, world, monkeypatch):
    with pytest.raises(ValueError):
        hash_password("x" * (MIN_PASSWORD - 1))
    h = hash_password("x" * MIN_PASSWORD)
    assert h.startswith("$argon2id$") and verify_password(h, "x" * MIN_PASSWORD)
    assert not verify_password(h, "x" * (MIN_PASSWORD + 1))
    stored = raw_rows(settings, "SELECT password_hash FROM staff_user")
    assert stored and all(r["password_hash"].startswith("$argon2id$") for r in stored)
    # the command that creates users refuses a short password too
    from youthvoice import cli

    monkeypatch.setenv("YOUTHVOICE_DATABASE_URL", settings.database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short-pw\n"))
    with pytest.raises(SystemExit) as e:
        cli.main(["user", "create", "--email", "new@test.example", "--role", "facilitator"])
    assert "12" in str(e.value)
    assert not raw_rows(settings, "SELECT id FROM staff_user WHERE email = 'new@test.example'")


def test_login_is_throttled(settings, world, still_clock):
    with TestClient(create_app(dataclasses.replace(settings, login_rate=3))) as c:
        for _ in range(3):
            assert login(c, world.emails["fac_a"], "wrong password 123").status_code == 400
        r = login(c, world.emails["fac_a"])  # even the right password: wait a minute
        assert r.status_code == 429
        assert "yv_session" not in c.cookies


def test_session_is_renewed_at_login_and_cleared_at_logout(client, world, settings):
    client.cookies.set("yv_session", "planted-by-someone-else", domain="testserver.local")
    r = login(client, world.emails["fac_a"])
    assert r.status_code == 303
    token = client.cookies.get("yv_session")
    assert token and token != "planted-by-someone-else"
    assert len(raw_rows(settings, "SELECT token_hash FROM staff_session")) == 1
    home = client.get("/")
    r = client.post("/logout", data={"_csrf": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert re.search(r"yv_session=\"?\"?;.*max-age=0", r.headers["set-cookie"], re.IGNORECASE)
    assert raw_rows(settings, "SELECT token_hash FROM staff_session") == []
    client.cookies.clear()
    client.cookies.set("yv_session", token, domain="testserver.local")  # the old id is dead on the server too
    assert client.get("/", follow_redirects=False).status_code in (302, 303, 307)


def test_csrf_on_every_unsafe_html_route(client, world, settings, sessions):
    """Generated from the route table: a signed-in admin's browser, a form without (or
    with a forged) token: 403 on staff routes, a 4xx on young people's forms, and the
    database unchanged."""
    o = make_objects(client, world)
    admin, csrf = sessions("admin")
    unsafe = [r for r in route_table(client.app) if r.unsafe and r.html]
    assert unsafe
    before = snapshot(settings, skip=("staff_session", "rate_count"))
    problems = []
    for route in unsafe:
        url = o.fill(route)
        for token in (None, "forged-token"):
            body = {k: v for k, v in form_body(route, token or "").items() if token or k != "_csrf"}
            body["_form"] = token or ""
            r = admin.request(route.method, url, data=body, follow_redirects=False)
            expected = {400, 403, 404, 409, 422} if is_public(route.path) else {403}
            if r.status_code not in expected:
                problems.append(f"{route.method} {url} without a valid token -> {r.status_code}")
    assert not problems, "\n".join(problems)
    assert snapshot(settings, skip=("staff_session", "rate_count")) == before
    # the JSON API does not take a session cookie alone for changes
    r = admin.post("/api/surveys", json=survey_def())
    assert r.status_code in (401, 403)
    r = admin.post("/api/surveys", json=survey_def(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_security_headers_on_every_page(client, world):
    o = make_objects(client, world)
    routes = [r for r in route_table(client.app) if r.method == "GET" and not is_streaming(r.path)]
    seen = 0
    for route in routes:
        for headers in ({}, world.auth("admin")):
            r = client.get(o.fill(route), headers=headers, follow_redirects=False)
            h = r.headers
            csp = h.get("content-security-policy", "")
            where = f"GET {route.path} -> {r.status_code}"
            assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
            assert "frame-ancestors 'none'" in csp, where
            assert h.get("x-content-type-options") == "nosniff", where
            assert h.get("referrer-policy") == "no-referrer", where
            seen += 1
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert seen >= 2 * len(routes)


@pytest.mark.slow  # real server processes
def test_cookie_flags_and_secure_behind_https_proxy(settings, world, tmp_path):
    # X-Forwarded-Proto is believed only from a trusted proxy (YOUTHVOICE_TRUSTED_PROXIES)
    untrusted = LiveServer(settings, tmp_path / "var0")
    untrusted.var_dir.mkdir()
    untrusted.start()
    try:
        with httpx.Client(base_url=untrusted.url, headers={"X-Forwarded-Proto": "https"}) as c:
            page = c.get("/login")
            r = c.post("/login", data={"_form": form_token(page.text), "email": world.emails["fac_a"],
                                       "password": PASSWORD, "next": "/"})
            assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()
            assert "strict-transport-security" not in r.headers
    finally:
        untrusted.stop()
    server = LiveServer(settings, tmp_path / "var", YOUTHVOICE_TRUSTED_PROXIES="127.0.0.1")
    server.var_dir.mkdir()
    server.start()
    try:
        def sign_in(headers):
            with httpx.Client(base_url=server.url, headers=headers) as c:
                page = c.get("/login")
                # the browser behind the https proxy sends its Secure login cookie back; this client
                # talks plain http to the server, so it is sent by hand
                browser = re.search(r"yv_login=([^;]+)", page.headers.get("set-cookie", "")).group(1)
                return c.post("/login", data={"_form": form_token(page.text), "email": world.emails["fac_a"],
                                              "password": PASSWORD, "next": "/"},
                              headers={"Cookie": f"yv_login={browser}"})

        plain = sign_in({})
        assert plain.status_code == 303
        cookie = plain.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert "secure" not in cookie
        https = sign_in({"X-Forwarded-Proto": "https"})
        assert https.status_code == 303
        cookie = https.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "max-age=31536000" in https.headers.get("strict-transport-security", "")
    finally:
        server.stop()
    # and nothing in the log ties a request to an address
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b",
                         "\n".join(l for l in server.log().splitlines() if "Uvicorn running on" not in l))
