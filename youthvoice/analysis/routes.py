"""Effect goals: JSON for scripts, the dashboard, the steering-group report, and the
staff forms for exits, targets and volume goals."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope, audit
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.models import DEFAULT_TARGETS, Agreement
from ..core.web import check_csrf, render
from . import service
from .models import AGE_BANDS, EXIT_GENDERS, OUTCOMES, VolumeCount, VolumeGoal
from .periods import current_term, periods_of_year, split_period

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class ExitIn(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    month: str
    outcome: str
    gender: str
    age_band: str


class ExitSaved(msgspec.Struct):
    unit: str
    month: str
    outcome: str


def _units(staff: Scope, unit: str | None):
    return [staff.unit(unit)] if unit else staff.units


def _period(period: str | None) -> str:
    period = period or current_term(today())
    split_period(period)  # 422 naming "period" when malformed
    return period


@get("/api/stats/effect-goals", tags=["staff"])
async def effect_goals_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                           period: str | None = None) -> dict[str, Any]:
    """Effect goals with n, share, 95 % Wilson interval, p-value and verdict; small groups suppressed,
    also where they could be worked out from other periods or units."""
    period = _period(period)
    goals = await service.effect_goals(db, _units(staff, unit), period, settings.min_cell)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "goals": goals}


@get("/api/stats/breakdowns", tags=["staff"])
async def breakdowns_api(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                         period: str | None = None) -> dict[str, Any]:
    """Everything the dashboard shows: the goals with breakdowns by gender, age band, newly arrived
    and disability, and the counted volume goals."""
    period = _period(period)
    units = _units(staff, unit)
    goals = await service.Analysis(db, settings.min_cell).goals(units, period, with_breakdowns=True)
    return {"unit": unit, "period": period, "min_cell": settings.min_cell, "goals": goals,
            "volume_goals": await service.volume_status(db, units, period)}


@post("/api/exits", tags=["staff"], status_code=201)
async def create_exit(data: ExitIn, staff: Scope, db: AsyncSession) -> ExitSaved:
    """Register one young person leaving: counts only, no identity. 404 for a unit outside your scope."""
    unit = staff.unit(data.unit)
    await service.add_exit(db, unit, data.month, data.outcome, data.gender, data.age_band)
    return ExitSaved(unit=unit.slug, month=data.month, outcome=data.outcome)


# ---------- pages ----------

def _period_choices(day) -> list[str]:
    return periods_of_year(day.year) + periods_of_year(day.year - 1)


def _trend_periods(period: str) -> list[str]:
    year, _ = split_period(period)
    return [f"{year - 1}-VT", f"{year - 1}-HT", f"{year}-VT", f"{year}-HT"]


async def _view(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None, period: str | None,
                trend: bool) -> dict[str, Any]:
    period = _period(period)
    units = _units(staff, unit)
    analysis = service.Analysis(db, settings.min_cell)
    goals = await analysis.goals(units, period, with_breakdowns=True)
    ctx: dict[str, Any] = dict(
        goals=goals, period=period, unit=unit, units=units, scope=staff, min_cell=settings.min_cell,
        unit_name=units[0].name if unit else None, volume=await service.volume_status(db, units, period),
        periods=_period_choices(today()), themes=await service.theme_counts(db, units, period, settings.min_cell))
    if trend:
        points = {g: [] for g in service.GOALS}
        for p in _trend_periods(period):
            for g in await analysis.goals(units, p):
                points[g["goal"]].append((p, g))
        ctx["trend"] = points
    return ctx


@get("/analysis", include_in_schema=False)
async def dashboard(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                    unit: str | None = None, period: str | None = None) -> Response:
    request.state.staff_user = staff.user
    ctx = await _view(staff, db, settings, unit or None, period or None, trend=True)
    return render(request, "analysis/dashboard.html", **ctx)


@get("/analysis/report", include_in_schema=False)
async def report(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                 unit: str | None = None, period: str | None = None) -> Response:
    request.state.staff_user = staff.user
    ctx = await _view(staff, db, settings, unit or None, period or None, trend=False)
    return render(request, "analysis/report.html", today=today(), **ctx)


CSV_FIELDS = ["goal", "group", "target", "n", "achieved", "share", "ci95_low", "ci95_high", "p_below_target",
              "verdict"]


def report_rows(goals: list[dict]) -> list[dict]:
    rows = []
    for g in goals:
        parts = [("all", g)] + [(f"gender:{k}", v) for k, v in g["by_gender"].items()]
        for dim, cells in g.get("breakdowns", {}).items():
            if dim != "gender":
                parts += [(f"{dim}:{k}", v) for k, v in cells.items()]
        for group, f in parts:
            ci = f.get("ci95") or [None, None]
            rows.append({"goal": g["goal"], "group": group, "target": f["target"], "n": f.get("n"),
                         "achieved": f.get("achieved"), "share": f.get("share"), "ci95_low": ci[0],
                         "ci95_high": ci[1], "p_below_target": f.get("p_below_target"), "verdict": f["verdict"]})
        p = g["parity"]
        ci = p.get("ci95") or [None, None]
        rows.append({"goal": g["goal"], "group": "parity:share_women", "target": p["target_share_women"],
                     "n": (p["women"] + p["men"]) if "women" in p else None, "achieved": p.get("women"),
                     "share": p.get("share_women"), "ci95_low": ci[0], "ci95_high": ci[1], "p_below_target": None,
                     "verdict": p["verdict"]})
    return rows


@get("/analysis/report.csv", include_in_schema=False)
async def report_csv(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None = None,
                     period: str | None = None) -> Response:
    """The report table as a CSV that Swedish Excel opens (BOM, ';', formula-safe), audited."""
    from ..core.auth import audit
    from ..exports.service import Table, to_csv

    period = _period(period or None)
    goals = await service.Analysis(db, settings.min_cell).goals(_units(staff, unit or None), period,
                                                                 with_breakdowns=True)
    rows = report_rows(goals)
    table = Table(title="effektmal", header=list(CSV_FIELDS),
                  rows=[[row.get(k) for k in CSV_FIELDS] for row in rows])
    name = f"effektmal-{unit or 'alla'}-{period}.csv"
    await audit(db, staff.user, "export", f"analysis report {unit or 'all'} {period}")
    await db.commit()
    return Response(to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------- exit register form ----------

def _exit_page(request: Request, staff: Scope, form: dict, errors: dict, saved: bool = False,
               status: int = 200) -> Response:
    return render(request, "analysis/exits.html", status_code=status, scope=staff, form=form, errors=errors,
                  saved=saved, outcomes=OUTCOMES, genders=EXIT_GENDERS, age_bands=AGE_BANDS,
                  this_month=today().strftime("%Y-%m"))


@get("/analysis/exits", include_in_schema=False)
async def exits_page(request: Request, staff: Scope) -> Response:
    request.state.staff_user = staff.user
    return _exit_page(request, staff, {}, {}, saved=request.query_params.get("saved") == "1")


@post("/analysis/exits", include_in_schema=False, status_code=200)
async def exits_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
    request.state.staff_user = staff.user
    check_csrf(request, data)
    slug = data.get("unit") if isinstance(data.get("unit"), str) else None
    try:
        if slug not in staff.by_slug:
            raise FieldError("unit", "choose one of your units")
        await service.add_exit(db, staff.by_slug[slug], data.get("month"), data.get("outcome"),
                               data.get("gender"), data.get("age_band"))
    except FieldError as e:
        return _exit_page(request, staff, data, {e.field: e.message}, status=422)
    return Redirect("/analysis/exits?saved=1", status_code=303)


# ---------- targets and volume goals ----------

def _agreements(staff: Scope) -> list[Agreement]:
    return sorted({u.agreement_id: u.agreement for u in staff.units}.values(), key=lambda a: a.name)


async def _targets_page(request: Request, staff: Scope, db: AsyncSession, errors: dict | None = None,
                        status: int = 200, saved: str | None = None) -> Response:
    agreements = _agreements(staff)
    goals = (await db.execute(select(VolumeGoal).where(VolumeGoal.agreement_id.in_([a.id for a in agreements]
                                                                                     or [-1]))
                              .order_by(VolumeGoal.name))).scalars().all()
    return render(request, "analysis/targets.html", status_code=status, scope=staff, agreements=agreements,
                  defaults=DEFAULT_TARGETS, volume_goals=goals, errors=errors or {}, saved=saved,
                  this_month=today().strftime("%Y-%m"))


def _agreement_of(staff: Scope, value: Any) -> Agreement:
    for a in _agreements(staff):
        if str(a.id) == str(value):
            return a
    raise FieldError("agreement", "choose one of your agreements")


def _leaders_only(request: Request, staff: Scope, form: dict | None = None) -> None:
    """Targets and volume goals are the process leaders' (and admins'); forms need CSRF."""
    request.state.staff_user = staff.user
    staff.require("admin", "process_leader")
    if form is not None:
        check_csrf(request, form)


@get("/analysis/targets", include_in_schema=False)
async def targets_page(request: Request, staff: Scope, db: AsyncSession) -> Response:
    _leaders_only(request, staff)
    return await _targets_page(request, staff, db, saved=request.query_params.get("saved"))


@post("/analysis/targets", include_in_schema=False, status_code=200)
async def targets_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
    _leaders_only(request, staff, data)
    try:
        agreement = _agreement_of(staff, data.get("agreement"))
        targets = service.parse_targets(data)
    except FieldError as e:
        return await _targets_page(request, staff, db, {e.field: e.message}, 422)
    agreement = await db.get(Agreement, agreement.id)
    agreement.targets = targets
    await audit(db, staff.user, "targets.update", f"{agreement.slug}: {targets}")
    await db.commit()
    return Redirect("/analysis/targets?saved=targets", status_code=303)


@post("/analysis/volume-goals", include_in_schema=False, status_code=200)
async def volume_goal_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
    _leaders_only(request, staff, data)
    try:
        agreement = _agreement_of(staff, data.get("agreement"))
        name, target = service.parse_volume_goal(data)
    except FieldError as e:
        return await _targets_page(request, staff, db, {e.field: e.message}, 422)
    db.add(VolumeGoal(agreement_id=agreement.id, name=name, target_per_year=target))
    await audit(db, staff.user, "volume_goal.create", f"{agreement.slug}: {name} {target}")
    await db.commit()
    return Redirect("/analysis/targets?saved=volume", status_code=303)


@post("/analysis/volume-counts", include_in_schema=False, status_code=200)
async def volume_count_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
    _leaders_only(request, staff, data)
    try:
        goal = await db.get(VolumeGoal, int(data["goal"])) if str(data.get("goal", "")).isdigit() else None
        if goal is None or goal.agreement_id not in {a.id for a in _agreements(staff)}:
            raise FieldError("goal", "choose one of the goals")
        slug = data.get("unit")
        unit = staff.by_slug.get(slug) if isinstance(slug, str) else None
        if unit is None or unit.agreement_id != goal.agreement_id:
            raise FieldError("unit", "choose a unit of the same agreement")
        month = service.parse_month(data.get("month"))
        count = service.parse_count(data.get("count"))
    except FieldError as e:
        return await _targets_page(request, staff, db, {e.field: e.message}, 422)
    db.add(VolumeCount(goal_id=goal.id, unit_id=unit.id, month=month, count=count))
    await db.commit()
    return Redirect("/analysis/targets?saved=count", status_code=303)


ROUTES = [effect_goals_api, breakdowns_api, create_exit, dashboard, report, report_csv, exits_page, exits_form,
          targets_page, targets_form, volume_goal_form, volume_count_form]
