"""What the workshop API, the phone room and the staff pages share."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from litestar import Request
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.config import Settings
from . import service, views
from .models import Participant, Workshop
from .schemas import RevisionOut, StatementOut, WorkshopOut

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _limit(request: Request, state: State, settings: Settings) -> None:
    if not state.limiter.hit(request, "workshop", settings.submit_rate * 4):
        raise TooManyRequestsException("Too many requests from here right now. Wait a minute and try again.")


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def _participant(db: AsyncSession, ws: Workshop, request: Request) -> Participant:
    """Public JSON routes: the participant token as `Authorization: Bearer`. A staff token
    never matches (different prefix and hash domain)."""
    who = await service.participant_for(db, ws, _bearer(request))
    if who is None:
        raise NotAuthorizedException("participant_token: join the workshop first")
    return who


def join_url(settings: Settings, request: Request, code: str) -> str:
    base = settings.base_url or str(request.base_url).rstrip("/")
    return f"{base}/w/{code}"


def qr_svg(url: str) -> str:
    # No style attributes (CSP style-src 'self'): colours are SVG attributes.
    return segno.make(url, error="m").svg_inline(scale=6, dark="#000", light="#fff", svgclass="qr",
                                                 lineclass=None, omitsize=True, title=url)


def _out(v: views.StatementView) -> StatementOut:
    return StatementOut(id=v.id, text=v.text, released=v.released, edited_by_staff=v.edited_by_staff,
                        revisions=[RevisionOut(text=r.text, author_role=r.author_role) for r in v.revisions],
                        themes=v.themes, supports=v.supports, approvals=v.approvals, objections=v.objections)


def _ws_out(ws: Workshop, staff: Scope) -> WorkshopOut:
    return WorkshopOut(id=ws.id, unit=_unit_of(staff, ws).slug, code=ws.code, title=ws.title, date=ws.date, place=ws.place,
                       status=ws.status, themes=list(ws.themes), composition=dict(ws.composition), joined=ws.joined)


def _unit_of(staff: Scope, ws: Workshop):
    return next(u for u in staff.units if u.id == ws.unit_id)


async def _reset(db: AsyncSession, ws: Workshop) -> Workshop:
    """Undo a half-done change and reload the workshop to show the page again. Objects
    already loaded (the staff user and units) are detached first, so they stay readable."""
    db.expunge_all()
    await db.rollback()
    return await db.get(Workshop, ws.id)
