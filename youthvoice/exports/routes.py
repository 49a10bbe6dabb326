"""Export routes: files for staff (CSV for Swedish Excel and .xlsx), and a page listing them.

Every export is scoped to the caller's units (404 for anything else), written to
the staff audit log, and the aggregate one (effect goals) hides small groups
exactly like the dashboard.
"""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.exceptions import ClientException, NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..analysis import service as analysis
from ..analysis.periods import current_term, parse_period
from ..core.auth import Scope, audit
from ..core.clock import today
from ..core.config import Settings
from ..core.web import render, request_lang, translator
from ..survey import service as surveys
from ..survey.models import Survey
from . import service
from .service import CSV_MEDIA, XLSX_MEDIA, Table


class TooFew(ClientException):
    status_code = 409


def _fmt(request: Request) -> str:
    return "xlsx" if request.url.path.endswith(".xlsx") else "csv"


async def _send(request: Request, db: AsyncSession, staff: Scope, table: Table, subject: str) -> Response:
    fmt = _fmt(request)
    body = service.to_xlsx(table) if fmt == "xlsx" else service.to_csv(table)
    await audit(db, staff.user, "export", f"{subject} ({fmt}, {len(table.rows)} rows)")
    await db.commit()
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in table.title)[:80] or "export"
    return Response(content=body, media_type=XLSX_MEDIA if fmt == "xlsx" else CSV_MEDIA,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _tr(request: Request):
    return translator(request_lang(request))


@get(["/api/exports/surveys/{survey_id:int}/answers.csv", "/api/exports/surveys/{survey_id:int}/answers.xlsx"],
     tags=["exports"])
async def export_survey_answers(request: Request, survey_id: int, staff: Scope, db: AsyncSession,
                                settings: Settings, version: int | None = None) -> Response:
    """Answers to one version of a survey (default: the current one), one column per question,
    background questions included. 409 when the version has fewer answers than the smallest group shown."""
    survey = await surveys.get_survey(db, survey_id, staff.unit_ids)
    _ = _tr(request)
    try:
        table = await service.survey_answers(db, survey, version, request_lang(request), _, settings.min_cell)
    except service.TooFewAnswers as e:
        raise TooFew(f"version: only {e.n} answers; at least {e.min_cell} are needed before answers can "
                     f"be exported, so that nobody can be recognised") from None
    return await _send(request, db, staff, table, f"survey {survey.id} answers v{version or survey.current_version}")


@get(["/api/exports/units/{unit:str}/statements.csv", "/api/exports/units/{unit:str}/statements.xlsx"],
     tags=["exports"])
async def export_statements(request: Request, unit: str, staff: Scope, db: AsyncSession) -> Response:
    """Released workshop statements of a unit with their first wording and the answer they got."""
    u = staff.unit(unit)
    if service.workshops_models() is None:
        raise NotFoundException("workshops: not available in this installation")
    table = await service.statements(db, u, request_lang(request), _tr(request))
    return await _send(request, db, staff, table, f"unit {u.slug} statements")


@get(["/api/exports/units/{unit:str}/exits.csv", "/api/exports/units/{unit:str}/exits.xlsx"], tags=["exports"])
async def export_exits(request: Request, unit: str, staff: Scope, db: AsyncSession) -> Response:
    """Exit records of a unit (month, outcome, gender, age band; no identity)."""
    u = staff.unit(unit)
    if service.exit_model() is None:
        raise NotFoundException("exits: not available in this installation")
    table = await service.exits(db, u, _tr(request))
    return await _send(request, db, staff, table, f"unit {u.slug} exits")


@get(["/api/exports/effect-goals.csv", "/api/exports/effect-goals.xlsx"], tags=["exports"])
async def export_effect_goals(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                              unit: str | None = None, period: str | None = None) -> Response:
    """The effect-goal table of the dashboard; groups smaller than the minimum are hidden the same way."""
    units = [staff.unit(unit)] if unit else staff.units
    period = period or current_term(today())
    parse_period(period)
    goals = await analysis.effect_goals(db, units, period, settings.min_cell)
    table = service.effect_goal_table(goals, unit or "all", period, _tr(request))
    return await _send(request, db, staff, table, f"effect goals {unit or 'all units'} {period}")


@get("/exports", include_in_schema=False)
async def exports_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """What staff can export, for the units they see."""
    request.state.staff_user = staff.user
    by_unit = []
    for u in staff.units:
        rows = []
        for s in (await db.execute(select(Survey).where(Survey.unit_id == u.id).order_by(Survey.opens.desc()))).scalars():
            rows.append((s, await service.survey_versions(db, s)))
        by_unit.append((u, rows))
    return render(request, "exports/index.html", by_unit=by_unit, min_cell=settings.min_cell,
                  period=current_term(today()), has_workshops=service.workshops_models() is not None,
                  has_exits=service.exit_model() is not None)


ROUTES = [export_survey_answers, export_statements, export_exits, export_effect_goals, exports_page]
