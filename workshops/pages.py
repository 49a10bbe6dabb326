"""Workshop pages for staff: the facilitator's list, set-up, control, projector and summary pages under
/workshops, and the process leader's answers. The young people's pages (room, feedback, unit page) are in youth_pages.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.web import base_url, check_csrf, qr_svg, render

from . import close, feedback, service, statements, subscriptions, views
from .mail import send_nudges
from .models import MAX_PARTICIPANTS, Statement, Workshop
from .schemas import COMPOSITION_FIELDS, WorkshopDef
from .youth_pages import N_, ROOM, field_str, unit_page

# ====================== staff pages ======================

@get("/", include_in_schema=False)
async def staff_list(request: Request, staff: Scope, db: AsyncSession) -> Response:
    units = {u.id: u for u in staff.units}
    return render(request, "workshops/list.html", workshops=await views.unit_workshops(db, staff.unit_ids),
                  units=units, scope=staff)


def _small_int(raw: str, otherwise: Any) -> Any:
    """A typed count: ASCII digits only and short ("²".isdigit() is true but int("²") fails; int() of
    5 000 digits raises); anything else is `otherwise`, which the form's check then names."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else otherwise


def _form_def(data: dict[str, Any]) -> WorkshopDef:
    themes = [t for t in re.split(r"[\n,]", str(data.get("themes") or "")) if t.strip()]
    comp = {}
    for f in COMPOSITION_FIELDS:
        raw = str(data.get(f"c_{f}") or "").strip()
        comp[f] = _small_int(raw, raw or 0)
    d = dict(unit=data.get("unit"), title=str(data.get("title") or ""), date=data.get("date") or None,
             place=str(data.get("place") or ""), neutral_place=data.get("neutral_place") == "yes",
             themes=themes, composition=comp,
             feedback_months=_small_int(str(data.get("feedback_months", "")), 12))
    try:
        return msgspec.convert(d, WorkshopDef)
    except msgspec.ValidationError as e:
        m = re.search(r"\$\.([a-z_]+)(?:\.([a-z_0-9]+))?", str(e))
        field = (m.group(2) if m and m.group(1) == "composition" and m.group(2) else m.group(1)) if m else "body"
        raise FieldError(field, str(e).split(" - at ")[0]) from None


@get("/new", include_in_schema=False)
async def new_page(request: Request, staff: Scope) -> Response:
    return render(request, "workshops/new.html", scope=staff, form={"date": today().isoformat()}, errors={},
                  fields=COMPOSITION_FIELDS)


@post("/new", include_in_schema=False, status_code=200)
async def new_form(request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
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
                   error: str | None = None, form: dict[str, Any] | None = None) -> Response:
    unit = service.unit_of(staff, ws)
    return render(request, "workshops/control.html", ws=ws, unit=unit, status_code=status,
                  statements=await views.statement_views(db, ws, min_share=unit.release_min_share), error=error,
                  participants=await service.participants(db, ws) if ws.status != "closed" else [],
                  fields=COMPOSITION_FIELDS, form=form or {})


async def _refused(request: Request, staff: Scope, db: AsyncSession, ws: Workshop, e: FieldError | service.Conflict,
                   form: dict[str, Any] | None = None) -> Response:
    """The control page again after a refused change: 422 with the field's message, 409 for a conflict."""
    ws = await service.reload(db, ws)
    msg = e.message if isinstance(e, FieldError) else str(e.detail)
    return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409, error=msg, form=form)


@get("/{workshop_id:int}", include_in_schema=False)
async def control_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return await _control(request, staff, db, ws)


@get("/{workshop_id:int}/screen", include_in_schema=False)
async def screen_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession,
                      settings: Settings) -> Response:
    """The projector: code, QR code, and the statements as they arrive."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    url = service.join_url(base_url(settings, request), ws.code)
    unit = service.unit_of(staff, ws)
    shown = await views.statement_views(db, ws, projector=True, min_share=unit.release_min_share)
    # Newest first: the room always sees what was just said; older ones fall off the bottom.
    return render(request, "workshops/screen.html", ws=ws, url=url, qr=qr_svg(url), unit=unit,
                  statements=list(reversed(shown)), full=ws.joined >= MAX_PARTICIPANTS,
                  max_participants=MAX_PARTICIPANTS)


@get("/{workshop_id:int}/summary", include_in_schema=False)
async def summary_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    """Printable record for the steering group."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return render(request, "workshops/summary.html", ws=ws, unit=service.unit_of(staff, ws),
                  statements=await views.statement_views(db, ws, released_only=ws.status == "closed"))


