"""Shared fixtures. Every test that touches the database runs on SQLite and on
PostgreSQL: `db_url` is parametrised over both and gives each test a freshly
migrated database (copied from a template migrated once per session)."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from youthvoice.app import create_app
from youthvoice.auth import create_api_token, hash_password
from youthvoice.config import Settings
from youthvoice.migrate import upgrade
from youthvoice.models import Agreement, Unit, User

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    from tests import pgcluster

    url = os.environ.get("YOUTHVOICE_TEST_PG_URL")
    if url:
        yield url
        return
    if not pgcluster.pg_available():
        if os.environ.get("YOUTHVOICE_REQUIRE_PG"):
            pytest.fail("PostgreSQL is required (YOUTHVOICE_REQUIRE_PG) but its server binaries are missing")
        yield None
        return
    with pgcluster.temporary_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_admin_url) -> str | None:
    from tests import pgcluster

    if pg_admin_url is None:
        return None
    pgcluster.create_database(pg_admin_url, "yv_template")
    upgrade(_with_db(pg_admin_url, "yv_template"))
    return "yv_template"


def _with_db(admin_url: str, name: str) -> str:
    base, _, query = admin_url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path, request) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    template = request.getfixturevalue("pg_template")
    if admin is None:
        pytest.skip("PostgreSQL not available here (make test installs it)")
    from tests import pgcluster

    if _PG_FREE:
        name = _PG_FREE.pop()
    else:
        name = f"t_{secrets.token_hex(6)}"
        pgcluster.create_database(admin, name, template=template)
    url = _with_db(admin, name)
    shape = request.getfixturevalue("pg_shape")
    yield url
    if asyncio.run(pgcluster.areset_database(url, shape)):
        _PG_FREE.append(name)  # the next test of this process gets it back emptied
    else:
        pgcluster.drop_database(admin, name)


# Emptied PostgreSQL test databases of this process, ready for the next test (pgcluster.areset_database).
_PG_FREE: list[str] = []


@pytest.fixture(scope="session")
def pg_shape(pg_admin_url, pg_template) -> dict:
    from tests import pgcluster

    return asyncio.run(pgcluster.ashape(_with_db(pg_admin_url, pg_template)))


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings.from_env(database_url=db_url, secret_key="test-secret-key", var_dir=tmp_path,
                             submit_rate=100_000, login_rate=100_000, code_miss_limit=100_000, join_burst=100_000,
                             allowed_hosts=("testserver.local", "localhost", "127.0.0.1"))


def run_db(settings: Settings, fn):
    """Runs `fn(session)` on its own engine, outside the app."""
    from youthvoice.cli import run_db as cli_run_db

    return cli_run_db(fn, settings)


def raw_rows(settings: Settings, sql: str) -> list[dict]:
    from sqlalchemy import text

    async def q(db):
        return [dict(r) for r in (await db.execute(text(sql))).mappings()]

    return run_db(settings, q)


@dataclass
class World:
    """Two agreements: A with units unit-a and unit-a2, B with unit-b; a user per role."""

    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@functools.cache
def password_hash() -> str:
    """One argon2 hash for every test user (a hash takes ~0.25 s; logging in still verifies it)."""
    return hash_password(PASSWORD)


def make_world(settings: Settings) -> World:
    world = World(settings)
    pw_hash = password_hash()

    async def seed(db):
        a = Agreement(slug="agr-a", name="Agreement A")
        b = Agreement(slug="agr-b", name="Agreement B")
        db.add_all([a, b])
        await db.flush()
        units = {s: Unit(slug=s, name=s.upper(), agreement_id=ag.id)
                 for s, ag in [("unit-a", a), ("unit-a2", a), ("unit-b", b)]}
        db.add_all(units.values())
        await db.flush()
        people = {
            "admin": ("admin", []),
            "pl_a": ("process_leader", ["unit-a"]),
            "fac_a": ("facilitator", ["unit-a"]),
            "fac_b": ("facilitator", ["unit-b"]),
        }
        users = {}
        for who, (role, us) in people.items():
            email = f"{who}@test.example"
            users[who] = User(email=email, role=role, password_hash=pw_hash, units=[units[u] for u in us])
            world.emails[who] = email
        db.add_all(users.values())
        await db.commit()
        for who, user in users.items():
            world.tokens[who] = await create_api_token(db, user)

    run_db(settings, seed)
    return world


@pytest.fixture
def still_clock(monkeypatch) -> int:
    """Holds the rate limiter's clock still, at one second past the top of the hour, where every
    window starts (60 s, 10 min, an hour): the limiter counts in fixed windows, and a test that
    counts up to a limit must not see a window end halfway (on a busy machine it did)."""
    from youthvoice import ratelimit

    now = ratelimit.clock()
    now = now - now % 3600 + 1
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    return now


@pytest.fixture
def world(settings) -> World:
    return make_world(settings)


_APPS: dict[tuple, Litestar] = {}


def app_for(settings: Settings) -> Litestar:
    """The app for these settings. Registering ~220 routes takes ~0.5 s, so each test process makes
    it once per host list and proxy list (what the middleware is built with) and hands it the test's
    settings; its start-up then opens that test's database, limiter and writer (youthvoice/app.py)."""
    key = (settings.hosts, settings.trusted_proxies)
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings)
    app.state.settings = settings
    return app


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(app_for(settings)) as c:
        yield c


def survey_def(unit: str = "unit-a", access: str = "open", **kw) -> dict:
    from survey.standard import standard_questions

    d = {"unit": unit, "title": {"sv": "Vad tyckte du?", "en": "What did you think?"},
         "opens": "2020-01-01", "closes": "2099-12-31", "access": access, "questions": standard_questions()}
    d.update(kw)
    return d


def published_survey(client: TestClient, world: World, who: str = "fac_a", **kw) -> dict:
    r = client.post("/api/surveys", json=survey_def(**kw), headers=world.auth(who))
    assert r.status_code == 201, r.text
    body = r.json()
    r = client.post(f"/api/surveys/{body['id']}/publish", headers=world.auth(who))
    assert r.status_code == 200, r.text
    return body


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Real-browser tests run last: Playwright's sync API keeps an event loop
    running in this thread, which would break the asyncio.run of later tests."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None
               or "/browser/" in f"/{item.nodeid}" or "browser" in item.nodeid.split("::")[0].rsplit("/", 1)[-1])


# One Playwright and one real server for all browser tests, wherever they live.
from tests.browser.fixtures import browser, browser_ready, new_page, server  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    """Shows that the database tests ran on both backends."""
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []):
        for name in BACKENDS:
            if f"[{name}" in report.nodeid or f"-{name}]" in report.nodeid or f"-{name}-" in report.nodeid:
                counts[name] = counts.get(name, 0) + 1
    if counts:
        terminalreporter.write_line("database tests passed per backend: "
                                    + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
