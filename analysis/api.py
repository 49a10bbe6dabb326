"""The analysis JSON API: effect goals, breakdowns and exits; and the figure exports."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.config import Settings
from youthvoice.tables import file_format, send_table
from youthvoice.web import request_lang, translator

from . import exports, service
from .schemas import ExitIn, ExitSaved


@get("/effect-goals", tags=["staff"])
async def effect_goals_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                           period: str | None = None) -> dict[str, Any]:
    """Effect goals with n, share, 95 % Wilson interval, p-value and verdict; small groups suppressed,
    also where they could be worked out from other periods or units."""
    period = service.checked_period(period)
    goals = await service.effect_goals(db, service.units_in_view(staff, unit), period, settings.min_cell)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "goals": goals}


@get("/breakdowns", tags=["staff"])
async def breakdowns_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                         period: str | None = None) -> dict[str, Any]:
    """Everything the dashboard shows: the goals with breakdowns by gender, age band, newly arrived
    and disability, and the counted volume goals."""
    period = service.checked_period(period)
    units = service.units_in_view(staff, unit)
    goals = await service.Analysis(db, settings.min_cell).goals(units, period, with_breakdowns=True)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "goals": goals,
            "volume_goals": await service.volume_status(db, units, period)}


@post("/api/exits", tags=["staff"], status_code=201)
async def create_exit(data: ExitIn, staff: Scope, db: AsyncSession) -> ExitSaved:
    """Register one young person leaving: counts only, no identity. 404 for a unit outside your scope."""
    unit = staff.unit(data.unit)
    await service.add_exit(db, unit, data.month, data.outcome, data.gender, data.age_band)
    return ExitSaved(unit=unit.slug, month=data.month, outcome=data.outcome)


@get(["/api/exports/units/{unit:str}/exits.csv", "/api/exports/units/{unit:str}/exits.xlsx"], tags=["exports"])
async def export_exits(request: Request, unit: str, staff: Scope, db: AsyncSession) -> Response:
    """Exit records of a unit (month, outcome, gender, age band; no identity)."""
    u = staff.unit(unit)
    table = await exports.exits(db, u, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path), f"unit {u.slug} exits")


@get(["/api/exports/effect-goals.csv", "/api/exports/effect-goals.xlsx"], tags=["exports"])
async def export_effect_goals(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                              unit: str | None = None, period: str | None = None) -> Response:
    """The effect-goal table of the dashboard; groups smaller than the minimum are hidden the same way."""
    period = service.checked_period(period)
    goals = await service.effect_goals(db, service.units_in_view(staff, unit), period, settings.min_cell)
    table = exports.effect_goal_table(goals, unit or "all", period, translator(request_lang(request)))
    return await send_table(db, staff.user, table, file_format(request.url.path),
                            f"effect goals {unit or 'all units'} {period}")


STATS_API = Router(path="/api/stats", route_handlers=[effect_goals_api, breakdowns_api])

ROUTES = [STATS_API, create_exit, export_exits, export_effect_goals]
