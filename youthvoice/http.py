"""Cross-cutting HTTP: security headers, an access log without IP, rate limits, error pages."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import time
from pathlib import Path

import h11
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from markupsafe import Markup
from sqlalchemy import delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import i18n
from .models import RateCount
from .web import env, render

log = logging.getLogger("youthvoice.access")
errlog = logging.getLogger("youthvoice.error")

# Youth pages inline the stylesheet so a slow phone paints after the first round trip (one request, no
# render-blocking CSS). The CSP allows exactly that text by its hash: never 'unsafe-inline'.
STYLE_CSS = (Path(__file__).resolve().parent / "static" / "style.css").read_text(encoding="utf-8")
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE_CSS.encode()).digest()).decode()
env.globals["inline_css"] = Markup(STYLE_CSS)

CSP = (f"default-src 'self'; script-src 'self'; style-src 'self' '{STYLE_HASH}'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


# Paths young people use. The access log writes no line for them at all: a line saying when an answer
# arrived, or when a phone joined a room, would put a moment next to a person (docs/anonymity.md).
YOUTH_PATHS = ("/s/", "/r/", "/w/", "/u/", "/api/public/", "/static/")


def is_youth_path(path: str) -> bool:
    return path.startswith(YOUTH_PATHS)


def security_middleware(app):
    """Adds strict headers, `no-store` on everything but static files, and logs staff requests:
    method, path (no query), status and duration. Never the IP, and nothing for youth paths."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        status_holder = [0]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if b"cache-control" not in names:
                    cc = b"public, max-age=86400" if path.startswith("/static/") else b"no-store"
                    headers.append((b"cache-control", cc))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            if not is_youth_path(path):
                log.info("%s %s %s %.1fms", scope.get("method"), path, status_holder[0],
                         (time.perf_counter() - start) * 1000)

    return middleware


def host_of(scope_or_headers) -> str:
    """The Host header's name, lower case, without the port."""
    raw = ""
    for k, v in scope_or_headers:
        if k == b"host":
            raw = v.decode("latin-1").strip().lower()
            break
    if raw.startswith("["):
        return raw[1:raw.find("]")] if "]" in raw else raw
    return raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw


