"""The rate limiter counts per client without keeping the client's address."""

from types import SimpleNamespace

from youthvoice.http import RateLimiter


def fake_request(host: str):
    return SimpleNamespace(client=SimpleNamespace(host=host))


def test_limit_applies_per_client_and_keeps_no_address():
    limiter = RateLimiter("secret")
    a, b = fake_request("203.0.113.77"), fake_request("198.51.100.9")
    assert all(limiter.hit(a, "submit", 3) for _ in range(3))
    assert not limiter.hit(a, "submit", 3)  # the fourth in the minute is refused
    assert limiter.hit(b, "submit", 3)  # another client is not affected
    stored = repr(limiter.windows) + repr(vars(limiter))
    assert "203.0.113" not in stored and "198.51.100" not in stored
