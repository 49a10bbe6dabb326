"""Issue 25, item 5: the Host header. A malformed one gave a 500 with a traceback on almost every route;
one with user info passed the host check, and the poster's and projector's links then pointed at the
attacker's site when YOUTHVOICE_BASE_URL is unset."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.conftest import app_for, published_survey
from tests.workshops.helpers import workshop
from tests.youthvoice.test_auth import login

# The Host header is read before the database is: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

MALFORMED = ["127.0.0.1:x", "localhost:99999", "localhost:80/evil", "localhost:", "[::1", "local host",
             "127.0.0.1:P@evil.example", "localhost@evil.example", "evil.example#.localhost"]


@pytest.fixture
def bare(settings):
    """A client that shows the server's own answer to an error instead of raising it."""
    with TestClient(app_for(settings), raise_server_exceptions=False) as c:
        yield c


def test_a_malformed_host_is_a_400_on_every_kind_of_route(bare, world, settings):
    s = published_survey(bare, world, access="code")
    ws = workshop(bare, world)
    assert login(bare, world.emails["fac_a"]).status_code == 303
    paths = ["/", "/login", f"/s/{s['slug']}", f"/w/{ws['code']}", f"/workshops/{ws['id']}/screen",
             f"/surveys/{s['id']}/poster", "/no-such-page", "/api/units", "/static/style.css", "/healthz"]
    for host in MALFORMED:
        for path in paths:
            r = bare.get(path, headers={"host": host})
            assert r.status_code == 400, (host, path, r.status_code)
            assert "host" in r.text and "Traceback" not in r.text and "evil.example" not in r.text, r.text
        r = bare.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": {}}, headers={"host": host})
        assert r.status_code == 400, (host, r.status_code)


def test_links_on_posters_and_the_projector_never_name_another_host(bare, world, settings):
    assert not settings.base_url  # links are made from the request's own address
    s = published_survey(bare, world, access="code")
    ws = workshop(bare, world)
    assert login(bare, world.emails["fac_a"]).status_code == 303
    for path in (f"/surveys/{s['id']}/poster", f"/workshops/{ws['id']}/screen"):
        r = bare.get(path, headers={"host": "127.0.0.1:P@evil.example"})
        assert r.status_code == 400 and "evil.example" not in r.text
        # a well-formed host the service answers to still works, port and all
        r = bare.get(path, headers={"host": "127.0.0.1:8000"})
        assert r.status_code == 200 and "http://127.0.0.1:8000/" in r.text, path
        assert "evil" not in r.text