def _plain(status: int, text: str) -> list[dict]:
    body = text.encode()
    return [{"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                         (b"cache-control", b"no-store"), *SECURITY_HEADERS]},
            {"type": "http.response.body", "body": body}]


def request_guard(hosts: frozenset[str], trusted_proxies: tuple[str, ...] = ()):
    """Refuses, before anything else runs: a Host that is not the service's own (links on posters,
    slips and the projector are made from it), and a path with a NUL or control character (the
    file system cannot open one; `GET /static/style.css%00.js` gave a 500). From a trusted proxy
    only, `X-Forwarded-Proto: https` makes the request https (Secure cookies, HSTS)."""
    trusted = [n for n in (_network(p) for p in trusted_proxies) if n is not None]

    def middleware(app):
        async def guard(scope, receive, send):
            if scope["type"] == "http":
                client = _ip((scope.get("client") or ("-",))[0])
                if trusted and client is not None and any(client in n for n in trusted):
                    proto = next((v for k, v in scope.get("headers", ()) if k == b"x-forwarded-proto"), b"")
                    if proto.split(b",")[-1].strip().lower() == b"https":
                        scope = {**scope, "scheme": "https"}
                path = scope.get("path", "")
                problem = None
                if any(ord(c) < 32 or c == "\x7f" for c in path):
                    problem = (400, "path: a character that cannot be in an address")
                elif host_of(scope.get("headers", ())) not in hosts:
                    problem = (400, "host: this service does not answer to that host name")
                if problem:
                    for message in _plain(*problem):
                        await send(message)
                    return
            await app(scope, receive, send)

        return guard

    return middleware


class NulInText(ValueError):
    """Text with a NUL character reached the database: PostgreSQL cannot store it, SQLite would."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _has_nul(value: object, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth < 20 and isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if depth < 20 and isinstance(value, (list, tuple)):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def refuse_nul(engine: AsyncEngine) -> None:
    """Every statement of the request sessions is checked for NUL in its values before it is sent, so
    both databases refuse it the same way: a 422 naming the field, and nothing stored."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def check(conn, cursor, statement, parameters, context, executemany):
        for params in getattr(context, "compiled_parameters", None) or ():
            for name, value in params.items():
                if _has_nul(value):
                    raise NulInText(re.sub(r"(_\d+|_m\d+)$", "", str(name)))


WINDOW_CODES = 600  # code guessing is counted over ten minutes


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
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


class TooFast(TooManyRequestsException):
    pass


class RateLimiter:
    """Fixed-window counters in the database (table rate_count), so every worker shares them.
    A counted value (an address, an address with an e-mail) is stored only as a keyed hash; rows
    are deleted when their window is over. Counts are written on their own connection and committed
    at once: a refused request rolls its own transaction back, its count must stay."""

    def __init__(self, secret: str, trusted_proxies: tuple[str, ...] | list[str] = ()):
        self.secret = secret.encode()
        self.trusted = [n for n in (_network(p) for p in trusted_proxies) if n is not None]
        self.engine: AsyncEngine | None = None
        self._swept = 0.0
        # SQLite has one write lock per file and hands it out by polling (busy_timeout), not in turn:
        # with every request of this process writing its count on a connection of its own, a burst
        # (a class sending together, phones resending after a restart) left some waiting past the
        # timeout on a busy machine ("database is locked", a 500). This process's counts therefore
        # queue here, in order; SQLite then arbitrates only between processes and the answer writer.
        self._sqlite_writes: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    def bind(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # ---- who is asking ----

    def _trusted(self, ip) -> bool:
        return ip is not None and any(ip in n for n in self.trusted)

    def address(self, request: Request) -> str:
        """The client: the connecting address, or — only when that is a trusted proxy — the
        nearest address in X-Forwarded-For that is not itself a trusted proxy."""
        raw = request.client.host if request.client else "-"
        ip = _ip(raw)
        if self._trusted(ip):
            hops = [h for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
            for hop in reversed(hops):
                hop_ip = _ip(hop)
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
        """Several counts (bucket, key, window) in one transaction: one commit per request."""
        now = int(time.time())
        out = []
        assert self.engine is not None
        # The upsert is the transaction's first statement: on SQLite a read first would take a
        # snapshot, and the write after it fails at once if another connection wrote in between.
        async with self._in_turn(), self.engine.begin() as conn:
            for bucket, key, window in counts:
                start = now - now % window
                last = now if exact else start
                ins = self._insert()(RateCount).values(bucket=bucket, key=key, window=start, count=amount,
                                                       last=last, expires=start + window)
                stmt = ins.on_conflict_do_update(
                    index_elements=["bucket", "key", "window"],
                    set_={"count": RateCount.count + amount, "last": last},
                ).returning(RateCount.count)
                out.append((await conn.execute(stmt)).scalar_one())
            if now - self._swept > 60:
                self._swept = now
                await conn.execute(delete(RateCount).where(RateCount.expires < now))
        return out

    async def hit_all(self, request: Request, limits: list[tuple[str, int, int, str]]) -> bool:
        """Counts one request against several (bucket, limit, window, scope) limits at once."""
        address = self.address(request)
        counts = await self.add_many([(b, self.digest(b, address, scope), w) for b, _, w, scope in limits])
        return all(c <= limit for c, (_, limit, _, _) in zip(counts, limits, strict=True))

    async def counts(self, bucket: str, keys: list[str], window: int) -> dict[str, tuple[int, int]]:
        """The current window's (count, last hit) of each key; read only."""
        now = int(time.time())
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
        own, _ = await self.add_many([("miss", mine, WINDOW_CODES), ("miss", scope_key, WINDOW_CODES)])
        await asyncio.sleep(min(0.5, 0.025 * max(0, own - 5)))

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
        return max(0, seen[1] + wait - int(time.time()))

    async def login_failed(self, request: Request, email: str) -> None:
        await self.add("login", self.digest("login", self.address(request), email.strip().lower()), LOGIN_WINDOW,
                       exact=True)

    async def login_ok(self, db, request: Request, email: str) -> None:
        """The wrong tries are forgotten with the successful sign-in, in the request's own session:
        on SQLite a write on another connection between the request's read and its write would
        leave the request's snapshot stale."""
        key = self.digest("login", self.address(request), email.strip().lower())
        await db.execute(delete(RateCount).where(RateCount.bucket == "login", RateCount.key == key))


LOGIN_WINDOW = 24 * 3600
LOGIN_MAX_WAIT = 15 * 60


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/exports/") and "text/html" in request.headers.get("accept", ""):
        # A download started from the exports page in a browser: a bad period is shown as a page
        # naming the field, with a way back; programs (no text/html in Accept) keep the JSON.
        return True
    return not path.startswith(("/api/", "/schema"))


def youth_back(path: str, status: int) -> str | None:
    """Where a young person goes back to from an error, worked out from the address (the site sends
    no Referer): the room or the code entry for workshops, the survey's first page for a survey.
    Never `/`, which is the staff login."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "w":
        # An unknown code: back to typing the code. Inside a room: back to the room.
        return f"/w/{parts[1]}" if len(parts) > 2 and status != 404 else "/w/"
    if parts[0] in ("s", "r") and len(parts) > 1:
        return f"/{parts[0]}/{parts[1]}" if (len(parts) > 2 or status not in (404, 410)) else None
    if parts[0] == "u" and len(parts) > 1 and status != 404:
        return f"/u/{parts[1]}"
    return None


def error_page(request: Request, status: int, detail: str, errors: list[dict] | None = None,
               back: str | None = None) -> Response:
    """An error as a page: the staff menu for signed-in staff, the youth layout for everyone else, in
    the page's language. `back` is the way back; without it, the page the form was on (same site
    only), or for a young person the place in the room or survey the address names."""
    staff = getattr(request.state, "staff_user", None)
    if back is None:
        referer = request.headers.get("referer", "")
        origin = str(request.base_url).rstrip("/")
        if referer.startswith(origin + "/"):
            back = referer[len(origin):]
        elif staff:
            back = "/"
        else:
            back = youth_back(request.url.path, status)
            lang = request.query_params.get("lang")
            if back and lang in i18n.LANGUAGES:
                back += f"?lang={lang}"
    # "field: message" details: the field is for programs, the message is what a person reads.
    field, _, message = detail.partition(": ") if ": " in detail and " " not in detail.split(": ", 1)[0] \
        else ("", "", detail)
    return render(request, "error.html", status_code=status, status=status, detail=message, field=field,
                  errors=errors or [], back=back, youth=staff is None)


def validation_handler(request: Request, exc: ValidationException) -> Response:
    """Every validation problem is a 422 naming the field: JSON for the API, and for an HTML form
    an HTML page in the page's language with the field named and a way back to the form."""
    errors = []
    for e in exc.extra or []:
        if isinstance(e, dict):
            field = str(e.get("key") or e.get("source") or "body")
            errors.append({"field": field, "message": str(e.get("message", exc.detail))})
    if not errors:
        errors.append({"field": "body", "message": exc.detail})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    if wants_html(request):
        return error_page(request, 422, detail, errors)
    return Response({"status_code": 422, "detail": detail, "errors": errors}, status_code=422,
                    media_type=MediaType.JSON)


def _hardened(handler):
    """Errors raised before routing (unknown path, wrong method) never pass the
    middleware above, so their responses get the same headers here."""

    def wrapped(request: Request, exc: Exception) -> Response:
        hosts = getattr(request.app.state, "hosts", None)
        if hosts is not None and host_of(request.scope.get("headers", ())) not in hosts:
            response = Response("host: this service does not answer to that host name", status_code=400,
                                media_type=MediaType.TEXT)
        else:
            response = handler(request, exc)
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        response.headers.setdefault("cache-control", "no-store")
        return response

    wrapped.__name__ = handler.__name__
    return wrapped


@_hardened
def http_error_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, NotAuthorizedException) and wants_html(request) and request.method == "GET":
        return Redirect(f"/login?next={request.url.path}")
    if wants_html(request):
        page = error_page(request, exc.status_code, exc.detail)
        for name, value in (getattr(exc, "headers", None) or {}).items():
            page.headers[name] = value  # Retry-After on a 429 page too
        return page
    body = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=exc.status_code, media_type=MediaType.JSON,
                    headers=getattr(exc, "headers", None))


