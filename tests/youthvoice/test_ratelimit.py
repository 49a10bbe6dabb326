"""The rate limiter counts per client in the database without keeping the client's address."""

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from tests.conftest import raw_rows
from youthvoice.db import make_engine
from youthvoice.ratelimit import RateLimiter


def fake_request(host: str, forwarded: str = ""):
    return SimpleNamespace(client=SimpleNamespace(host=host), headers={"x-forwarded-for": forwarded} if forwarded
                           else {})


def test_limit_applies_per_client_and_keeps_no_address(settings):
    limiter = RateLimiter("secret")

    async def go():
        engine = make_engine(settings.database_url)
        try:
            limiter.bind(engine)
            a, b = fake_request("203.0.113.77"), fake_request("198.51.100.9")
            assert [await limiter.hit(a, "submit", 3) for _ in range(4)] == [True, True, True, False]
            assert await limiter.hit(b, "submit", 3)  # another client is not affected
        finally:
            await engine.dispose()

    asyncio.run(go())
    stored = repr(raw_rows(settings, "SELECT * FROM rate_count")) + repr(vars(limiter))
    assert "203.0.113" not in stored and "198.51.100" not in stored
    assert len(raw_rows(settings, "SELECT * FROM rate_count")) == 2


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    plain, behind = RateLimiter("s"), RateLimiter("s", ["10.0.0.0/8", "::1"])
    r = fake_request("10.1.2.3", "198.51.100.9, 203.0.113.7")
    assert plain.address(r) == "10.1.2.3"
    assert behind.address(r) == "203.0.113.7"  # the hop the proxy saw, not what the client wrote before it
    assert behind.address(fake_request("10.1.2.3", "garbage")) == "10.1.2.3"
    assert behind.address(fake_request("10.1.2.3", "203.0.113.7, 10.9.9.9")) == "203.0.113.7"  # proxy chain
    assert behind.address(fake_request("192.0.2.1", "203.0.113.7")) == "192.0.2.1"  # not a proxy
    # an IPv6 client counts as its /64: a phone has a whole /64 to pick addresses from
    assert plain.address(fake_request("2001:db8:1:2::5")) == plain.address(fake_request("2001:db8:1:2:ffff::9"))
    assert plain.address(fake_request("::ffff:203.0.113.7")) == "203.0.113.7"


@pytest.mark.slow  # a load test: 600 concurrent counts
def test_a_burst_of_requests_is_counted_without_database_is_locked(settings):
    """A class sending together, or phones resending after a restart: every request of the burst
    writes its count. On SQLite they used to race for the file's write lock on connections of their
    own, and with a busy machine some waited past busy_timeout ("database is locked": a 500 on the
    answering routes, seen in tests/reliability/test_load.py). Here the wait is cut to 200 ms so
    that the race shows at once; every count must still be written, and add up."""
    limiter = RateLimiter("secret")
    phone = fake_request("203.0.113.77")

    async def go():
        engine = make_engine(settings.database_url)
        if settings.is_sqlite:
            event.listen(engine.sync_engine, "connect",
                         lambda con, _r: con.cursor().execute("PRAGMA busy_timeout=200"))
        try:
            limiter.bind(engine)
            for _ in range(3):
                # a window of 11 days: a slow machine must not carry the rounds into the next one
                got = await asyncio.gather(*(limiter.hit_all(phone, [("submit", 10**9, 10**6, "s"),
                                                                     ("submit-all", 10**9, 10**6, "")])
                                             for _ in range(200)), return_exceptions=True)
                assert [g for g in got if g is not True] == []
        finally:
            await engine.dispose()

    asyncio.run(go())
    counts = {r["bucket"]: r["count"] for r in raw_rows(settings, "SELECT bucket, count FROM rate_count")}
    assert counts == {"submit": 600, "submit-all": 600}
