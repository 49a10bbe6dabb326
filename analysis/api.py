"""The analysis JSON API: effect goals, breakdowns and exits; and the figure exports."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import ClientException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import service as survey_service
from survey.models import SurveyVersion
from youthvoice.auth import Scope
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.openapi import answers
from youthvoice.tables import file_format, send_table
from youthvoice.web import request_lang, translator

from . import crosstabs, exports, read, service
from .schemas import ExitIn, ExitSaved


def _without_breakdowns(goals: list[dict]) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "breakdowns"} for g in goals]


@get("/effect-goals", tags=["staff"], responses=answers(401, 404, 422))
async def effect_goals_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                           period: str | None = None) -> dict[str, Any]:
    """Effect goals as last published (CONTRACT "Effect goals answer"): perturbed counts (cell key
    method), share, 95 % interval widened for the noise, verdict, outlook; by gender, parity and
    women vs men in final releases. Changes only at a release."""
    period = service.checked_period(period)
    pub = await read.goals_of(db, {u.id for u in service.units_in_view(staff, unit)}, period)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "release": pub["release"],
            "goals": _without_breakdowns(pub["goals"]), "response_rate": pub["response_rate"]}


@get("/breakdowns", tags=["staff"], responses=answers(401, 404, 422))
async def breakdowns_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                         period: str | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as last published: the goals with breakdowns by gender, age
    band, newly arrived and disability (final releases only), and the counted volume goals."""
    period = service.checked_period(period)
    units = service.units_in_view(staff, unit)
    pub = await read.goals_of(db, {u.id for u in units}, period)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "release": pub["release"],
            "goals": pub["goals"], "response_rate": pub["response_rate"],
            "volume_goals": await service.volume_status(db, units, period)}


@post("/api/exits", tags=["staff"], status_code=201, responses=answers(401, 404, 422, body=True))
async def create_exit(data: ExitIn, staff: Scope, db: AsyncSession) -> ExitSaved:
    """Register one young person leaving: counts only, no identity. 404 for a unit outside your scope."""
    unit = staff.unit(data.unit)
    await service.add_exit(db, unit, data.month, data.outcome, data.gender, data.age_band)
    return ExitSaved(unit=unit.slug, month=data.month, outcome=data.outcome)


class NotReleased(ClientException):
    status_code = 409


@get(["/api/exports/units/{unit:str}/exits.csv", "/api/exports/units/{unit:str}/exits.xlsx"], tags=["exports"],
     responses=answers(401, 404, 409, 422))
async def export_exits(request: Request, unit: str, staff: Scope, db: AsyncSession,
                       period: str | None = None) -> Response:
    """Exits of a unit as protected counts from the period's last release (default: this term):
    no individual rows. 409 when nothing has been released for the period yet."""
    u = staff.unit(unit)
    period = service.checked_period(period)
    try:
        table = await exports.exits(db, u, translator(request_lang(request)), period)
    except exports.NothingReleased as e:
        raise NotReleased(str(e)) from None
    return await send_table(db, staff.user, table, file_format(request.url.path), f"unit {u.slug} exits {period}")


@get(["/api/exports/surveys/{survey_id:int}/tables.csv", "/api/exports/surveys/{survey_id:int}/tables.xlsx"],
     tags=["exports"], responses=answers(401, 404, 409, 422))
async def export_question_tables(request: Request, survey_id: int, staff: Scope, db: AsyncSession,
                                 version: int | None = None, period: str | None = None) -> Response:
    """Answers to one version of a survey (default: the current one) in one period (default: this
    term) as protected tables per question, read from the period's last release: each closed
    question's options with their counts, and in a final release (a closed period) the same per
    background answer (gender, age band, newly arrived, disability). Perturbed counts; a count
    under the smallest group shown is blank. No individual rows. 422 for a version or period that
    does not exist; 409 when nothing has been released for them yet."""
    survey = await survey_service.get_survey(db, survey_id, staff.unit_ids)
    period = service.checked_period(period)
    number = version or survey.current_version
    v = (await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id,
                                                      SurveyVersion.number == number))).scalar_one_or_none()
    if v is None:
        raise FieldError("version", f"this survey has no version {number}")
    found = await crosstabs.released(db, v.id, period)
    if found is None:
        if await crosstabs.periods_with_any_release(db, period) is None:
            raise NotReleased(f"period: no figures have been released for {period} yet; the next release is on "
                              f"{read.next_release(None, today())}")
        others = [p for p, _kind in (await crosstabs.released_periods(db, [v.id])).get(v.id, [])]
        raise NotReleased(f"version: version {number} has no released answers in {period}"
                          + (f"; released periods: {', '.join(others)}" if others else
                             "; its answers are counted at the next release"))
    body, rel = found
    lang = request_lang(request)
    info = await read.with_next(db, read.release_info(rel), {survey.unit_id})  # the survey's own next release day
    table = exports.question_tables(body, info, survey, v, period, lang, translator(lang))
    return await send_table(db, staff.user, table, file_format(request.url.path),
                            f"survey {survey.id} tables v{number} {period}")


@get(["/api/exports/effect-goals.csv", "/api/exports/effect-goals.xlsx"], tags=["exports"],
     responses=answers(401, 404, 422))
async def export_effect_goals(request: Request, staff: Scope, db: AsyncSession,
                              unit: str | None = None, period: str | None = None) -> Response:
    """The effect-goal table of the dashboard, from the same release."""
    period = service.checked_period(period)
    pub = await read.goals_of(db, {u.id for u in service.units_in_view(staff, unit)}, period)
    table = exports.effect_goal_table(pub, unit or "all", period, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path),
                            f"effect goals {unit or 'all units'} {period}")


STATS_API = Router(path="/api/stats", route_handlers=[effect_goals_api, breakdowns_api])

ROUTES = [STATS_API, create_exit, export_exits, export_effect_goals, export_question_tables]
