"""A room, a class and staff at the same moment (issue 25): nobody refused, no server error.

A real server on the default SQLite set-up (one worker, then two) and on PostgreSQL. Ten phones
join one room and write their statements at the same moment, then support each other's, while
thirty phones answer a survey, staff create workshops and download exports. Before every write
transaction began IMMEDIATE, SQLite refused 28 of 30 such statements with 503 ("database is
locked" at once: a deferred transaction that has read cannot wait for the write lock), and 872
of 1 152 exports under answer load ended in a plain-text 500 after the response had started."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import httpx
import pytest

from tests.reliability.load import drive, make_survey, plan
from tests.reliability.server import LiveServer

pytestmark = pytest.mark.slow

PHONES = 10
STATEMENTS_EACH = 3
CLASS = 30
EXPORTS = 12


def workshop(n: int) -> dict:
    return {"unit": "unit-a", "title": f"Verkstad {n}", "date": dt.date.today().isoformat(),
            "place": "Biblioteket", "neutral_place": True}


async def room_and_class(base: str, staff: dict, survey: dict, jobs) -> collections.Counter:
    statuses: collections.Counter = collections.Counter()
    limits = httpx.Limits(max_connections=80, max_keepalive_connections=80, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        async def call(kind: str, method: str, path: str, **kw) -> httpx.Response:
            r = await http.request(method, path, **kw)
            statuses[(kind, r.status_code)] += 1
            return r

        r = await call("workshop", "POST", "/api/workshops", json=workshop(0), headers=staff)
        code = r.json()["code"]
        joined = await asyncio.gather(*(call("join", "POST", f"/api/public/workshops/{code}/participants",
                                             json={"nickname": f"P{i}"}) for i in range(PHONES)))
        tokens = [j.json()["participant_token"] for j in joined if j.status_code == 201]

        async def phone(i: int, token: str) -> list[str]:
            ids = []
            for k in range(STATEMENTS_EACH):
                r = await call("statement", "POST", f"/api/public/workshops/{code}/statements",
                               json={"text": f"Telefon {i} tycker sak {k}"},
                               headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 201:
                    ids.append(r.json()["id"])
            return ids

        async def staff_work() -> None:
            for n in range(1, 6):
                await call("workshop", "POST", "/api/workshops", json=workshop(n), headers=staff)
            for n in range(EXPORTS):
                fmt = "csv" if n % 2 else "xlsx"
                await call("export", "GET", f"/api/exports/surveys/{survey['id']}/answers.{fmt}", headers=staff)
                await call("export", "GET", f"/api/exports/units/unit-a/statements.{fmt}", headers=staff)

        written, *_ = await asyncio.gather(
            asyncio.gather(*(phone(i, t) for i, t in enumerate(tokens))),
            drive(base, survey["slug"], jobs, clients=CLASS),
            staff_work())
        everyone = [sid for ids in written for sid in ids]
        await asyncio.gather(*(call("support", "POST", f"/api/public/workshops/{code}/statements/{sid}/support",
                                    headers={"Authorization": f"Bearer {t}"})
                               for t in tokens for sid in everyone[::3]))
    answers = collections.Counter(s for j in jobs for s, _ in j.outcomes)
    for s, n in answers.items():
        statuses[("answer", s)] += n
    return statuses


@pytest.mark.parametrize("workers", [1, 2])
def test_a_room_a_class_and_staff_at_once_get_through(world, settings, tmp_path, workers):
    server = LiveServer(settings, tmp_path / "var", workers=workers)
    server.var_dir.mkdir()
    server.start()
    try:
        survey, codes = make_survey(server.url, world.auth("fac_a"), CLASS * 2)
        jobs = plan(codes, CLASS * 2, seed=5)
        statuses = asyncio.run(room_and_class(server.url, world.auth("fac_a"), survey, jobs))
    finally:
        server.stop()
    print(f"\nAT ONCE {settings.database_url.split(':')[0]} ({workers} workers): {dict(statuses)}")
    assert not [k for k in statuses if isinstance(k[1], int) and k[1] >= 500], statuses
    assert statuses[("join", 201)] == PHONES
    assert statuses[("statement", 201)] == PHONES * STATEMENTS_EACH
    assert statuses[("support", 200)] == sum(n for (kind, _), n in statuses.items() if kind == "support")
    assert statuses[("workshop", 201)] == 6
    # The unit's statements file every time; an open survey's answers file may say 409 (not yet
    # released), never a server error.
    assert statuses[("export", 200)] >= EXPORTS and statuses[("export", 200)] + statuses[("export", 409)] == EXPORTS * 2
    assert statuses[("answer", 201)] > 0 and statuses[("answer", "cut")] == 0
    assert " ERROR " not in server.log(), server.log()[-3000:]
