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

from .db import check_not_holding, when_unlocked
from .models import RateCount

WINDOW_CODES = 600  # code guessing is counted over ten minutes
# While a scope is being guessed from many addresses, an address's own wrong codes before it is refused
# too: a first mistake and two more still get through (slowed), a crowd of addresses gets 3 tries each.
FREE_MISSES = 3
# The misses one IPv6 /48 may make, in addresses' worth (a /48 holds 65 536 client /64s).
NETWORK_FACTOR = 5


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


async def pause(seconds: float) -> None:
    """The wait after a wrong code (the tests count the waits instead of sitting through them)."""
    await asyncio.sleep(seconds)


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
        check_not_holding()  # SQLite: a count after the request's own write began would wait for itself
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

    async def add_in(self, db, counts: list[tuple[str, str, int]]) -> None:
        """Adds one to each (bucket, key, window) in the request's own transaction: the count is kept
        only when what it counts is (a seat taken), not for a press that failed or changed nothing."""
        now = clock()
        for bucket, key, window in sorted(counts):
            start = now - now % window
            await db.execute(self._insert()(RateCount).values(
                bucket=bucket, key=key, window=start, count=1, last=start, expires=start + window,
            ).on_conflict_do_update(index_elements=["bucket", "key", "window"],
                                    set_={"count": RateCount.count + 1}))

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

    def _miss_keys(self, request: Request, scope: str) -> tuple[str, str, str]:
        """The keys a wrong code is counted under: the client, its wider network (an IPv6 /48, which
        one customer gets whole: 65 536 /64s to rotate through), and the scope."""
        address = self.address(request)
        network = ""  # an IPv4 address is its own network: no second count
        if "/" in address:  # an IPv6 /64 (see _client_id)
            network = self.digest("miss-net", str(ipaddress.ip_network(address).supernet(new_prefix=48)))
        return self.digest("miss", address), network, self.digest("miss-scope", scope)

    async def refuse_guessing(self, request: Request, scope: str, limit: int, scope_limit: int,
                              hard: bool = False) -> None:
        """Before a code is looked up: 429 for an address that has missed `limit` times in ten
        minutes (on any code, workshop or survey), or whose IPv6 /48 missed NETWORK_FACTOR times that.
        Once the codes of `scope` (one survey, all workshop codes) were missed `scope_limit` times
        from anywhere, an address that has missed FREE_MISSES times itself is refused too, so many
        addresses together cannot search the code space either. A phone with no misses of its own
        (someone who mistypes once while others guess) is never refused by the others' misses, only
        slowed (see `missed`): the crowd's guesses must not lock out a first mistake.
        `hard`: the scope's limit refuses everyone (a room's personal codes: a seat must not be
        taken over from a pool of addresses; the phone that lost its seat can still join anew)."""
        mine, net, scope_key = self._miss_keys(request, scope)
        seen = await self.counts("miss", [k for k in (mine, net, scope_key) if k], WINDOW_CODES)
        own = seen.get(mine, (0, 0))[0]
        crowded = seen.get(scope_key, (0, 0))[0] >= scope_limit
        if own >= limit or seen.get(net, (0, 0))[0] >= limit * NETWORK_FACTOR or \
                (crowded and (hard or own >= FREE_MISSES)):
            raise TooFast("code: too many wrong codes from here. Wait ten minutes and try again.",
                          headers={"Retry-After": str(WINDOW_CODES)})

    async def missed(self, request: Request, scope: str, scope_limit: int | None = None) -> None:
        """After a wrong code: counted for the address, its network and the scope, then answered more
        slowly: the more misses from here the slower, and the slowest (half a second) for everybody
        while the scope is over `scope_limit` (a crowd guessing). Written once the request's own
        SQLite write lock is released (see youthvoice.db.when_unlocked)."""
        mine, net, scope_key = self._miss_keys(request, scope)

        async def count() -> None:
            counted = await self.add_many([("miss", k, WINDOW_CODES) for k in (mine, scope_key, net) if k])
            own, in_scope = counted[0], counted[1]
            crowded = scope_limit is not None and in_scope > scope_limit
            await pause(0.5 if crowded else min(0.5, 0.025 * max(0, own - 5)))
        await when_unlocked(request.scope, count)

    async def guarded(self, request: Request, scope: str, lookup, limit: int, scope_limit: int):
        """`await lookup()` with the guessing limits around it: a NotFoundException is a miss."""
        await self.refuse_guessing(request, scope, limit, scope_limit)
        try:
            return await lookup()
        except NotFoundException:
            await self.missed(request, scope, scope_limit)
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
