"""Guarantee 4: an authorization matrix generated from the app's route table.

Every route not in the public allow-list (tests/security/routes.py PUBLIC) is called
  - anonymously, with a young person's participant token and with a workshop code
    as credentials: refused (401, 403, or a redirect to /login);
  - by a facilitator of another unit (unit-b) with unit-a's objects in the path and
    `unit=unit-a` in the query or body: refused with 403/404 (or 400/422 for a body it
    cannot parse), or, for a list page, answered without any of unit-a's content;
    and afterwards the database is exactly as before;
  - by admin, unit-a's process leader and unit-a's facilitator (GET): not refused as
    unknown (no 401/404); admin also not 403.
A new route is in the matrix the moment it is in the app.
"""

from __future__ import annotations

import pytest

from tests.reliability.dbsnap import snapshot
from tests.security.routes import (
    MARK,
    body_text,
    form_body,
    is_public,
    is_streaming,
    json_body,
    make_objects,
    route_table,
)

QUERY = {"unit": "unit-a", "period": "2026"}
# Routes that act on nothing but the caller's own session (tested in test_baseline).
OWN_SESSION_ONLY = {"/logout"}


def refused_anonymous(r) -> bool:
    if r.status_code in (301, 302, 303, 307):
        return r.headers.get("location", "").startswith("/login")
    return r.status_code in (401, 403)


def call(client, route, url, o, *, headers=None, csrf=""):
    if not route.unsafe:
        return client.request(route.method, url, params=QUERY, headers=headers, follow_redirects=False)
    if route.html:
        return client.request(route.method, url, data=form_body(route, csrf), headers=headers, follow_redirects=False)
    return client.request(route.method, url, json=json_body(route, o), headers=headers, follow_redirects=False)


@pytest.mark.slow  # the whole route table with every credential: ~1 500 requests a backend
def test_every_staff_route_refuses_strangers_and_other_units(client, world, settings, sessions):
    routes = [r for r in route_table(client.app) if not is_public(r.path) and not is_streaming(r.path)]
    assert len(routes) >= 10
    o = make_objects(client, world)
    before = snapshot(settings, skip=("staff_session", "rate_count"))
    problems: list[str] = []
    credentials = {"anonymous": None, "workshop code": {"Authorization": f"Bearer {o.code or 'ABCD1234'}"}}
    if o.participant:
        credentials["participant token"] = o.participant
    fac_b, fac_b_csrf = sessions("fac_b")
    checked = 0
    for route in routes:
        url = o.fill(route)
        for name, headers in credentials.items():
            client.cookies.clear()
            r = call(client, route, url, o, headers=headers)
            if not refused_anonymous(r):
                problems.append(f"{name}: {route.method} {url} -> {r.status_code}")
            checked += 1
        if route.path in OWN_SESSION_ONLY:
            continue
        # another unit's facilitator
        if route.unsafe and route.html:
            r = call(fac_b, route, url, o, csrf=fac_b_csrf)
        else:
            r = call(client, route, url, o, headers=world.auth("fac_b"))
        checked += 1
        if route.unsafe and r.status_code not in (400, 403, 404, 422):
            problems.append(f"other unit: {route.method} {url} -> {r.status_code}")
        elif not route.unsafe and r.status_code not in (403, 404) and (r.status_code >= 500 or MARK in body_text(r)):
            problems.append(f"other unit sees unit-a: {route.method} {url} -> {r.status_code}")
    assert not problems, "\n".join(problems)
    # rate_count: a refused workshop code or join is counted by the shared guessing limit on purpose
    # (test_guessing checks those counts); every other table must be untouched
    assert snapshot(settings, skip=("staff_session", "rate_count")) == before, "a refused request changed the database"

    # the people of unit-a get in
    seen_mark = 0
    for route in routes:
        if route.unsafe or route.path in OWN_SESSION_ONLY:
            continue  # unsafe routes with a session: see test_csrf_on_every_unsafe_html_route
        url = o.fill(route)
        for who in ("admin", "pl_a", "fac_a"):
            r = call(client, route, url, o, headers=world.auth(who))
            checked += 1
            allowed = {401, 404} | ({403} if who == "admin" else set())
            if r.status_code in allowed or r.status_code >= 500:
                problems.append(f"{who}: {route.method} {url} -> {r.status_code}")
            seen_mark += who == "admin" and MARK in body_text(r)
    assert not problems, "\n".join(problems)
    assert seen_mark >= 2, "unit-a's objects never showed up for admin: the matrix tested nothing"
    print(f"\nAUTHZ {settings.database_url.split(':')[0]}: {len(routes)} staff routes, {checked} calls")


def test_young_persons_token_opens_only_their_own_workshop(client, world, settings):
    o = make_objects(client, world)
    if not o.participant:
        return
    # the token of workshop 1 does not write into workshop 2
    r = client.post(f"/api/public/workshops/{o.other_code}/statements", json={"text": "hej"}, headers=o.participant)
    assert r.status_code in (401, 403, 404)
    r = client.post(f"/api/public/workshops/{o.other_code}/statements/{o.sid}/support", headers=o.participant)
    assert r.status_code in (401, 403, 404)
    # and it is no staff credential anywhere
    for path in ("/api/units", f"/api/workshops/{o.workshop_id}/statements", "/api/workshops"):
        assert client.get(path, headers=o.participant).status_code == 401
    rows = raw_statements(settings, o.other_code)
    assert rows == 0


def raw_statements(settings, code: str) -> int:
    from tests.conftest import raw_rows

    r = raw_rows(settings, "SELECT count(*) AS c FROM workshop_statement s JOIN workshop w ON w.id = s.workshop_id "
                           f"WHERE w.code = '{code}'")
    return r[0]["c"]
