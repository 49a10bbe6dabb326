"""Staff pages: set up, run, project and close a workshop; answer released statements."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.web import check_csrf, render
from . import service, views
from .models import Workshop
from .schemas import COMPOSITION_FIELDS, WorkshopDef
from .web import Form, _reset, _unit_of, join_url, qr_svg

# ====================== staff pages ======================

def _staff(request: Request, staff: Scope) -> None:
    request.state.staff_user = staff.user


@get("/workshops", include_in_schema=False)
async def staff_list(request: Request, staff: Scope, db: AsyncSession) -> Response:
    _staff(request, staff)
    units = {u.id: u for u in staff.units}
    return render(request, "workshops/list.html", workshops=await views.unit_workshops(db, staff.unit_ids),
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
                  statements=await views.statement_views(db, ws), error=error,
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
                  statements=await views.statement_views(db, ws))


@get("/workshops/{workshop_id:int}/summary", include_in_schema=False)
async def summary_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    """Printable record for the steering group."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    _staff(request, staff)
    return render(request, "workshops/summary.html", ws=ws, unit=_unit_of(staff, ws),
                  statements=await views.statement_views(db, ws, released_only=ws.status == "closed"))


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
    return render(request, "workshops/answers.html", workshops=await views.awaiting_answer(db, staff.unit_ids),
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
    staff_list,
    new_page,
    new_form,
    control_page,
    screen_page,
    summary_page,
    control_form,
    staff_edit_form,
    answers_page,
    respond_form,
]
