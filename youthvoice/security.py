"""Security at the edge of every request: strict security headers (CSP with the inline stylesheet's hash),
an access log that writes no IP address and no line at all for young people's paths, and the host check
that answers unknown Host headers before the app sees them."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
import time
from pathlib import Path

from markupsafe import Markup

from .ratelimit import parse_ip, parse_network
from .web import env

log = logging.getLogger("youthvoice.access")

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


# RFC 9110 Host: a DNS name or an IPv4 address, or an IPv6 address in brackets, then an optional port
# of digits. Nothing else: user info (`127.0.0.1:P@evil.example`), a path (`localhost:80/evil`) or a
# port that is not a number made the request's own address, and so every link built from it, point
# somewhere else, or made the URL parser raise (a 500 on almost every route).
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"  # "_": container service names
HOST_SYNTAX = re.compile(rf"(?:(?P<name>{_LABEL}(?:\.{_LABEL})*)|\[(?P<v6>[0-9a-f:.]{{2,45}})\])"
                         r"(?::(?P<port>[0-9]{1,5}))?")


def host_of(scope_or_headers) -> str:
    """The Host header's name, lower case, without the port; "" when the header is missing or is not
    a plain host name with an optional port (such a request is refused: its name is in no host list)."""
    raw = ""
    for k, v in scope_or_headers:
        if k == b"host":
            raw = v.decode("latin-1").strip().lower()
            break
    m = HOST_SYNTAX.fullmatch(raw)
    if m is None or (m["port"] is not None and not 0 < int(m["port"]) <= 65535):
        return ""
    if m["v6"] is not None:
        try:
            ipaddress.IPv6Address(m["v6"])
        except ValueError:
            return ""
        return m["v6"]
    return m["name"]


CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # one search per request: a generator over the path cost ~30 µs


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
    trusted = [n for n in (parse_network(p) for p in trusted_proxies) if n is not None]

    def middleware(app):
        async def guard(scope, receive, send):
            if scope["type"] == "http":
                client = parse_ip((scope.get("client") or ("-",))[0])
                if trusted and client is not None and any(client in n for n in trusted):
                    proto = next((v for k, v in scope.get("headers", ()) if k == b"x-forwarded-proto"), b"")
                    if proto.split(b",")[-1].strip().lower() == b"https":
                        scope = {**scope, "scheme": "https"}
                path = scope.get("path", "")
                problem = None
                if CONTROL.search(path):
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
