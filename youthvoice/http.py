"""Cross-cutting HTTP: NUL refused before the database, error pages in the page's own format and language,
and uvicorn's protocol with a header timeout. Security headers and the access log are in security.py,
rate limits in ratelimit.py."""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3

import httptools
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import i18n
from .security import SECURITY_HEADERS, host_of
from .web import render

errlog = logging.getLogger("youthvoice.error")


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
    # SQLAlchemy passes the listener all six, by position; only the context carries the bound values.
    def check(_conn, _cursor, _statement, _parameters, context, _executemany):
        for params in getattr(context, "compiled_parameters", None) or ():
            for name, value in params.items():
                if _has_nul(value):
                    raise NulInText(re.sub(r"(_\d+|_m\d+)$", "", str(name)))


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


BUSY = "Many people are answering right now. Please wait a moment and press the button again."


def _busy(request: Request, exc: Exception) -> Response | None:
    """No free database connection in time (a whole class pressing Send at once after a restart), or
    SQLite still locked after its busy timeout: nothing was done, so say 503 and when to try again."""
    e, depth = exc, 0
    while e is not None and depth < 10:
        locked = isinstance(e, sa_exc.OperationalError) and "database is locked" in str(e)
        if isinstance(e, sa_exc.TimeoutError) or locked:
            # No path or time finer than the log's own: it may be a young person's answer that waited.
            errlog.warning("busy: %s, answered 503", type(e).__name__)
            return http_error_handler(request, HTTPException(status_code=503, detail=BUSY,
                                                             headers={"Retry-After": "5"}))
        e, depth = getattr(e, "orig", None) or e.__cause__ or e.__context__, depth + 1
    return None


# The database could not write for want of room. Nothing was stored, so the person may simply send
# again later: 503 with a time to come back, not "something went wrong" (a 500). Forms that keep what
# was typed (the survey, a statement in the room) say DISK_FULL_FORM on their own page instead.
DISK_FULL = "We could not save this just now. Please wait a minute and try again."
DISK_FULL_FORM = "We could not save this just now. What you wrote is still here: wait a minute and press the button again."
DISK_FULL_RETRY = "60"
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_PG_NO_ROOM = {"53100", "53000"}  # disk_full, insufficient_resources
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def storage_full(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the disk or the database is full: SQLite's SQLITE_FULL,
    PostgreSQL's SQLSTATE 53100, or the operating system's ENOSPC / EDQUOT."""
    e, depth = exc, 0
    while e is not None and depth < 10:
        if isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", None) == _SQLITE_FULL
                                             or "database or disk is full" in str(e)):
            return True
        if (getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)) in _PG_NO_ROOM:
            return True
        if isinstance(e, OSError) and e.errno in _NO_SPACE:
            return True
        e, depth = getattr(e, "orig", None) or e.__cause__ or e.__context__, depth + 1
    return False


def _storage_full(request: Request, exc: Exception) -> Response | None:
    if not storage_full(exc):
        return None
    # An operator must act (free space): logged as an error, without the path (it may be an answer).
    errlog.error("the database has no room to write (%s); answered 503", type(exc).__name__)
    return http_error_handler(request, HTTPException(status_code=503, detail=DISK_FULL,
                                                     headers={"Retry-After": DISK_FULL_RETRY}))


@_hardened
def internal_error_handler(request: Request, exc: Exception) -> Response:
    handled = (_caller_mistake(request, exc) or _out_of_range(request, exc) or _busy(request, exc)
               or _storage_full(request, exc))
    if handled is not None:
        return handled
    errlog.exception("unhandled error on %s %s", request.method, request.url.path)
    if wants_html(request):
        return error_page(request, 500, "Something went wrong on our side.")
    return Response({"status_code": 500, "detail": "internal error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's fast HTTP/1.1 protocol (httptools) with a header timeout and a cap on the request
    head. A client that has not sent a whole request head `header_timeout` seconds after connecting
    (or after its previous answer) is disconnected: uvicorn's own keep-alive timer restarts on every
    byte, so a client trickling one byte at a time ("slowloris") would otherwise hold its connection
    for ever. A head over `max_head` bytes is answered 400 and the connection closed.

    (The timer used to sit on the pure-Python h11 protocol: /healthz at 1 573 requests a second there,
    2 533 with this one, in the same bench on the same machine: BENCHMARKS.md.)"""

    header_timeout = float(os.environ.get("YOUTHVOICE_HEADER_TIMEOUT", "10"))
    max_head = 16 * 1024

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = None
        self._heads = self._answered = 0  # request heads read, responses finished (pipelining)
        self._head_bytes = 0
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
        if self._heads == self._answered and not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        super().on_header(name, value)

    def _count_head(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self.max_head:
            raise httptools.HttpParserError("request head too large")

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()
        if not self.transport.is_closing() and self._heads == self._answered:
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)