@post("/{workshop_id:int}/{action:str}", include_in_schema=False, status_code=200)
async def control_form(workshop_id: int, action: str, request: Request, data: Form, staff: Scope,
                       db: AsyncSession, settings: Settings) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    check_csrf(request, data)
    try:
        if action == "review":
            await close.start_review(db, ws, staff.user)
        elif action == "reopen":
            await close.reopen(db, ws)
        elif action == "close":
            if data.get("confirm") != "yes":
                raise FieldError("confirm", "Tick the box to confirm that the group has voted.")
            await feedback.issue_reply_codes(db, ws, settings.secret_key)
            await close.close(db, ws, service.unit_of(staff, ws), staff.user)
        elif action == "add":
            theme = str(data.get("theme") or "")
            await statements.add_statement(db, ws, str(data.get("text") or ""), "staff",
                                           themes=[theme] if theme else [])
        elif action == "hold":
            await statements.set_hold(db, ws, data.get("hold") == "on")
        elif action == "remove":
            await service.remove_participant(db, ws, str(data.get("participant") or ""), staff.user)
        elif action == "code":
            if data.get("confirm") != "yes":
                raise FieldError("confirm", "Tick the box to confirm: the old code stops working.")
            await service.new_room_code(db, ws, staff.user)
        elif action == "composition":
            comp = {}
            for f in COMPOSITION_FIELDS:
                value = _small_int(str(data.get(f"c_{f}") or "0").strip(), None)
                if not isinstance(value, int) or value > 10:
                    raise FieldError(f, "a number from 0 to 10")
                comp[f] = value
            await service.update_composition(db, ws, comp)
        else:
            raise NotFoundException("action: unknown")
    except (FieldError, service.Conflict) as e:
        return await _refused(request, staff, db, ws, e, form=data)
    return Redirect(f"/workshops/{ws.id}", status_code=303)


async def _statement_change(request: Request, staff: Scope, db: AsyncSession, workshop_id: int, sid: str,
                            data: dict[str, Any], change: Callable[[Workshop, Statement], Awaitable[Any]]) -> Response:
    """A staff change to one statement of the control page: back to it, or the page again naming what was refused."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    check_csrf(request, data)
    st = await service.statement_of(db, ws, sid)
    try:
        await change(ws, st)
    except (FieldError, service.Conflict) as e:
        return await _refused(request, staff, db, ws, e)
    return Redirect(f"/workshops/{ws.id}#s-{sid}", status_code=303)


@post("/{workshop_id:int}/statements/{sid:str}/screen", include_in_schema=False, status_code=200)
async def screen_form(workshop_id: int, sid: str, request: Request, data: Form, staff: Scope,
                      db: AsyncSession) -> Response:
    """The facilitator's OK for a held statement, or hiding one from the projector (and showing it again)."""
    return await _statement_change(request, staff, db, workshop_id, sid, data, lambda ws, st: statements.set_screen(
        db, ws, st, str(data.get("screen") or "")))


