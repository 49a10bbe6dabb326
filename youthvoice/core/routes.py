"""Staff sign-in, sign-out, start page and the units API."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.exceptions import TooManyRequestsException
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..survey.models import Survey
from .auth import SESSION_COOKIE, Scope, authenticate, end_session, scope_for, start_session, user_from_request
from .config import Settings
from .web import check_csrf, check_youth_form_token, render, youth_form_token

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class UnitOut(msgspec.Struct):
    slug: str
    name: str
    agreement: str


def _safe_next(value: object) -> str:
    # Only local paths, so the login form cannot be used to send people elsewhere.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@get("/login", include_in_schema=False)
async def login_page(request: Request, settings: Settings) -> Response:
    return render(request, "core/login.html", form_token=youth_form_token(settings.secret_key, "login"),
                  next=_safe_next(request.query_params.get("next")), error=None, email="")


@post("/login", include_in_schema=False, status_code=200)
async def login(request: Request, data: Form, db: AsyncSession, settings: Settings, state: State) -> Response:
    email = str(data.get("email", "")).strip()[:254]
    password = str(data.get("password", ""))[:1000]
    nxt = _safe_next(data.get("next"))

    def again(error: str, status: int) -> Response:
        return render(request, "core/login.html", status_code=status, error=error, email=email, next=nxt,
                      form_token=youth_form_token(settings.secret_key, "login"))

    if not check_youth_form_token(settings.secret_key, "login", data.get("_form")):
        return again("The form expired. Please try again.", 403)
    if not state.limiter.hit(request, "login", settings.login_rate) or \
            not state.limiter.hit_key("login-email", email.lower(), settings.login_rate):
        raise TooManyRequestsException("Too many sign-in attempts. Wait a minute and try again.")
    if not email:
        return again("email: enter your e-mail address.", 400)
    if not password:
        return again("password: enter your password.", 400)
    user = await authenticate(db, email, password)
    if user is None:
        return again("E-mail or password is wrong.", 400)
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


@get("/", include_in_schema=False)
async def home(request: Request, db: AsyncSession) -> Response:
    user = await user_from_request(request, db)
    if user is None:
        return Redirect("/login")
    request.state.staff_user = user
    scope = await scope_for(db, user)
    surveys = list((await db.execute(
        select(Survey).where(Survey.unit_id.in_(scope.unit_ids or {-1})).order_by(Survey.opens.desc())
    )).scalars())
    return render(request, "core/home.html", scope=scope, surveys=surveys)


@get("/api/units", tags=["staff"])
async def list_units(staff: Scope) -> list[UnitOut]:
    """Units the caller sees."""
    return [UnitOut(slug=u.slug, name=u.name, agreement=u.agreement.slug) for u in staff.units]


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


ROUTES = [login_page, login, logout, home, list_units, healthz]
