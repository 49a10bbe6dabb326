"""Workshop JSON API: staff routes and the participants' public routes (CONTRACT)."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Request, Response, Router, delete, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.codes import format_code
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.openapi import answers, options_for
from youthvoice.periods import parse_period
from youthvoice.tables import file_format, send_table
from youthvoice.web import base_url, bearer_token, limit, request_lang, translator

from . import close, exports, feedback, service, statements, views
from .mail import send_nudges
from .models import Statement, Workshop
from .schemas import (
    COMPOSITION_FIELDS,
    Closed,
    Composition,
    Created,
    Feedback,
    FeedbackItem,
    Joined,
    JoinRequest,
    LinksIn,
    MilestoneIn,
    NewStatement,
    ParticipantOut,
    ReplyCodeOut,
    ReplyIn,
    ResponseIn,
    StatementEdit,
    StatementOut,
    ThemeCount,
    VoteIn,
    WorkshopCreated,
    WorkshopDef,
    WorkshopOut,
    feedback_item,
    statement_out,
    workshop_out,
)

# ====================== staff JSON API ======================

@post("/", tags=["staff", "workshops"], status_code=201, responses=answers(401, 404, 409, 422, body=True))
async def create_workshop(data: WorkshopDef, staff: Scope, db: AsyncSession) -> WorkshopCreated:
    """Set up a workshop. `neutral_place` must be true (a neutral place, not an authority's premises)."""
    unit = staff.unit(data.unit)
    ws = await service.create_workshop(db, unit, data, staff.user)
    return WorkshopCreated(id=ws.id, code=ws.code)


@get("/", tags=["staff", "workshops"], responses=answers(401))
async def list_workshops(staff: Scope, db: AsyncSession) -> list[WorkshopOut]:
    return [workshop_out(ws, service.unit_of(staff, ws).slug)
            for ws in await views.unit_workshops(db, staff.unit_ids)]


@get("/{workshop_id:int}", tags=["staff", "workshops"], responses=answers(401, 404))
async def get_workshop(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


@get("/{workshop_id:int}/statements", tags=["staff", "workshops"], responses=answers(401, 404))
async def list_statements(workshop_id: int, staff: Scope, db: AsyncSession) -> list[StatementOut]:
    """Every statement with its wording history (text and author role)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return [statement_out(v) for v in await views.statement_views(db, ws)]


@post("/{workshop_id:int}/statements", tags=["staff", "workshops"], status_code=201,
      responses=answers(401, 404, 409, 422, body=True))
async def staff_add_statement(workshop_id: int, data: NewStatement, staff: Scope, db: AsyncSession) -> Created:
    """The facilitator writes down what a participant says (first revision by staff)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    st = await statements.add_statement(db, ws, data.text, "staff", themes=data.themes)
    return Created(id=st.id)


@put("/{workshop_id:int}/statements/{sid:str}", tags=["staff", "workshops"], responses=answers(401, 404, 409, 422, body=True))
async def staff_edit_statement(workshop_id: int, sid: str, data: StatementEdit, staff: Scope,
                               db: AsyncSession) -> StatementOut:
    """A suggested rewording by staff becomes a new revision (author role staff); themes may be set too."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    st = await service.statement_of(db, ws, sid)
    if data.text is None and data.themes is None:
        raise FieldError("text", "send a text or themes")
    if data.themes is not None:
        await statements.set_themes(db, ws, st, data.themes)
    if data.text is not None:
        await statements.revise(db, ws, st, data.text, "staff")
    shown = await views.statement_views(db, ws)
    return statement_out(next(v for v in shown if v.id == sid))


@post("/{workshop_id:int}/review", tags=["staff", "workshops"], status_code=200, responses=answers(401, 404, 409))
async def open_review(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    """Opens the approval step: participants see exactly the text that would leave the room."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await close.start_review(db, ws, staff.user)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


@post("/{workshop_id:int}/reopen", tags=["staff", "workshops"], status_code=200, responses=answers(401, 404, 409))
async def reopen_writing(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await close.reopen(db, ws)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


@post("/{workshop_id:int}/close", tags=["staff", "workshops"], status_code=200, responses=answers(401, 404, 409))
async def close_workshop(workshop_id: int, staff: Scope, db: AsyncSession, settings: Settings) -> Closed:
    """Releases what the group approved (no objection and enough approvals); deletes the rest,
    with its revisions, and every nickname. Each phone in the room then shows its personal reply code."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await feedback.issue_reply_codes(db, ws, settings.secret_key)
    return Closed(released=await close.close(db, ws, service.unit_of(staff, ws), staff.user))


@put("/{workshop_id:int}/composition", tags=["staff", "workshops"], responses=answers(401, 404, 409, 422, body=True))
async def set_composition(workshop_id: int, data: Composition, staff: Scope, db: AsyncSession) -> WorkshopOut:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    comp = {f: getattr(data, f) for f in COMPOSITION_FIELDS}
    await service.update_composition(db, ws, comp)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


async def _feedback_item(db: AsyncSession, sid: str) -> FeedbackItem:
    st = await db.get(Statement, sid)
    shown = await views.statement_views(db, await db.get(Workshop, st.workshop_id), released_only=True)
    v = next(v for v in shown if v.id == sid)
    return feedback_item(v, (await feedback.timelines(db, [sid]))[sid])


def _nudge(request: Request, state: State, settings: Settings, sid: str) -> BackgroundTask:
    return BackgroundTask(send_nudges, state.sessionmaker, settings, sid, base_url(settings, request))


@post("/api/statements/{sid:str}/response", tags=["staff", "workshops"], status_code=200,
      responses=answers(401, 403, 404, 409, 422, body=True))
async def respond_json(sid: str, data: ResponseIn, request: Request, staff: Scope, db: AsyncSession, state: State,
                       settings: Settings) -> Response[FeedbackItem]:
    """The process leader answers a released statement: a new entry in its history (earlier answers
    stay). Everyone who left an e-mail address for it gets one message, after the change is saved."""
    staff.require("process_leader", "admin")
    await feedback.respond(db, sid, staff.unit_ids, data.status, data.text, staff.user, texts=data.texts,
                           next_update_by=data.next_update_by, contact=data.contact, reply_days=settings.reply_days)
    return Response(await _feedback_item(db, sid), background=_nudge(request, state, settings, sid))


@post("/api/statements/{sid:str}/milestones", tags=["staff", "workshops"], status_code=201,
      responses=answers(401, 403, 404, 409, 422, body=True))
async def milestone_json(sid: str, data: MilestoneIn, request: Request, staff: Scope, db: AsyncSession,
                         state: State, settings: Settings) -> Response[FeedbackItem]:
    """A step on the way ("met the employers on 12 March"), optionally with the next promised date."""
    staff.require("process_leader", "admin")
    await feedback.add_milestone(db, sid, staff.unit_ids, data.text, staff.user, texts=data.texts, on=data.on,
                                 next_update_by=data.next_update_by)
    return Response(await _feedback_item(db, sid), status_code=201, background=_nudge(request, state, settings, sid))


@put("/api/statements/{sid:str}/earlier", tags=["staff", "workshops"], responses=answers(401, 403, 404, 409, 422, body=True))
async def links_json(sid: str, data: LinksIn, staff: Scope, db: AsyncSession) -> FeedbackItem:
    """Links the statement to earlier ones on the same theme ("we asked for this last spring too")."""
    staff.require("process_leader", "admin")
    await feedback.set_links(db, sid, staff.unit_ids, data.earlier, staff.user)
    return await _feedback_item(db, sid)


@get("/{workshop_id:int}/participants", tags=["staff", "workshops"], responses=answers(401, 404))
async def list_participants(workshop_id: int, staff: Scope, db: AsyncSession) -> list[ParticipantOut]:
    """Who is in the room: nickname (if given) and how many statements each wrote."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return [ParticipantOut(id=p.id, nickname=p.nickname, statements=n) for p, n in await service.participants(db, ws)]


@delete("/{workshop_id:int}/participants/{pid:str}", tags=["staff", "workshops"], status_code=200,
        responses=answers(401, 404, 409, 422))
async def remove_participant(workshop_id: int, pid: str, staff: Scope, db: AsyncSession) -> WorkshopOut:
    """Removes a participant (e.g. one who joined twice); they no longer count among those who joined."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await service.remove_participant(db, ws, pid, staff.user)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


@post("/{workshop_id:int}/code", tags=["staff", "workshops"], status_code=200, responses=answers(401, 404, 409))
async def new_code(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    """A new room code; the old one stops working at once."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    await service.new_room_code(db, ws, staff.user)
    return workshop_out(ws, service.unit_of(staff, ws).slug)


@get("/themes", tags=["staff", "workshops"], responses=answers(401, 404, 422))
async def themes_api(staff: Scope, db: AsyncSession, period: str, unit: str | None = None) -> list[ThemeCount]:
    """Released statements per theme and month, for the units the caller sees."""
    first, last = parse_period(period)
    ids = {staff.unit(unit).id} if unit else staff.unit_ids
    return [ThemeCount(theme=t, month=m, statements=n) for t, m, n in await views.theme_counts(db, ids, first, last)]


# ====================== public JSON API ======================

@post("/{code:str}/participants", tags=["public", "workshops"], status_code=201, responses=answers(404, 409, 422, 429, body=True))
async def join_json(code: str, request: Request, db: AsyncSession, data: JoinRequest | None = None) -> Joined:
    """Join without an account. The eleventh gets 409. A client that sends its participant token
    stays the participant it is (no second seat); joins from one address are throttled."""
    await limit(request, "workshop", request.app.state.settings.submit_rate * 4,
                "Too many requests from here right now. Wait a minute and try again.")
    ws = await service.room_by_code(request, db, code)
    token = bearer_token(request)
    if await service.participant_for(db, ws, token):
        return Joined(participant_token=token)  # type: ignore[arg-type]
    await service.limit_joins(request, ws, code)
    token = await service.join(db, ws, data.nickname if data else None)
    await feedback.note_language(db, ws, request_lang(request))
    await service.count_join(request, db, code)
    return Joined(participant_token=token)


@post("/{code:str}/statements", tags=["public", "workshops"], status_code=201,
      responses=answers(401, 404, 409, 422, 429, body=True))
async def write_json(code: str, data: NewStatement, request: Request, db: AsyncSession,
                     settings: Settings) -> Created:
    await limit(request, "workshop", settings.submit_rate * 4, "Too many requests from here right now. Wait a minute and try again.")
    ws = await service.room_by_code(request, db, code)
    who = await service.require_participant(db, ws, bearer_token(request))
    st = await statements.add_statement(db, ws, data.text, "participant", author=who, themes=data.themes)
    return Created(id=st.id)


@put("/{code:str}/statements/{sid:str}", tags=["public", "workshops"], responses=answers(401, 404, 409, 422, 429, body=True))
async def edit_own_json(code: str, sid: str, data: NewStatement, request: Request, db: AsyncSession) -> Created:
    """A participant rewords their own statement (a new revision by a participant)."""
    ws = await service.room_by_code(request, db, code)
    who = await service.require_participant(db, ws, bearer_token(request))
    st = await service.statement_of(db, ws, sid)
    if st.author_id != who.id:
        raise FieldError("statement", "you can only reword your own statements; support the others'")
    await statements.revise(db, ws, st, data.text, "participant")
    return Created(id=st.id)


@post("/{code:str}/statements/{sid:str}/take-back", tags=["public", "workshops"],
      status_code=200, responses=answers(401, 404, 409, 422, 429))
async def take_back_json(code: str, sid: str, request: Request, db: AsyncSession) -> Created:
    """The author takes their own wording back after a staff rewording."""
    ws = await service.room_by_code(request, db, code)
    who = await service.require_participant(db, ws, bearer_token(request))
    await statements.take_back(db, ws, await service.statement_of(db, ws, sid), who)
    return Created(id=sid)


@post("/{code:str}/statements/{sid:str}/support", tags=["public", "workshops"],
      status_code=200, responses=answers(401, 404, 409, 429))
async def support_json(code: str, sid: str, request: Request, db: AsyncSession) -> dict[str, bool]:
    ws = await service.room_by_code(request, db, code)
    who = await service.require_participant(db, ws, bearer_token(request))
    return {"supported": await statements.toggle_support(db, ws, await service.statement_of(db, ws, sid), who)}


@post("/{code:str}/statements/{sid:str}/vote", tags=["public", "workshops"], status_code=200,
      responses=answers(401, 404, 409, 422, 429, body=True))
async def vote_json(code: str, sid: str, data: VoteIn, request: Request, db: AsyncSession) -> dict[str, str]:
    """Approve or object to the exact wording shown in the review."""
    ws = await service.room_by_code(request, db, code)
    who = await service.require_participant(db, ws, bearer_token(request))
    await statements.cast_vote(db, ws, await service.statement_of(db, ws, sid), who, data.vote)
    return {"vote": data.vote}


@get("/{code:str}/feedback", tags=["public", "workshops"], responses=answers(404, 429))
async def feedback_json(code: str, request: Request, db: AsyncSession) -> Feedback:
    """Released statements with the process leader's status and answer, the answer in each language
    it was written in, the whole history (responses, milestones, replies) and the promised date of
    the next update. No account needed."""
    ws = await service.room_by_code(request, db, code)
    shown = await views.statement_views(db, ws, released_only=True) if ws.status == "closed" else []
    tls = await feedback.timelines(db, [v.id for v in shown])
    return Feedback(title=ws.title, date=ws.date, statements=[feedback_item(v, tls[v.id]) for v in shown])


@get("/{code:str}/reply-code", tags=["public", "workshops"], responses=answers(401, 404))
async def reply_code_json(code: str, request: Request, db: AsyncSession, settings: Settings) -> ReplyCodeOut:
    """After close: the phone's personal reply code (participant token as bearer), to answer back later."""
    ws = await service.room_by_code(request, db, code)
    mine = await feedback.my_reply_code(db, ws, settings.secret_key, bearer_token(request))
    if mine is None:
        raise feedback.ReplyRefused("participant_token: no reply code for this token in this workshop")
    return ReplyCodeOut(reply_code=format_code(mine))


@post("/{code:str}/statements/{sid:str}/replies", tags=["public", "workshops"], status_code=201,
      responses=answers(401, 404, 409, 422, 429, body=True))
async def reply_json(code: str, sid: str, data: ReplyIn, request: Request, db: AsyncSession, settings: Settings,
                     scrub: Callable[[str], str]) -> FeedbackItem:
    """The young people answer back: "this is what we meant", "we agree" or "we are not satisfied",
    with the workshop code and a personal reply code. Without a valid reply code: 401."""
    await limit(request, "workshop", settings.submit_rate, "Too many requests from here right now. Wait a minute and try again.")
    ws = await service.room_by_code(request, db, code)
    await feedback.add_reply(db, ws, sid, settings.secret_key, data.reply_code, data.kind, data.text, data.language,
                             scrub)
    return await _feedback_item(db, sid)


@get(["/api/exports/units/{unit:str}/statements.csv", "/api/exports/units/{unit:str}/statements.xlsx"],
     tags=["exports"], responses=answers(401, 404))
async def export_statements(request: Request, unit: str, staff: Scope, db: AsyncSession) -> Response:
    """Released workshop statements of a unit with their first wording and the answer they got."""
    u = staff.unit(unit)
    table = await exports.statements(db, u, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path), f"unit {u.slug} statements")


STAFF_API = Router(path="/api/workshops", route_handlers=[
    options_for("/"), options_for("/{workshop_id:int}/statements"),  # first: two handlers share each path
    create_workshop, list_workshops, get_workshop, list_statements, staff_add_statement, staff_edit_statement,
    open_review, reopen_writing, close_workshop, set_composition, themes_api,
    list_participants, remove_participant, new_code,
])
PUBLIC_API = Router(path="/api/public/workshops", route_handlers=[
    join_json, write_json, edit_own_json, take_back_json, support_json, vote_json, feedback_json,
    reply_code_json, reply_json,
])

ROUTES = [STAFF_API, PUBLIC_API, export_statements, respond_json, milestone_json, links_json]