@post("/{workshop_id:int}/statements/{sid:str}", include_in_schema=False, status_code=200)
async def staff_edit_form(workshop_id: int, sid: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    raw_themes = data.get("themes")
    themes = raw_themes if isinstance(raw_themes, list) else ([raw_themes] if raw_themes else [])

    async def change(ws: Workshop, st: Statement) -> None:
        await statements.set_themes(db, ws, st, [str(t) for t in themes])
        if isinstance(data.get("text"), str) and data["text"].strip():
            await statements.revise(db, ws, st, data["text"], "staff")

    return await _statement_change(request, staff, db, workshop_id, sid, data, change)


@get("/answers", include_in_schema=False)
async def answers_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """Process leaders answer released statements: each answer is a new entry in the statement's
    history, in every language the room used; milestones; promised dates; links to earlier statements."""
    return await _answers(request, staff, db, settings)


async def _answers(request: Request, staff: Scope, db: AsyncSession, settings: Settings, error: str | None = None,
                   status: int = 200, form: dict[str, Any] | None = None) -> Response:
    units = {u.id: u for u in staff.units}
    await subscriptions.purge_subscriptions(db)
    shown = await views.released_in(db, staff.unit_ids)
    tls = await feedback.timelines(db, [v.id for _, vs in shown for v in vs])
    candidates: dict[str, list] = {}
    for ws, vs in shown:
        for v in vs:
            st = await db.get(Statement, v.id)
            candidates[v.id] = await feedback.link_candidates(db, st, ws, staff.unit_ids)
    return render(request, "workshops/answers.html", workshops=shown, timelines=tls, candidates=candidates,
                  overdue=await feedback.overdue_promises(db, staff.unit_ids), units=units,
                  can_answer=staff.user.role in ("process_leader", "admin"), error=error, form=form or {},
                  room_languages=feedback.room_languages, contact=settings.contact_email,
                  complaint=settings.complaint_route or settings.contact_email, status_code=status)


def _form_texts(data: dict[str, Any], ws: Workshop) -> dict[str, str]:
    """The answer's other languages, from fields text_ar, text_en, ... (Swedish is `text`)."""
    return {lang: data[f"text_{lang}"] for lang in feedback.room_languages(ws)
            if lang != "sv" and isinstance(data.get(f"text_{lang}"), str) and data[f"text_{lang}"].strip()}


def _form_date(data: dict[str, Any], key: str) -> dt.date | None:
    raw = field_str(data, key).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FieldError(key, STAFF_MESSAGES["date"]) from None


async def _statement_ws(db: AsyncSession, sid: str) -> Workshop | None:
    st = await db.get(Statement, sid) if len(sid) <= 32 else None
    return await db.get(Workshop, st.workshop_id) if st else None


STAFF_MESSAGES = {
    "next_update_by": N_("The promised date must be after today."),
    "on": N_("A milestone is something that has happened: today or earlier."),
    "text": N_("Write what happened."),
    "earlier": N_("Link only to released statements on the same theme from earlier workshops."),
    "date": N_("Write the date as YYYY-MM-DD."),
}


async def _staff_change(request: Request, staff: Scope, db: AsyncSession, settings: Settings, sid: str, data: dict,
                        fn, nudge: bool) -> Response:
    try:
        await fn()
    except FieldError as e:
        db.expunge_all()
        await db.rollback()
        msg = e.message if e.message in STAFF_MESSAGES.values() or e.field not in STAFF_MESSAGES else STAFF_MESSAGES[e.field]
        return await _answers(request, staff, db, settings, error=msg, status=422, form={"sid": sid, **data})
    except service.Conflict as e:
        db.expunge_all()
        await db.rollback()
        return await _answers(request, staff, db, settings, error=str(e.detail), status=409)
    background = BackgroundTask(send_nudges, request.app.state.sessionmaker, settings, sid,
                                base_url(settings, request)) if nudge else None
    return Redirect(f"/workshops/answers#s-{sid}", status_code=303, background=background)


@post("/statements/{sid:str}/response", include_in_schema=False, status_code=200)
async def respond_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                       settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    status = data.get("status")
    if status not in ("received", "considering", "done", "not_possible"):
        return await _answers(request, staff, db, settings, error="Choose a status.", status=422,
                              form={"sid": sid, **data})
    ws = await _statement_ws(db, sid)

    async def fn():
        await feedback.respond(db, sid, staff.unit_ids, str(status), field_str(data, "text")[:4000], staff.user,
                               texts=_form_texts(data, ws) if ws else {}, next_update_by=_form_date(data, "next_update_by"),
                               contact=field_str(data, "contact") or None, reply_days=settings.reply_days)
    return await _staff_change(request, staff, db, settings, sid, data, fn, nudge=True)


@post("/statements/{sid:str}/milestone", include_in_schema=False, status_code=200)
async def milestone_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                         settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    ws = await _statement_ws(db, sid)

    async def fn():
        await feedback.add_milestone(db, sid, staff.unit_ids, field_str(data, "text")[:4000], staff.user,
                                     texts=_form_texts(data, ws) if ws else {}, on=_form_date(data, "on"),
                                     next_update_by=_form_date(data, "next_update_by"))
    return await _staff_change(request, staff, db, settings, sid, data, fn, nudge=True)


@post("/statements/{sid:str}/earlier", include_in_schema=False, status_code=200)
async def earlier_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                       settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    raw = data.get("earlier")
    earlier = [str(x) for x in (raw if isinstance(raw, list) else [raw] if raw else [])]
    return await _staff_change(request, staff, db, settings, sid, data,
                               lambda: feedback.set_links(db, sid, staff.unit_ids, earlier, staff.user), nudge=False)


STAFF_PAGES = Router(path="/workshops", route_handlers=[
    staff_list, new_page, new_form, control_page, screen_page, summary_page, control_form, staff_edit_form,
    screen_form, answers_page,
])

ROUTES = [ROOM, STAFF_PAGES, unit_page, respond_form, milestone_form, earlier_form]
