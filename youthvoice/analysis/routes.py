"""Effect-goal statistics: JSON for scripts, a page for process leaders."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.clock import today
from ..core.config import Settings
from ..core.web import render
from . import service
from .periods import current_term


def _units(staff: Scope, unit: str | None):
    return [staff.unit(unit)] if unit else staff.units


@get("/api/stats/effect-goals", tags=["staff"])
async def effect_goals_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                           period: str | None = None) -> dict[str, Any]:
    """Effect goals with n, share, 95 % Wilson interval, p-value and verdict; small groups suppressed."""
    period = period or current_term(today())
    goals = await service.effect_goals(db, _units(staff, unit), period, settings.min_cell)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "goals": goals}


@get("/analysis", include_in_schema=False)
async def dashboard(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                    unit: str | None = None, period: str | None = None) -> Response:
    request.state.staff_user = staff.user
    period = period or current_term(today())
    goals = await service.effect_goals(db, _units(staff, unit), period, settings.min_cell)
    return render(request, "analysis/dashboard.html", scope=staff, goals=goals, period=period, unit=unit,
                  min_cell=settings.min_cell)


ROUTES = [effect_goals_api, dashboard]
