"""Cross-cutting HTTP: security headers, an access log without IP, rate limits, error pages."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import OrderedDict

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from .web import render

log = logging.getLogger("youthvoice.access")
errlog = logging.getLogger("youthvoice.error")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
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


class RateLimiter:
    """Fixed-window counters in memory, keyed by a keyed hash of the client address.
    Nothing about the client is written to disk; a restart forgets everything."""

    def __init__(self, secret: str, max_keys: int = 50_000):
        self.secret = secret.encode()
        self.max_keys = max_keys
        self.windows: OrderedDict[tuple[str, str, int], int] = OrderedDict()

    def hit(self, request: Request, bucket: str, limit: int, window: int = 60) -> bool:
        # The address is read here only to be hashed at once: it never reaches a
        # key, a log line or the disk (tests/core/test_ratelimit.py).
        client = request.client.host if request.client else "-"
        return self.hit_key(bucket, client, limit, window)

    def hit_key(self, bucket: str, value: str, limit: int, window: int = 60) -> bool:
        key = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:16]
        slot = (bucket, key, int(time.time() // window))
        count = self.windows.get(slot, 0) + 1
        self.windows[slot] = count
        self.windows.move_to_end(slot)
        while len(self.windows) > self.max_keys:
            self.windows.popitem(last=False)
        return count <= limit


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/schema"))


def error_page(request: Request, status: int, detail: str, errors: list[dict] | None = None) -> Response:
    """An error as a page: the staff menu for signed-in staff, the youth layout for everyone else, in
    the page's language; `back` returns to the page the form was on (same site only)."""
    staff = getattr(request.state, "staff_user", None)
    referer = request.headers.get("referer", "")
    origin = str(request.base_url).rstrip("/")
    back = referer[len(origin):] if referer.startswith(origin + "/") else ("/" if staff else None)
    return render(request, "error.html", status_code=status, status=status, detail=detail, errors=errors or [],
                  back=back, youth=staff is None)


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
        return error_page(request, exc.status_code, exc.detail)
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


@_hardened
def internal_error_handler(request: Request, exc: Exception) -> Response:
    handled = _out_of_range(request, exc)
    if handled is not None:
        return handled
    errlog.exception("unhandled error on %s %s", request.method, request.url.path)
    if wants_html(request):
        return error_page(request, 500, "Something went wrong on our side.")
    return Response({"status_code": 500, "detail": "internal error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)
