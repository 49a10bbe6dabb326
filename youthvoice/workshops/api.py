"""Workshop JSON API: staff routes and the participants' public routes (CONTRACT)."""

from __future__ import annotations

from litestar import Request, get, post, put
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.config import Settings
from ..core.errors import FieldError
from . import service, views
from .models import Workshop
from .schemas import (
    COMPOSITION_FIELDS,
    Closed,
    Composition,
    Created,
    Feedback,
    FeedbackItem,
    Joined,
    JoinRequest,
    NewStatement,
    ResponseIn,
    StatementEdit,
    StatementOut,
    ThemeCount,
    VoteIn,
    WorkshopCreated,
    WorkshopDef,
    WorkshopOut,
)
from .web import _limit, _out, _participant, _unit_of, _ws_out

# ====================== staff JSON API ======================

@post("/api/workshops", tags=["staff", "workshops"], status_code=201)
async def create_workshop(data: WorkshopDef, staff: Scope, db: AsyncSession) -> WorkshopCreated:
    """Set up a workshop. `neutral_place` must be true (a neutral place, not an authority's premises)."""
    unit = staff.unit(data.unit)
    ws = await service.create_workshop(db, unit, data, staff.user)
    return WorkshopCreated(id=ws.id, code=ws.code)


@get("/api/workshops", tags=["staff", "workshops"])
async def list_workshops(staff: Scope, db: AsyncSession) -> list[WorkshopOut]:
    return [_ws_out(ws, staff) for ws in await views.unit_workshops(db, staff.unit_ids)]


@get("/api/workshops/{workshop_id:int}", tags=["staff", "workshops"])
async def get_workshop(workshop_id: int, staff: Scope, db: AsyncSession) -> WorkshopOut:
    return _ws_out(await service.staff_workshop(db, workshop_id, staff.unit_ids), staff)


@get("/api/workshops/{workshop_id:int}/statements", tags=["staff", "workshops"])
async def list_statements(workshop_id: int, staff: Scope, db: AsyncSession) -> list[StatementOut]:
    """Every statement with its wording history (text and author role)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return [_out(v) for v in await views.statement_views(db, ws)]


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
    shown = await views.statement_views(db, ws)
    return _out(next(v for v in shown if v.id == sid))


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
    revs = await views.statement_views(db, await db.get(Workshop, st.workshop_id), released_only=True)
    v = next(v for v in revs if v.id == sid)
    return FeedbackItem(id=v.id, text=v.text, themes=v.themes, edited_by_staff=v.edited_by_staff,
                        status=v.response_status, response=v.response_text)


@get("/api/workshops/themes", tags=["staff", "workshops"])
async def themes_api(staff: Scope, db: AsyncSession, period: str, unit: str | None = None) -> list[ThemeCount]:
    """Released statements per theme and month, for the units the caller sees."""
    from ..analysis.periods import parse_period

    first, last = parse_period(period)
    ids = {staff.unit(unit).id} if unit else staff.unit_ids
    return [ThemeCount(theme=t, month=m, statements=n) for t, m, n in await views.theme_counts(db, ids, first, last)]


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
    shown = await views.statement_views(db, ws, released_only=True) if ws.status == "closed" else []
    return Feedback(title=ws.title, date=ws.date, statements=[
        FeedbackItem(id=v.id, text=v.text, themes=v.themes, edited_by_staff=v.edited_by_staff,
                     status=v.response_status, response=v.response_text) for v in shown])


ROUTES = [
    create_workshop,
    list_workshops,
    get_workshop,
    list_statements,
    staff_add_statement,
    staff_edit_statement,
    open_review,
    reopen_writing,
    close_workshop,
    set_composition,
    respond_json,
    themes_api,
    join_json,
    write_json,
    edit_own_json,
    take_back_json,
    support_json,
    vote_json,
    feedback_json,
]
