"""Rate limits kept in the database (every worker sees the same counts): per address, per code scope
against guessing, and the growing wait after wrong passwords. Addresses are counted only as keyed hashes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import time

from litestar import Request
from litestar.exceptions import NotFoundException, TooManyRequestsException
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import when_unlocked
from .models import RateCount

WINDOW_CODES = 600  # code guessing is counted over ten minutes


def parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":")[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def _client_id(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, raw: str) -> str:
    """What one client is: an IPv4 address, or an IPv6 /64 (one household or phone gets a whole /64,
    so counting single IPv6 addresses would give an attacker billions of fresh buckets)."""
    if ip is None:
        return raw or "-"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def clock() -> int:
    """Seconds now; the windows and waits are counted from it (the tests hold it still)."""
    return int(time.time())


class TooFast(TooManyRequestsException):
    pass


class RateLimiter:
    """Fixed-window counters in the database (table rate_count), so every worker shares them.
    A counted value (an address, an address with an e-mail) is stored only as a keyed hash; rows
    are deleted when their window is over. Counts are written on their own connection and committed
    at once: a refused request rolls its own transaction back, its count must stay."""

    def __init__(self, secret: str, trusted_proxies: tuple[str, ...] | list[str] = ()):
        self.secret = secret.encode()
        self.trusted = [n for n in (parse_network(p) for p in trusted_proxies) if n is not None]
        self.engine: AsyncEngine | None = None
        self._swept = 0.0
        # SQLite has one write lock per file and hands it out by polling (busy_timeout), not in turn:
        # with every request of this process writing its count on a connection of its own, a burst
        # (a class sending together, phones resending after a restart) left some waiting past the
        # timeout on a busy machine ("database is locked", a 500). This process's counts therefore
        # queue here, in order; SQLite then arbitrates only between processes and the answer writer.
        self._sqlite_writes: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        # Counts waiting for the next batch, and the task writing them (one per event loop).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list = []
        self._writer: asyncio.Task | None = None

    def bind(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # ---- who is asking ----

    def _trusted(self, ip) -> bool:
        return ip is not None and any(ip in n for n in self.trusted)

    def address(self, request: Request) -> str:
        """The client: the connecting address, or — only when that is a trusted proxy — the
        nearest address in X-Forwarded-For that is not itself a trusted proxy."""
        raw = request.client.host if request.client else "-"
        ip = parse_ip(raw)
        if self._trusted(ip):
            hops = [h for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
            for hop in reversed(hops):
                hop_ip = parse_ip(hop)
                if hop_ip is None:
                    break  # garbage from the client side of the proxy: believe no further
                ip, raw = hop_ip, hop.strip()
                if not self._trusted(hop_ip):
                    break
        return _client_id(ip, raw)

    def digest(self, *parts: str) -> str:
        return hmac.new(self.secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]

    # ---- counting ----

    def _insert(self):
        assert self.engine is not None, "the limiter is bound to the engine at start-up"
        if self.engine.dialect.name == "postgresql":
            return pg_insert
        return sqlite_insert

    async def add(self, bucket: str, key: str, window: int, amount: int = 1, exact: bool = False) -> int:
        """Adds to the count of `key` in the current window and returns the count. The time of the
        latest hit is kept to the second only when `exact` (the sign-in back-off needs it); else it
        is the window's start, so the table says no more than "this many in this window"."""
        return (await self.add_many([(bucket, key, window)], amount, exact))[0]

    async def add_many(self, counts: list[tuple[str, str, int]], amount: int = 1, exact: bool = False) -> list[int]:
        """Several counts (bucket, key, window) of one request; returns each count after this request.

        Requests that arrive while counts are being written wait and are written together in the
        next transaction, like the answers (survey/writer.py): written one commit per request, the
        counts had become the answer path's bottleneck (~100 answers a second with 50 phones
        sending, ~1 300 without the limiter; BENCHMARKS.md)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a batch and its writer serve one event loop
            self._loop, self._pending, self._writer = loop, [], None
        done: asyncio.Future[list[int]] = loop.create_future()
        self._pending.append((counts, amount, exact, done))
        if self._writer is None or self._writer.done():
            # Its own task: a request that is cancelled (the phone went away) must not stop the
            # writing of the others' counts.
            self._writer = loop.create_task(self._write_batches())
        return await done

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._write(batch)
            except Exception as e:  # noqa: BLE001 - every waiting request gets the error it would have had
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(e)
            else:
                for (*_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)

    async def _write(self, batch: list) -> list[list[int]]:
        """One transaction: each distinct count once, by the sum of the batch's amounts, in key order
        (two workers never wait for each other in opposite orders); then each request's own count
        is the stored count less what the requests after it in the batch added."""
        now = clock()
        totals: dict[tuple[str, str, int], list] = {}  # (bucket, key, window start) -> [amount, exact, window]
        for counts, amount, exact, _ in batch:
            for bucket, key, window in counts:
                t = totals.setdefault((bucket, key, now - now % window), [0, False, window])
                t[0] += amount
                t[1] = t[1] or exact
        stored: dict[tuple[str, str, int], int] = {}
        assert self.engine is not None
        # The upsert is the transaction's first statement: on SQLite a read first would take a
        # snapshot, and the write after it fails at once if another connection wrote in between.
        async with self._in_turn(), self.engine.begin() as conn:
            for (bucket, key, start), (total, exact, window) in sorted(totals.items()):
                last = now if exact else start
                ins = self._insert()(RateCount).values(bucket=bucket, key=key, window=start, count=total,
                                                       last=last, expires=start + window)
                stmt = ins.on_conflict_do_update(
                    index_elements=["bucket", "key", "window"],
                    set_={"count": RateCount.count + total, "last": last},
                ).returning(RateCount.count)
                stored[(bucket, key, start)] = (await conn.execute(stmt)).scalar_one()
            if now - self._swept > 60:
                self._swept = now
                await conn.execute(delete(RateCount).where(RateCount.expires < now))
        out: list[list[int]] = []
        for counts, amount, _, _ in reversed(batch):  # the last request sees the stored count
            mine = []
            for bucket, key, window in counts:
                k = (bucket, key, now - now % window)
                mine.append(stored[k])
                stored[k] -= amount
            out.append(mine)
        return out[::-1]

    async def hit_all(self, request: Request, limits: list[tuple[str, int, int, str]]) -> bool:
        """Counts one request against several (bucket, limit, window, scope) limits at once."""
        address = self.address(request)
        counts = await self.add_many([(b, self.digest(b, address, scope), w) for b, _, w, scope in limits])
        return all(c <= limit for c, (_, limit, _, _) in zip(counts, limits, strict=True))

    async def counts(self, bucket: str, keys: list[str], window: int) -> dict[str, tuple[int, int]]:
        """The current window's (count, last hit) of each key; read only."""
        now = clock()
        assert self.engine is not None
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(RateCount.key, RateCount.count, RateCount.last).where(
                RateCount.bucket == bucket, RateCount.key.in_(keys), RateCount.window == now - now % window))).all()
            await conn.rollback()
        return {k: (c, last) for k, c, last in rows}

    async def clear(self, bucket: str, key: str) -> None:
        assert self.engine is not None
        async with self._in_turn(), self.engine.begin() as conn:
            await conn.execute(delete(RateCount).where(RateCount.bucket == bucket, RateCount.key == key))

    def _in_turn(self):
        """On SQLite this process's count writes one at a time (see __init__); elsewhere at once."""
        assert self.engine is not None
        if self.engine.dialect.name != "sqlite":
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._sqlite_writes is None or self._sqlite_writes[0] is not loop:  # a lock serves one loop
            self._sqlite_writes = (loop, asyncio.Lock())
        return self._sqlite_writes[1]

    async def hit(self, request: Request, bucket: str, limit: int, window: int = 60, scope: str = "") -> bool:
        """Counts one request of this client (in `scope`, e.g. one survey); False once over `limit`."""
        return await self.add(bucket, self.digest(bucket, self.address(request), scope), window) <= limit

    async def hit_key(self, bucket: str, value: str, limit: int, window: int = 60) -> bool:
        return await self.add(bucket, self.digest(bucket, value), window) <= limit

    # ---- guessing codes ----

    def _miss_keys(self, request: Request, scope: str) -> tuple[str, str]:
        return self.digest("miss", self.address(request)), self.digest("miss-scope", scope)

    async def refuse_guessing(self, request: Request, scope: str, limit: int, scope_limit: int) -> None:
        """Before a code is looked up: 429 for an address that has missed `limit` times in ten
        minutes (on any code, workshop or survey), and — once the codes of `scope` (one survey, or
        all workshop codes) were missed `scope_limit` times from anywhere — for every address that
        has missed at all, so many addresses together cannot search the code space either, while
        people who typed their code right still get in."""
        mine, scope_key = self._miss_keys(request, scope)
        seen = await self.counts("miss", [mine, scope_key], WINDOW_CODES)
        own = seen.get(mine, (0, 0))[0]
        if own >= limit or (own and seen.get(scope_key, (0, 0))[0] >= scope_limit):
            raise TooFast("code: too many wrong codes from here. Wait ten minutes and try again.",
                          headers={"Retry-After": str(WINDOW_CODES)})

    async def missed(self, request: Request, scope: str) -> None:
        """After a wrong code: counted for the address and the scope, then answered more slowly."""
        mine, scope_key = self._miss_keys(request, scope)

        async def count() -> None:
            own, _ = await self.add_many([("miss", mine, WINDOW_CODES), ("miss", scope_key, WINDOW_CODES)])
            await asyncio.sleep(min(0.5, 0.025 * max(0, own - 5)))
        await when_unlocked(request.scope, count)

    async def guarded(self, request: Request, scope: str, lookup, limit: int, scope_limit: int):
        """`await lookup()` with the guessing limits around it: a NotFoundException is a miss."""
        await self.refuse_guessing(request, scope, limit, scope_limit)
        try:
            return await lookup()
        except NotFoundException:
            await self.missed(request, scope)
            raise

    # ---- signing in ----

    async def login_wait(self, request: Request, email: str, free: int) -> int:
        """Seconds this address must still wait before trying this e-mail again: nothing for the
        first `free` wrong passwords, then 2, 4, 8 … seconds (at most 15 minutes) after each one.
        Counted per (address, e-mail), so an attacker elsewhere never locks the owner out."""
        key = self.digest("login", self.address(request), email.strip().lower())
        seen = (await self.counts("login", [key], LOGIN_WINDOW)).get(key)
        if not seen or seen[0] < free:
            return 0
        wait = min(LOGIN_MAX_WAIT, 2 ** min(20, seen[0] - free + 1))
        return max(0, seen[1] + wait - clock())

    async def login_failed(self, request: Request, email: str) -> None:
        key = self.digest("login", self.address(request), email.strip().lower())
        await when_unlocked(request.scope, lambda: self.add("login", key, LOGIN_WINDOW, exact=True))

    async def login_ok(self, db, request: Request, email: str) -> None:
        """The wrong tries are forgotten with the successful sign-in, in the request's own session:
        on SQLite a write on another connection between the request's read and its write would
        leave the request's snapshot stale."""
        key = self.digest("login", self.address(request), email.strip().lower())
        await db.execute(delete(RateCount).where(RateCount.bucket == "login", RateCount.key == key))


LOGIN_WINDOW = 24 * 3600
LOGIN_MAX_WAIT = 15 * 60
