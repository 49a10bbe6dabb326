"""Rendering, language choice, CSRF and the small helpers every HTML route shares."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.exceptions import PermissionDeniedException, TooManyRequestsException

from . import i18n


def _templates_dir() -> Path:
    # A wheel installs the root templates/ folder as youthvoice/templates; a checkout reads it in place.
    here = Path(__file__).resolve().parent
    shipped = here / "templates"
    return shipped if shipped.is_dir() else here.parent / "templates"


TEMPLATES = _templates_dir()

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.newstyle_gettext = True  # type: ignore[attr-defined]


OFFERED = "offered_languages"  # request.state attribute: the languages this page can be shown in


def offer_languages(request: Request, codes: list[str]) -> None:
    """A page that exists only in some languages (a survey offers those every question has) says so
    before rendering: the language choice and the language list then keep to them."""
    setattr(request.state, OFFERED, [c for c in i18n.LANGUAGES if c in codes] or [i18n.DEFAULT_LANG])


def offered_languages(request: Request) -> list[str]:
    return getattr(request.state, OFFERED, None) or list(i18n.LANGUAGES)


def request_lang(request: Request) -> str:
    """?lang=, then the lang cookie, then Accept-Language, then Swedish, among the offered languages."""
    return i18n.pick_language(request.query_params.get("lang"), request.cookies.get(i18n.LANG_COOKIE),
                              request.headers.get("accept-language"), offered_languages(request))


def _gettext_for(lang: str):
    t = i18n.translations(lang)

    def _(message: str, **kw: Any) -> str:
        text = t.gettext(message)
        return text % kw if kw else text

    def ngettext(singular: str, plural: str, n: int, **kw: Any) -> str:
        text = t.ngettext(singular, plural, n)
        kw.setdefault("num", n)
        return text % kw

    return _, ngettext


def translator(lang: str):
    return _gettext_for(lang)[0]


_PAGES: dict[tuple, str] = {}


def render(request: Request, template: str, *, status_code: int = 200, youth: bool = False,
           memo: tuple | None = None, **context: Any) -> Response:
    """Render a page. `youth` pages set no cookie but `lang`, and only when the
    young person picked a language with ?lang=.

    `memo`: the caller vouches that the page is the same for every request with this key and
    language, so it is rendered once per process (the thank-you page after each answer)."""
    lang = request_lang(request)
    key = (template, lang, youth, memo, tuple(offered_languages(request))) if memo is not None else None
    html = _PAGES.get(key) if key else None
    if html is None:
        html = _render_html(request, template, lang, youth, context)
        if key:
            if len(_PAGES) > 2000:
                _PAGES.clear()
            _PAGES[key] = html
    cookies = []
    q = request.query_params.get("lang")
    if q in i18n.LANGUAGES and request.cookies.get(i18n.LANG_COOKIE) != q:
        cookies.append(Cookie(key=i18n.LANG_COOKIE, value=q, max_age=365 * 24 * 3600, httponly=True,
                              samesite="lax", secure=request.url.scheme == "https"))
    # Vary: the same URL answers in another language for another Accept-Language or lang cookie.
    return Response(content=html, media_type=MediaType.HTML, status_code=status_code, cookies=cookies,
                    headers={"Content-Language": i18n.html_lang(lang), "Vary": "Accept-Language, Cookie"})


def _render_html(request: Request, template: str, lang: str, youth: bool, context: dict[str, Any]) -> str:
    _, ngettext = _gettext_for(lang)
    ctx = dict(
        lang=lang,
        dir=i18n.direction(lang),
        html_lang=i18n.html_lang(lang),
        # The language list: only the languages this page is offered in, each in its own name.
        languages={c: i18n.LANGUAGES[c] for c in offered_languages(request)},
        all_languages=i18n.LANGUAGES,
        number=lambda value: i18n.format_number(value, lang),
        date=lambda value, form="long": i18n.format_date(value, lang, form),
        _=_,
        gettext=_,
        ngettext=ngettext,
        request=request,
        path=request.url.path,
        csrf_token=getattr(request.state, "csrf_token", ""),
        staff=getattr(request.state, "staff_user", None),
        youth=youth,
    )
    ctx.update(context)
    return env.get_template(template).render(**ctx)


def check_csrf(request: Request, form: dict[str, Any]) -> None:
    """Staff forms: the hidden token must match the one stored with the session."""
    expected = getattr(request.state, "csrf_token", "")
    sent = form.get("_csrf") or ""
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise PermissionDeniedException("The form expired. Reload the page and try again.")


# Youth forms carry no session (no cookie may identify a young person), so their
# CSRF token is a signed, time-limited random nonce. The nonce doubles as the
# once-only mark that stops a double tap from counting twice.
FORM_TTL = 6 * 3600


def youth_form_token(secret: str, purpose: str) -> str:
    nonce = secrets.token_urlsafe(12)
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), f"{purpose}|{nonce}|{ts}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{nonce}.{ts}.{sig}"


def check_youth_form_token(secret: str, purpose: str, token: object) -> str | None:
    """Returns the nonce when valid, else None."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    nonce, ts, sig = token.split(".")
    good = hmac.new(secret.encode(), f"{purpose}|{nonce}|{ts}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(good, sig) or not (ts.isascii() and ts.isdigit()):
        return None
    if time.time() - int(ts) > FORM_TTL:
        return None
    return nonce


def qr_svg(url: str, scale: int = 6) -> str:
    """An inline SVG QR code. No style attributes (the CSP forbids them): colours are SVG attributes."""
    return segno.make(url, error="m").svg_inline(scale=scale, dark="#000", light="#fff", svgclass="qr",
                                                 lineclass=None, omitsize=True, title=url)


def base_url(settings, request: Request) -> str:
    return settings.base_url or str(request.base_url).rstrip("/")


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def limit(request: Request, bucket: str, rate: int, message: str, window: int = 60, scope: str = "") -> None:
    """429 once this address has used `rate` requests of `bucket` (in `scope`) in this window."""
    if not await request.app.state.limiter.hit(request, bucket, rate, window, scope):
        raise TooManyRequestsException(message, headers={"Retry-After": str(window)})
