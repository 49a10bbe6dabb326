from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.youthvoice.test_auth import csrf_of, login
from youthvoice.app import create_app


class Sessions:
    """A signed-in browser per person, with the CSRF token its pages carry."""

    def __init__(self, settings, world):
        self.settings, self.world = settings, world
        self.clients: dict[str, tuple[TestClient, str]] = {}

    def __call__(self, who: str) -> tuple[TestClient, str]:
        if who not in self.clients:
            c = TestClient(create_app(self.settings))
            c.__enter__()
            assert login(c, self.world.emails[who]).status_code == 303
            self.clients[who] = (c, csrf_of(c.get("/").text))
        return self.clients[who]

    def close(self):
        for c, _ in self.clients.values():
            c.__exit__(None, None, None)


@pytest.fixture
def sessions(settings, world):
    s = Sessions(settings, world)
    yield s
    s.close()
