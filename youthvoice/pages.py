"""Pages every domain shares: staff sign-in and sign-out, the units API, the health check, and the public pages a municipality needs before young people may use the service — the accessibility statement (DOS-lagen 2018:1937, DIGG's model statement) and the privacy notice — and for staff the records of processing (GDPR art. 30), generated from the data model so that it cannot drift from the code."""

from __future__ import annotations

import datetime as dt
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.exceptions import TooManyRequestsException
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import i18n
from .auth import SESSION_COOKIE, Scope, authenticate, end_session, start_session, user_from_request
from .config import Settings
from .db import Base
from .forms import Form
from .models import Unit
from .openapi import answers
from .web import check_csrf, check_youth_form_token, render, youth_form_token

# ---------- from routes.py ----------



class UnitOut(msgspec.Struct):
    slug: str
    name: str
    agreement: str


def _safe_next(value: object) -> str:
    # Only local paths, so the login form cannot be used to send people elsewhere.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


LOGIN_COOKIE = "yv_login"


def _login_purpose(request: Request) -> str | None:
    browser = request.cookies.get(LOGIN_COOKIE, "")
    return f"login:{browser}" if 16 <= len(browser) <= 64 else None


def _login_form(request: Request, settings: Settings, template_status: int = 200, **ctx: Any) -> Response:
    """The sign-in form. Its token is bound to this browser by a random cookie (login CSRF: a token
    taken from one browser does not work in another, so nobody can sign a victim into their account)."""
    browser = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not 16 <= len(browser) <= 64
    if fresh:
        browser = secrets.token_urlsafe(24)
    ctx.setdefault("next", _safe_next(request.query_params.get("next")))
    ctx.setdefault("error", None)
    ctx.setdefault("email", "")
    response = render(request, "login.html", status_code=template_status,
                      form_token=youth_form_token(settings.secret_key, f"login:{browser}"), **ctx)
    if fresh:
        response.set_cookie(LOGIN_COOKIE, browser, httponly=True, samesite="strict", path="/login",
                            secure=settings.secure_cookies or request.url.scheme == "https")
    return response


@get("/login", include_in_schema=False)
async def login_page(request: Request, settings: Settings) -> Response:
    return _login_form(request, settings)


@post("/login", include_in_schema=False, status_code=200)
async def login(request: Request, data: Form, db: AsyncSession, settings: Settings, state: State) -> Response:
    email = str(data.get("email", "")).strip()[:254]
    password = str(data.get("password", ""))[:1000]
    nxt = _safe_next(data.get("next"))

    def again(error: str, status: int) -> Response:
        return _login_form(request, settings, status, error=error, email=email, next=nxt)

    purpose = _login_purpose(request)
    if purpose is None or not check_youth_form_token(settings.secret_key, purpose, data.get("_form")):
        return again("The form expired. Please try again.", 403)
    if not email:
        return again("email: enter your e-mail address.", 400)
    if not password:
        return again("password: enter your password.", 400)
    limiter = state.limiter
    # Per address overall (one machine trying many accounts) and per (address, e-mail) with a growing
    # wait: someone elsewhere guessing this e-mail's password never locks its owner out.
    if not await limiter.hit(request, "login-any", settings.login_rate * 10, 600):
        raise TooManyRequestsException("Too many sign-in attempts. Wait a few minutes and try again.",
                                       headers={"Retry-After": "600"})
    wait = await limiter.login_wait(request, email, settings.login_rate)
    if wait:
        raise TooManyRequestsException(f"Too many wrong passwords. Wait {wait} seconds and try again.",
                                       headers={"Retry-After": str(wait)})
    user = await authenticate(db, email, password)
    if user is None:
        await limiter.login_failed(request, email)
        return again("E-mail or password is wrong.", 400)
    await limiter.login_ok(db, request, email)  # in this request's transaction (SQLite: one writer)
    token, _csrf = await start_session(db, user, request.cookies.get(SESSION_COOKIE))
    secure = settings.secure_cookies or request.url.scheme == "https"
    return Redirect(nxt, status_code=303, cookies=[
        Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", secure=secure, path="/")
    ])


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request, data: Form, db: AsyncSession) -> Response:
    await user_from_request(request, db)
    check_csrf(request, data)
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    return Redirect("/login", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])


@get("/api/units", tags=["staff"], responses=answers(401))
async def list_units(staff: Scope) -> list[UnitOut]:
    """Units the caller sees."""
    return [UnitOut(slug=u.slug, name=u.name, agreement=u.agreement.slug) for u in staff.units]


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


