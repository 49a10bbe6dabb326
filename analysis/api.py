"""The analysis JSON API: effect goals, breakdowns and exits; and the figure exports."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.config import Settings
from youthvoice.tables import file_format, send_table
from youthvoice.web import request_lang, translator

from . import exports, read, service
from .schemas import ExitIn, ExitSaved


def _without_breakdowns(goals: list[dict]) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "breakdowns"} for g in goals]


@get("/effect-goals", tags=["staff"])
async def effect_goals_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                           period: str | None = None) -> dict[str, Any]:
    """Effect goals as last published (CONTRACT "Effect goals answer"): perturbed counts (cell key
    method), share, 95 % interval widened for the noise, verdict, outlook; by gender, parity and
    women vs men in final releases. Changes only at a release."""
    period = service.checked_period(period)
    pub = await read.goals_of(db, {u.id for u in service.units_in_view(staff, unit)}, period)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "release": pub["release"],
            "goals": _without_breakdowns(pub["goals"]), "response_rate": pub["response_rate"]}


@get("/breakdowns", tags=["staff"])
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


@post("/api/exits", tags=["staff"], status_code=201)
async def create_exit(data: ExitIn, staff: Scope, db: AsyncSession) -> ExitSaved:
    """Register one young person leaving: counts only, no identity. 404 for a unit outside your scope."""
    unit = staff.unit(data.unit)
    await service.add_exit(db, unit, data.month, data.outcome, data.gender, data.age_band)
    return ExitSaved(unit=unit.slug, month=data.month, outcome=data.outcome)


@get(["/api/exports/units/{unit:str}/exits.csv", "/api/exports/units/{unit:str}/exits.xlsx"], tags=["exports"])
async def export_exits(request: Request, unit: str, staff: Scope, db: AsyncSession) -> Response:
    """Exits of a unit as protected counts from the last final release: no individual rows."""
    u = staff.unit(unit)
    table = await exports.exits(db, u, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path), f"unit {u.slug} exits")


@get(["/api/exports/effect-goals.csv", "/api/exports/effect-goals.xlsx"], tags=["exports"])
async def export_effect_goals(request: Request, staff: Scope, db: AsyncSession,
                              unit: str | None = None, period: str | None = None) -> Response:
    """The effect-goal table of the dashboard, from the same release."""
    period = service.checked_period(period)
    pub = await read.goals_of(db, {u.id for u in service.units_in_view(staff, unit)}, period)
    table = exports.effect_goal_table(pub, unit or "all", period, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path),
                            f"effect goals {unit or 'all units'} {period}")


STATS_API = Router(path="/api/stats", route_handlers=[effect_goals_api, breakdowns_api])

ROUTES = [STATS_API, create_exit, export_exits, export_effect_goals]