INT32 = 2**31 - 1


def _out_of_range(request: Request, exc: Exception) -> Response | None:
    """A value the database column cannot hold (an id beyond its integer type, a number
    too big for SQLite) is the caller's mistake: 404 for an id in the path, else 422."""
    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = getattr(e, "orig", None) or e.__cause__ or e.__context__
    if not any(isinstance(e, OverflowError) or any(c.__name__ == "DataError" for c in type(e).__mro__)
               for e in chain):
        return None
    for name, value in (request.path_params or {}).items():
        if isinstance(value, int) and not -INT32 <= value <= INT32:
            return http_error_handler(request, HTTPException(status_code=404, detail=f"{name}: not found"))
    return validation_handler(request, ValidationException(detail="a value is too large or too long"))


def _caller_mistake(request: Request, exc: Exception) -> Response | None:
    """Errors that only bad input causes: answered 4xx naming the field, never a 500."""
    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = getattr(e, "orig", None) or e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, NulInText):
            return validation_handler(request, ValidationException(
                detail="a character that is not allowed (NUL)", extra=[{"key": e.field,
                                                                     "message": "remove the NUL character"}]))
        if isinstance(e, RecursionError):
            return validation_handler(request, ValidationException(
                detail="nested too deeply", extra=[{"key": "body", "message": "nested too deeply"}]))
    return None


@_hardened
def internal_error_handler(request: Request, exc: Exception) -> Response:
    handled = _caller_mistake(request, exc) or _out_of_range(request, exc)
    if handled is not None:
        return handled
    errlog.exception("unhandled error on %s %s", request.method, request.url.path)
    if wants_html(request):
        return error_page(request, 500, "Something went wrong on our side.")
    return Response({"status_code": 500, "detail": "internal error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a header timeout: a client that has not sent a whole request
    head `header_timeout` seconds after connecting (or after its previous answer) is disconnected.
    uvicorn's own keep-alive timer restarts on every byte, so a client trickling one byte at a time
    ("slowloris") would otherwise hold its connection for ever."""

    header_timeout = float(os.environ.get("YOUTHVOICE_HEADER_TIMEOUT", "10"))

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)
