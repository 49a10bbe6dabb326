"""Cross-cutting HTTP: security headers, an access log without IP, rate limits, error pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from pathlib import Path

from markupsafe import Markup

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from . import i18n
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
