"""The phone room /w/{code} without JavaScript, its live updates (server-sent events) and the
public page /u/{slug}."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.response import Redirect, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.config import Settings
from ..core.errors import FieldError
from ..core.web import check_youth_form_token, render, youth_form_token
from . import service, views
from .models import Participant, Workshop
from .web import Form, _limit, _reset

ROOM_COOKIE = "yv_w"
# How often a live stream looks at the change counter, and how long one stream lasts
# (the browser reconnects by itself).
POLL_SECONDS = 1.0
STREAM_SECONDS = 15 * 60

# ====================== live updates ======================

@get("/w/{code:str}/events", include_in_schema=False)
async def events(code: str, state: State) -> ServerSentEvent:
    """Sends `change` with the room's change counter whenever it moves. The counter
    lives in the database, so a change made through any worker reaches every stream."""
    async with state.sessionmaker() as db:
        ws = await service.by_code(db, code)
        ws_id = ws.id

    async def stream():
        last = None
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        quiet = 0
        while loop.time() < end:
            async with state.sessionmaker() as db:
                cur = await service.current_version(db, ws_id)
            if cur is None:
                yield ServerSentEventMessage(event="gone", data="")
                return
            version, _status = cur
            if version != last:
                last = version
                quiet = 0
                yield ServerSentEventMessage(event="change", data=f"{version}", id=version)
            else:
                quiet += 1
                if quiet * POLL_SECONDS >= 20:
                    quiet = 0
                    yield ServerSentEventMessage(comment="still here")
            await asyncio.sleep(POLL_SECONDS)

    return ServerSentEvent(stream(), retry_duration=2000, headers={"Cache-Control": "no-store",
                                                                   "X-Accel-Buffering": "no"})


# ====================== phone room (no JavaScript needed) ======================

def _room_purpose(ws: Workshop) -> str:
    return f"workshop:{ws.code}"


async def _room(request: Request, db: AsyncSession, settings: Settings, ws: Workshop, *, status: int = 200,
                errors: dict[str, str] | None = None, form: dict[str, Any] | None = None) -> Response:
    if ws.status == "closed":
        shown = await views.statement_views(db, ws, released_only=True)
        return render(request, "workshops/feedback.html", youth=True, ws=ws, statements=shown,
                      until=service.feedback_until(ws), status_code=status)
    token = request.cookies.get(ROOM_COOKIE)
    me = await service.participant_for(db, ws, token)
    shown = await views.statement_views(db, ws, me=me) if me else []
    return render(request, "workshops/room.html", youth=True, ws=ws, me=me, statements=shown,
                  errors=errors or {}, form=form or {}, status_code=status,
                  form_token=youth_form_token(settings.secret_key, _room_purpose(ws)))


@get("/w", include_in_schema=False)
async def enter_code(request: Request) -> Response:
    code = request.query_params.get("code")
    if code:
        return Redirect(f"/w/{service.normalize_code(code)}")
    return render(request, "workshops/enter.html", youth=True)


@get("/w/{code:str}", include_in_schema=False)
async def room(code: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    ws = await service.by_code(db, code)
    if ws.code != code:
        return Redirect(f"/w/{ws.code}")
    return await _room(request, db, settings, ws)


async def _room_post(code: str, request: Request, db: AsyncSession, settings: Settings, data: dict,
                     need_participant: bool = True) -> tuple[Workshop, Participant | None, Response | None]:
    ws = await service.by_code(db, code)
    if check_youth_form_token(settings.secret_key, _room_purpose(ws), data.get("_form")) is None:
        return ws, None, await _room(request, db, settings, ws, status=400,
                                     errors={"_form": "The page was open too long. Please try again."})
    me = await service.participant_for(db, ws, request.cookies.get(ROOM_COOKIE))
    if need_participant and me is None:
        return ws, None, await _room(request, db, settings, ws, status=403,
                                     errors={"_form": "Join the workshop first."})
    return ws, me, None


def _back(ws: Workshop, anchor: str = "") -> Response:
    return Redirect(f"/w/{ws.code}{anchor}", status_code=303)


async def _run(request, db, settings, ws, data, fn) -> Response | None:
    """Runs a change; a 4xx becomes the room page with the message, never a 500."""
    try:
        await fn()
    except FieldError as e:
        ws = await _reset(db, ws)
        return await _room(request, db, settings, ws, status=422, errors={e.field: e.message}, form=data)
    except service.Conflict as e:
        ws = await _reset(db, ws)
        msg = str(e.detail).split(": ", 1)[-1]
        return await _room(request, db, settings, ws, status=409, errors={"_form": msg}, form=data)
    return None


@post("/w/{code:str}/join", include_in_schema=False, status_code=200)
async def join_form(code: str, data: Form, request: Request, db: AsyncSession, state: State,
                    settings: Settings) -> Response:
    ws, _, bad = await _room_post(code, request, db, settings, data, need_participant=False)
    if bad:
        return bad
    _limit(request, state, settings)
    nickname = data.get("nickname") if isinstance(data.get("nickname"), str) else None
    try:
        token = await service.join(db, ws, nickname)
    except service.Full:
        return render(request, "workshops/full.html", youth=True, ws=ws, status_code=409)
    except service.Conflict:
        return await _room(request, db, settings, ws)
    # Back to the room's own address (so reloads and live updates fetch /w/{code}), with
    # the participant cookie: random, only for this room's path, gone with the browser session.
    return Redirect(f"/w/{ws.code}", status_code=303, cookies=[
        Cookie(key=ROOM_COOKIE, value=token, path=f"/w/{ws.code}", httponly=True, samesite="lax",
               secure=settings.secure_cookies or request.url.scheme == "https")])


@post("/w/{code:str}/statements", include_in_schema=False, status_code=200)
async def write_form(code: str, data: Form, request: Request, db: AsyncSession, state: State,
                     settings: Settings) -> Response:
    ws, me, bad = await _room_post(code, request, db, settings, data)
    if bad:
        return bad
    _limit(request, state, settings)
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    theme = data.get("theme") if isinstance(data.get("theme"), str) else ""
    if len(text) > 1000:
        return await _room(request, db, settings, ws, status=422, form=data,
                           errors={"text": "At most 1000 characters."})
    err = await _run(request, db, settings, ws, data, lambda: service.add_statement(
        db, ws, text, "participant", author=me, themes=[theme] if theme else []))
    return err or _back(ws, "#write")


@post("/w/{code:str}/statements/{sid:str}/{action:str}", include_in_schema=False, status_code=200)
async def statement_form(code: str, sid: str, action: str, data: Form, request: Request, db: AsyncSession,
                         settings: Settings) -> Response:
    ws, me, bad = await _room_post(code, request, db, settings, data)
    if bad:
        return bad
    assert me is not None
    st = await service.statement_of(db, ws, sid)
    if action == "support":
        fn = lambda: service.toggle_support(db, ws, st, me)
    elif action == "take-back":
        fn = lambda: service.take_back(db, ws, st, me)
    elif action == "edit":
        text = data.get("text") if isinstance(data.get("text"), str) else ""

        async def fn():
            if st.author_id != me.id:
                raise FieldError("statement", "You can only change your own statements.")
            if len(text) > 1000:
                raise FieldError("text", "At most 1000 characters.")
            await service.revise(db, ws, st, text, "participant")
    elif action == "vote":
        fn = lambda: service.cast_vote(db, ws, st, me, str(data.get("vote", "")))
    else:
        from litestar.exceptions import NotFoundException

        raise NotFoundException("action: unknown")
    err = await _run(request, db, settings, ws, data, fn)
    return err or _back(ws, f"#s-{sid}")


# ====================== feedback: public unit page ======================

@get("/u/{slug:str}", include_in_schema=False)
async def unit_page(slug: str, request: Request, db: AsyncSession) -> Response:
    """"You said, we did": released statements, their status and the answers."""
    unit = await views.unit_by_slug(db, slug)
    return render(request, "workshops/unit.html", youth=True, unit=unit,
                  workshops=await views.released_for_unit(db, unit))


ROUTES = [
    events,
    enter_code,
    room,
    join_form,
    write_form,
    statement_form,
    unit_page,
]
