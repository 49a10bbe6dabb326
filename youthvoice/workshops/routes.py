"""Workshop routes: staff JSON API and pages, the phone room /w/{code}, live
updates (server-sent events), feedback and the public unit page /u/{slug}."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import msgspec
import segno
from litestar import Request, Response, get, post, put
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import Body
from litestar.response import Redirect, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.web import check_csrf, check_youth_form_token, render, youth_form_token
from . import service
from .models import Participant, Workshop
from .schemas import (COMPOSITION_FIELDS, Closed, Composition, Created, Feedback, FeedbackItem, JoinRequest, Joined,
                      NewStatement, ResponseIn, RevisionOut, StatementEdit, StatementOut, ThemeCount, VoteIn,
                      WorkshopCreated, WorkshopDef, WorkshopOut)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
ROOM_COOKIE = "yv_w"
# How often a live stream looks at the change counter, and how long one stream lasts
# (the browser reconnects by itself).
POLL_SECONDS = 1.0
STREAM_SECONDS = 15 * 60


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


def _out(v: service.StatementView) -> StatementOut:
    return StatementOut(id=v.id, text=v.text, released=v.released, edited_by_staff=v.edited_by_staff,
                        revisions=[RevisionOut(text=r.text, author_role=r.author_role) for r in v.revisions],
                        themes=v.themes, supports=v.supports, approvals=v.approvals, objections=v.objections)


def _ws_out(ws: Workshop, staff: Scope) -> WorkshopOut:
    unit = next(u for u in staff.units if u.id == ws.unit_id)
    return WorkshopOut(id=ws.id, unit=unit.slug, code=ws.code, title=ws.title, date=ws.date, place=ws.place,
                       status=ws.status, themes=list(ws.themes), composition=dict(ws.composition), joined=ws.joined)


def _unit_of(staff: Scope, ws: Workshop):
    return next(u for u in staff.units if u.id == ws.unit_id)


# ====================== staff JSON API ======================

@post("/api/workshops", tags=["staff", "workshops"], status_code=201)
async def create_workshop(data: WorkshopDef, staff: Scope, db: AsyncSession) -> WorkshopCreated:
    """Set up a workshop. `neutral_place` must be true (a neutral place, not an authority's premises)."""
    unit = staff.unit(data.unit)
    ws = await service.create_workshop(db, unit, data, staff.user)
    return WorkshopCreated(id=ws.id, code=ws.code)


@get("/api/workshops", tags=["staff", "workshops"])
async def list_workshops(staff: Scope, db: AsyncSession) -> list[WorkshopOut]:
    return [_ws_out(ws, staff) for ws in await service.unit_workshops(db, staff.unit_ids)]


@get("/api/workshops/{workshop_id:int}", tags=["staff", "workshops"])
async def get_workshop(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    return _ws_out(await service.staff_workshop(db, workshop_id, staff.unit_ids), staff)


@get("/api/workshops/{workshop_id:int}/statements", tags=["staff", "workshops"])
async def list_statements(workshop_id: int, staff: Scope, db: AsyncSession) -> list[StatementOut]:
    """Every statement with its wording history (text and author role)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return [_out(v) for v in await service.statement_views(db, ws)]


@post("/api/workshops/{workshop_id:int}/statements", tags=["staff", "workshops"], status_code=201)
async def staff_add_statement(workshop_id: int, data: NewStatement, staff: Scope, db: AsyncSession) -> Created:
    """The facilitator writes down what a participant says (first revision by staff)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    st = await service.add_statement(db, ws, data.text, "staff", themes=data.themes)
    return Created(id=st.id)


@put("/api/workshops/{workshop_id:int}/statements/{sid:str}", tags=["staff", "workshops"])
async def staff_edit_statement(workshop_id: int, sid: str, data: StatementEdit, staff: Scope,
                               db: AsyncSession) -> StatementOut:
    """A suggested rewording by staff becomes a new revision (author role staff); themes may be set too."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    st = await service.statement_of(db, ws, sid)
    if data.text is None and data.themes is None:
        raise FieldError("text", "send a text or themes")
    if data.themes is not None:
        await service.set_themes(db, ws, st, data.themes)
    if data.text is not None:
        await service.revise(db, ws, st, data.text, "staff")
    views = await service.statement_views(db, ws)
    return _out(next(v for v in views if v.id == sid))


@post("/api/workshops/{workshop_id:int}/review", tags=["staff", "workshops"], status_code=200)
async def open_review(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    """Opens the approval step: participants see exactly the text that would leave the room."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await service.start_review(db, ws, staff.user)
    return _ws_out(ws, staff)


@post("/api/workshops/{workshop_id:int}/reopen", tags=["staff", "workshops"], status_code=200)
async def reopen_writing(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await service.reopen(db, ws)
    return _ws_out(ws, staff)


@post("/api/workshops/{workshop_id:int}/close", tags=["staff", "workshops"], status_code=200)
async def close_workshop(workshop_id: int, staff: Scope, db: AsyncSession) -> Closed:
    """Releases what the group approved (no objection and enough approvals); deletes the rest,
    with its revisions, and every nickname."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return Closed(released=await service.close(db, ws, _unit_of(staff, ws), staff.user))


@put("/api/workshops/{workshop_id:int}/composition", tags=["staff", "workshops"])
async def set_composition(workshop_id: int, data: Composition, staff: Scope, db: AsyncSession) -> WorkshopOut:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    comp = {f: getattr(data, f) for f in COMPOSITION_FIELDS}
    await service.update_composition(db, ws, comp)
    return _ws_out(ws, staff)


@post("/api/statements/{sid:str}/response", tags=["staff", "workshops"], status_code=200)
async def respond_json(sid: str, data: ResponseIn, staff: Scope, db: AsyncSession) -> FeedbackItem:
    """The process leader answers a released statement."""
    staff.require("process_leader", "admin")
    st = await service.respond(db, sid, staff.unit_ids, data.status, data.text, staff.user)
    revs = await service.statement_views(db, await db.get(Workshop, st.workshop_id), released_only=True)
    v = next(v for v in revs if v.id == sid)
    return FeedbackItem(id=v.id, text=v.text, themes=v.themes, edited_by_staff=v.edited_by_staff,
                        status=v.response_status, response=v.response_text)


@get("/api/workshops/themes", tags=["staff", "workshops"])
async def themes_api(staff: Scope, db: AsyncSession, period: str, unit: str | None = None) -> list[ThemeCount]:
    """Released statements per theme and month, for the units the caller sees."""
    from ..analysis.periods import parse_period

    first, last = parse_period(period)
    ids = {staff.unit(unit).id} if unit else staff.unit_ids
    return [ThemeCount(theme=t, month=m, statements=n) for t, m, n in await service.theme_counts(db, ids, first, last)]


# ====================== public JSON API ======================

@post("/api/public/workshops/{code:str}/participants", tags=["public", "workshops"], status_code=201)
async def join_json(code: str, request: Request, db: AsyncSession, state: State, settings: Settings,
                    data: JoinRequest | None = None) -> Joined:
    """Join without an account. The eleventh gets 409."""
    _limit(request, state, settings)
    ws = await service.by_code(db, code)
    return Joined(participant_token=await service.join(db, ws, data.nickname if data else None))


@post("/api/public/workshops/{code:str}/statements", tags=["public", "workshops"], status_code=201)
async def write_json(code: str, data: NewStatement, request: Request, db: AsyncSession, state: State,
                     settings: Settings) -> Created:
    _limit(request, state, settings)
    ws = await service.by_code(db, code)
    who = await _participant(db, ws, request)
    st = await service.add_statement(db, ws, data.text, "participant", author=who, themes=data.themes)
    return Created(id=st.id)


@put("/api/public/workshops/{code:str}/statements/{sid:str}", tags=["public", "workshops"])
async def edit_own_json(code: str, sid: str, data: NewStatement, request: Request, db: AsyncSession) -> Created:
    """A participant rewords their own statement (a new revision by a participant)."""
    ws = await service.by_code(db, code)
    who = await _participant(db, ws, request)
    st = await service.statement_of(db, ws, sid)
    if st.author_id != who.id:
        raise FieldError("statement", "you can only reword your own statements; support the others'")
    await service.revise(db, ws, st, data.text, "participant")
    return Created(id=st.id)


@post("/api/public/workshops/{code:str}/statements/{sid:str}/take-back", tags=["public", "workshops"],
      status_code=200)
async def take_back_json(code: str, sid: str, request: Request, db: AsyncSession) -> Created:
    """The author takes their own wording back after a staff rewording."""
    ws = await service.by_code(db, code)
    who = await _participant(db, ws, request)
    await service.take_back(db, ws, await service.statement_of(db, ws, sid), who)
    return Created(id=sid)


@post("/api/public/workshops/{code:str}/statements/{sid:str}/support", tags=["public", "workshops"],
      status_code=200)
async def support_json(code: str, sid: str, request: Request, db: AsyncSession) -> dict[str, bool]:
    ws = await service.by_code(db, code)
    who = await _participant(db, ws, request)
    return {"supported": await service.toggle_support(db, ws, await service.statement_of(db, ws, sid), who)}


@post("/api/public/workshops/{code:str}/statements/{sid:str}/vote", tags=["public", "workshops"], status_code=200)
async def vote_json(code: str, sid: str, data: VoteIn, request: Request, db: AsyncSession) -> dict[str, str]:
    """Approve or object to the exact wording shown in the review."""
    ws = await service.by_code(db, code)
    who = await _participant(db, ws, request)
    await service.cast_vote(db, ws, await service.statement_of(db, ws, sid), who, data.vote)
    return {"vote": data.vote}


@get("/api/public/workshops/{code:str}/feedback", tags=["public", "workshops"])
async def feedback_json(code: str, db: AsyncSession) -> Feedback:
    """Released statements with the process leader's status and answer. No account needed."""
    ws = await service.by_code(db, code)
    views = await service.statement_views(db, ws, released_only=True) if ws.status == "closed" else []
    return Feedback(title=ws.title, date=ws.date, statements=[
        FeedbackItem(id=v.id, text=v.text, themes=v.themes, edited_by_staff=v.edited_by_staff,
                     status=v.response_status, response=v.response_text) for v in views])


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
            version, status = cur
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
        views = await service.statement_views(db, ws, released_only=True)
        return render(request, "workshops/feedback.html", youth=True, ws=ws, statements=views,
                      until=service.feedback_until(ws), status_code=status)
    token = request.cookies.get(ROOM_COOKIE)
    me = await service.participant_for(db, ws, token)
    views = await service.statement_views(db, ws, me=me) if me else []
    return render(request, "workshops/room.html", youth=True, ws=ws, me=me, statements=views,
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


async def _reset(db: AsyncSession, ws: Workshop) -> Workshop:
    """Undo a half-done change and reload the workshop to show the page again. Objects
    already loaded (the staff user and units) are detached first, so they stay readable."""
    db.expunge_all()
    await db.rollback()
    return await db.get(Workshop, ws.id)


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
        fn = lambda: service.toggle_support(db, ws, st, me)  # noqa: E731
    elif action == "take-back":
        fn = lambda: service.take_back(db, ws, st, me)  # noqa: E731
    elif action == "edit":
        text = data.get("text") if isinstance(data.get("text"), str) else ""

        async def fn():
            if st.author_id != me.id:
                raise FieldError("statement", "You can only change your own statements.")
            if len(text) > 1000:
                raise FieldError("text", "At most 1000 characters.")
            await service.revise(db, ws, st, text, "participant")
    elif action == "vote":
        fn = lambda: service.cast_vote(db, ws, st, me, str(data.get("vote", "")))  # noqa: E731
    else:
        from litestar.exceptions import NotFoundException

        raise NotFoundException("action: unknown")
    err = await _run(request, db, settings, ws, data, fn)
    return err or _back(ws, f"#s-{sid}")


# ====================== feedback: public unit page ======================

@get("/u/{slug:str}", include_in_schema=False)
async def unit_page(slug: str, request: Request, db: AsyncSession) -> Response:
    """"You said, we did": released statements, their status and the answers."""
    unit = await service.unit_by_slug(db, slug)
    return render(request, "workshops/unit.html", youth=True, unit=unit,
                  workshops=await service.released_for_unit(db, unit))


# ====================== staff pages ======================

def _staff(request: Request, staff: Scope) -> None:
    request.state.staff_user = staff.user


@get("/workshops", include_in_schema=False)
async def staff_list(request: Request, staff: Scope, db: AsyncSession) -> Response:
    _staff(request, staff)
    units = {u.id: u for u in staff.units}
    return render(request, "workshops/list.html", workshops=await service.unit_workshops(db, staff.unit_ids),
                  units=units, scope=staff)


def _form_def(data: dict[str, Any]) -> WorkshopDef:
    themes = [t for t in re.split(r"[\n,]", str(data.get("themes") or "")) if t.strip()]
    comp = {}
    for f in COMPOSITION_FIELDS:
        raw = str(data.get(f"c_{f}") or "").strip()
        comp[f] = int(raw) if raw.isdigit() else (raw or 0)
    d = dict(unit=data.get("unit"), title=str(data.get("title") or ""), date=data.get("date") or None,
             place=str(data.get("place") or ""), neutral_place=data.get("neutral_place") == "yes",
             themes=themes, composition=comp,
             feedback_months=int(data["feedback_months"]) if str(data.get("feedback_months", "")).isdigit() else 12)
    try:
        return msgspec.convert(d, WorkshopDef)
    except msgspec.ValidationError as e:
        m = re.search(r"\$\.([a-z_]+)(?:\.([a-z_0-9]+))?", str(e))
        field = (m.group(2) if m and m.group(1) == "composition" and m.group(2) else m.group(1)) if m else "body"
        raise FieldError(field, str(e).split(" - at ")[0]) from None


@get("/workshops/new", include_in_schema=False)
async def new_page(request: Request, staff: Scope) -> Response:
    _staff(request, staff)
    return render(request, "workshops/new.html", scope=staff, form={"date": today().isoformat()}, errors={},
                  fields=COMPOSITION_FIELDS)


@post("/workshops/new", include_in_schema=False, status_code=200)
async def new_form(request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    _staff(request, staff)
    check_csrf(request, data)
    try:
        defn = _form_def(data)
        unit = staff.unit(defn.unit)
        ws = await service.create_workshop(db, unit, defn, staff.user)
    except FieldError as e:
        return render(request, "workshops/new.html", status_code=422, scope=staff, form=data,
                      errors={e.field: e.message}, fields=COMPOSITION_FIELDS)
    return Redirect(f"/workshops/{ws.id}", status_code=303)


async def _control(request: Request, staff: Scope, db: AsyncSession, ws: Workshop, *, status: int = 200,
                   error: str | None = None) -> Response:
    _staff(request, staff)
    return render(request, "workshops/control.html", ws=ws, unit=_unit_of(staff, ws), status_code=status,
                  statements=await service.statement_views(db, ws), error=error,
                  fields=COMPOSITION_FIELDS)


@get("/workshops/{workshop_id:int}", include_in_schema=False)
async def control_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return await _control(request, staff, db, ws)


@get("/workshops/{workshop_id:int}/screen", include_in_schema=False)
async def screen_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession,
                      settings: Settings) -> Response:
    """The projector: code, QR code, and the statements as they arrive."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    _staff(request, staff)
    url = join_url(settings, request, ws.code)
    return render(request, "workshops/screen.html", ws=ws, url=url, qr=qr_svg(url),
                  statements=await service.statement_views(db, ws))


@get("/workshops/{workshop_id:int}/summary", include_in_schema=False)
async def summary_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    """Printable record for the steering group."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    _staff(request, staff)
    return render(request, "workshops/summary.html", ws=ws, unit=_unit_of(staff, ws),
                  statements=await service.statement_views(db, ws, released_only=ws.status == "closed"))


@post("/workshops/{workshop_id:int}/{action:str}", include_in_schema=False, status_code=200)
async def control_form(workshop_id: int, action: str, request: Request, data: Form, staff: Scope,
                       db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    _staff(request, staff)
    check_csrf(request, data)
    try:
        if action == "review":
            await service.start_review(db, ws, staff.user)
        elif action == "reopen":
            await service.reopen(db, ws)
        elif action == "close":
            if data.get("confirm") != "yes":
                raise FieldError("confirm", "Tick the box to confirm that the group has voted.")
            await service.close(db, ws, _unit_of(staff, ws), staff.user)
        elif action == "add":
            theme = str(data.get("theme") or "")
            await service.add_statement(db, ws, str(data.get("text") or ""), "staff",
                                        themes=[theme] if theme else [])
        elif action == "composition":
            comp = {}
            for f in COMPOSITION_FIELDS:
                raw = str(data.get(f"c_{f}") or "0").strip()
                if not raw.isdigit() or int(raw) > 10:
                    raise FieldError(f, "a number from 0 to 10")
                comp[f] = int(raw)
            await service.update_composition(db, ws, comp)
        else:
            from litestar.exceptions import NotFoundException

            raise NotFoundException("action: unknown")
    except (FieldError, service.Conflict) as e:
        ws = await _reset(db, ws)
        msg = e.message if isinstance(e, FieldError) else str(e.detail)
        return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409,
                              error=msg)
    return Redirect(f"/workshops/{ws.id}", status_code=303)


@post("/workshops/{workshop_id:int}/statements/{sid:str}", include_in_schema=False, status_code=200)
async def staff_edit_form(workshop_id: int, sid: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    _staff(request, staff)
    check_csrf(request, data)
    st = await service.statement_of(db, ws, sid)
    raw_themes = data.get("themes")
    themes = raw_themes if isinstance(raw_themes, list) else ([raw_themes] if raw_themes else [])
    try:
        await service.set_themes(db, ws, st, [str(t) for t in themes])
        if isinstance(data.get("text"), str) and data["text"].strip():
            await service.revise(db, ws, st, data["text"], "staff")
    except (FieldError, service.Conflict) as e:
        ws = await _reset(db, ws)
        msg = e.message if isinstance(e, FieldError) else str(e.detail)
        return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409, error=msg)
    return Redirect(f"/workshops/{ws.id}#s-{sid}", status_code=303)


@get("/workshops/answers", include_in_schema=False)
async def answers_page(request: Request, staff: Scope, db: AsyncSession) -> Response:
    """Process leaders answer released statements."""
    return await _answers(request, staff, db)


async def _answers(request: Request, staff: Scope, db: AsyncSession, error: str | None = None,
                   status: int = 200) -> Response:
    _staff(request, staff)
    units = {u.id: u for u in staff.units}
    return render(request, "workshops/answers.html", workshops=await service.awaiting_answer(db, staff.unit_ids),
                  units=units, can_answer=staff.user.role in ("process_leader", "admin"), error=error,
                  status_code=status)


@post("/statements/{sid:str}/response", include_in_schema=False, status_code=200)
async def respond_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    _staff(request, staff)
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    status = data.get("status")
    if status not in ("received", "considering", "done", "not_possible"):
        return await _answers(request, staff, db, error="Choose a status.", status=422)
    await service.respond(db, sid, staff.unit_ids, str(status), str(data.get("text") or "")[:4000], staff.user)
    return Redirect(f"/workshops/answers#s-{sid}", status_code=303)


ROUTES = [
    create_workshop, list_workshops, get_workshop, list_statements, staff_add_statement, staff_edit_statement,
    open_review, reopen_writing, close_workshop, set_composition, respond_json, themes_api,
    join_json, write_json, edit_own_json, take_back_json, support_json, vote_json, feedback_json,
    events, enter_code, room, join_form, write_form, statement_form, unit_page,
    staff_list, new_page, new_form, control_page, screen_page, summary_page, control_form, staff_edit_form,
    answers_page, respond_form,
]