# ---------- from pages.py ----------

KNOWN_GAPS = Path(__file__).resolve().parent / "known_gaps.toml"
DIGG_REPORT_URL = "https://www.digg.se/tdosanmalan"
IMY_URL = "https://www.imy.se/privatperson/"


@lru_cache(maxsize=1)
def known_gaps() -> dict[str, Any]:
    """The checked-in list of known accessibility gaps."""
    with KNOWN_GAPS.open("rb") as f:
        data = tomllib.load(f)
    gaps = data.get("gap", [])
    for i, gap in enumerate(gaps):
        if not gap.get("wcag") or not gap.get("sv"):
            raise ValueError(f"known_gaps.toml: gap {i + 1} needs 'wcag' and 'sv'")
    reviewed = data.get("reviewed")
    if isinstance(reviewed, dt.datetime):
        reviewed = reviewed.date()
    return {"gaps": gaps, "reviewed": reviewed}


def gap_text(gap: dict[str, Any], lang: str) -> str:
    text = gap.get(lang) or gap["sv"]
    if gap.get("unreviewed_languages"):
        # The languages in their own names, as the language list shows them.
        names = ", ".join(i18n.LANGUAGES[c].name for c in i18n.unreviewed_languages())
        text = text.replace("{languages}", names)
    return text


def shown_gaps(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The gap about unreviewed translations is listed while a shipped catalogue says so."""
    return [g for g in gaps if not g.get("unreviewed_languages") or i18n.unreviewed_languages()]


# ---------- records of processing (GDPR art. 30) ----------



def data_model_tables(purposes: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Every table with its columns, from the metadata the application really uses."""
    out = []
    for table in sorted(Base.metadata.sorted_tables, key=lambda t: t.name):
        purpose, kept = purposes.get(table.name, ("", ""))
        out.append({
            "name": table.name,
            "purpose": purpose,
            "kept": kept,
            "columns": [{"name": c.name, "type": _type_name(c.type), "nullable": c.nullable}
                        for c in table.columns],
        })
    return out


def _type_name(t: Any) -> str:
    try:
        return str(t).split("(")[0].lower()
    except Exception:  # noqa: BLE001  (some types cannot render without a dialect)
        return type(t).__name__.lower()


async def retention(db: AsyncSession) -> list[Unit]:
    return list((await db.execute(select(Unit).order_by(Unit.name))).scalars())


# ---------- routes ----------

@get("/tillganglighet", include_in_schema=False)
async def accessibility(request: Request, settings: Settings) -> Response:
    data = known_gaps()
    return render(request, "pages/accessibility.html", youth=True, gaps=shown_gaps(data["gaps"]),
                  reviewed=data["reviewed"],
                  gap_text=gap_text, contact_email=settings.contact_email, controller=settings.controller_name,
                  digg_url=DIGG_REPORT_URL)


@get("/integritet", include_in_schema=False)
async def privacy(request: Request, db: AsyncSession, settings: Settings) -> Response:
    return render(request, "pages/privacy.html", youth=True, units=await retention(db),
                  controller=settings.controller_name, dpo_email=settings.dpo_email,
                  contact_email=settings.contact_email, imy_url=IMY_URL, min_cell=settings.min_cell)


@get("/records", include_in_schema=False)
async def records(request: Request, staff: Scope, settings: Settings) -> Response:
    """Records of processing (GDPR art. 30), for staff and the data-protection officer."""
    return render(request, "pages/records.html", tables=data_model_tables(request.app.state.purposes),
                  units=staff.units,
                  controller=settings.controller_name, dpo_email=settings.dpo_email, min_cell=settings.min_cell)


@get("/api/records", tags=["staff"], responses=answers(401))
async def records_api(request: Request, staff: Scope, settings: Settings) -> dict[str, Any]:
    """Records of processing (GDPR art. 30) as data: every table with its purpose, retention and
    columns, generated from the data model, and each visible unit's retention in months."""
    return {
        "controller": settings.controller_name,
        "dpo_email": settings.dpo_email,
        "legal_basis": "GDPR art. 6.1 e (task carried out in the public interest)",
        "min_cell": settings.min_cell,
        "units": [{"slug": u.slug, "name": u.name, "retention_months": u.retention_months} for u in staff.units],
        "tables": data_model_tables(request.app.state.purposes),
    }


ROUTES = [
    login_page, login, logout, list_units, healthz,
    accessibility, privacy, records, records_api,
]
