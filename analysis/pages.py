"""Analysis pages: the staff start page, the effect-goal dashboard, the steering-group report and its
CSV, the forms for exits, targets and volume goals, and the page that lists every export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from anyio import to_thread
from litestar import Request, Response, Router, get, post, put
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import exports as survey_exports
from survey.models import Survey
from workshops import feedback as workshop_feedback
from youthvoice.auth import Scope, audit, scope_for, user_from_request
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.db import cleanup_pending_since
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.models import DEFAULT_TARGETS, Agreement, Unit
from youthvoice.openapi import answers, options_for
from youthvoice.periods import current_term, period_short, period_words, periods_of_year, shown_when_ended, split_period
from youthvoice.tables import send_table
from youthvoice.web import check_csrf, render, request_lang, translator

from . import calendar, crosstabs, exports, pdf, read, service
from .models import AGE_BANDS, EXIT_GENDERS, OUTCOMES, ReleaseSetting, VolumeCount, VolumeGoal

# ---------- pages ----------

async def _has_code_survey(db: AsyncSession, unit_ids: set[int]) -> bool:
    return (await db.execute(select(Survey.id).where(Survey.unit_id.in_(unit_ids or {-1}), Survey.access == "code")
                             .limit(1))).first() is not None


def _period_choices(day) -> list[str]:
    return periods_of_year(day.year) + periods_of_year(day.year - 1)


def _trend_periods(period: str) -> list[str]:
    year, _ = split_period(period)
    return [f"{year - 1}-VT", f"{year - 1}-HT", f"{year}-VT", f"{year}-HT"]


async def _view(staff: Scope, db: AsyncSession, settings: Settings, unit: str | None, period: str | None,
                trend: bool) -> dict[str, Any]:
    period = service.checked_period(period)
    units = service.units_in_view(staff, unit)
    view = {u.id for u in units}
    pub = await read.goals_of(db, view, period)
    has_code = await _has_code_survey(db, view)
    ctx: dict[str, Any] = dict(
        goals=pub["goals"], release=pub["release"], response_rate=pub["response_rate"], has_code_survey=has_code,
        next_release=pub["next"],
        period=period, unit=unit, units=units, scope=staff, min_cell=settings.min_cell,
        unit_name=units[0].name if unit else None, volume=await service.volume_status(db, units, period),
        periods=_period_choices(today()), themes=await service.theme_counts(db, units, period),
        period_words=period_words, period_short=period_short, shown_when_ended=shown_when_ended)
    if trend:
        points = {g: [] for g in service.GOALS}
        for p in _trend_periods(period):
            for g in (await read.goals_of(db, view, p))["goals"]:
                points[g["goal"]].append((p, g))
        ctx["trend"] = points
    return ctx


@get("/", include_in_schema=False)
async def dashboard(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                    unit: str | None = None, period: str | None = None) -> Response:
    ctx = await _view(staff, db, settings, unit or None, period or None, trend=True)
    return render(request, "analysis/dashboard.html", **ctx)


@get("/report", include_in_schema=False)
async def report(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                 unit: str | None = None, period: str | None = None) -> Response:
    ctx = await _view(staff, db, settings, unit or None, period or None, trend=False)
    return render(request, "analysis/report.html", today=today(), **ctx)


@get("/report.pdf", include_in_schema=False)
async def report_pdf(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                     unit: str | None = None, period: str | None = None) -> Response:
    """The report as a PDF made by the service (analysis/pdf.py), with the same scope as the page, audited
    like every export."""
    ctx = await _view(staff, db, settings, unit or None, period or None, trend=False)
    lang = pdf.pdf_language(request_lang(request))
    # Plain data only, drawn in a worker thread: a PDF takes a second or two of CPU (fonts, line breaking)
    # that must not hold up the other requests.
    keys = ("goals", "release", "next_release", "response_rate", "has_code_survey", "period", "unit_name",
            "min_cell", "volume")
    data = {k: ctx[k] for k in keys} | {"today": today(), "lang": lang}
    body = await to_thread.run_sync(pdf.report_pdf, data, translator(lang))
    await audit(db, staff.user, "export", f"analysis report {unit or 'all'} {ctx['period']} (pdf)")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in f"report-{unit or 'all'}-{ctx['period']}")
    return Response(content=body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@get("/report.csv", include_in_schema=False)
async def report_csv(request: Request, staff: Scope, db: AsyncSession, unit: str | None = None,
                     period: str | None = None) -> Response:
    """The report table as a CSV that Swedish Excel opens (BOM, ';', formula-safe), audited: the same
    table as the effect-goal export, with the breakdowns."""
    period = service.checked_period(period or None)
    pub = await read.goals_of(db, {u.id for u in service.units_in_view(staff, unit or None)}, period)
    table = exports.effect_goal_table(pub, unit or "all", period, translator(request_lang(request)))
    return await send_table(db, staff.user, table, "csv", f"analysis report {unit or 'all'} {period}")


# ---------- exit register form ----------

def _exit_page(request: Request, staff: Scope, form: dict, errors: dict, saved: bool = False,
               status: int = 200) -> Response:
    return render(request, "analysis/exits.html", status_code=status, scope=staff, form=form, errors=errors,
                  saved=saved, outcomes=OUTCOMES, genders=EXIT_GENDERS, age_bands=AGE_BANDS,
                  this_month=today().strftime("%Y-%m"))


@get("/exits", include_in_schema=False)
async def exits_page(request: Request, staff: Scope) -> Response:
    return _exit_page(request, staff, {}, {}, saved=request.query_params.get("saved") == "1")


@post("/exits", include_in_schema=False, status_code=200)
async def exits_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
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
    staff.require("admin", "process_leader")
    if form is not None:
        check_csrf(request, form)


@get("/targets", include_in_schema=False)
async def targets_page(request: Request, staff: Scope, db: AsyncSession) -> Response:
    _leaders_only(request, staff)
    return await _targets_page(request, staff, db, saved=request.query_params.get("saved"))


@post("/targets", include_in_schema=False, status_code=200)
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
    await db.flush()
    return Redirect("/analysis/targets?saved=targets", status_code=303)


@post("/volume-goals", include_in_schema=False, status_code=200)
async def volume_goal_form(request: Request, staff: Scope, db: AsyncSession, data: Form) -> Response:
    _leaders_only(request, staff, data)
    try:
        agreement = _agreement_of(staff, data.get("agreement"))
        name, target = service.parse_volume_goal(data)
    except FieldError as e:
        return await _targets_page(request, staff, db, {e.field: e.message}, 422)
    db.add(VolumeGoal(agreement_id=agreement.id, name=name, target_per_year=target))
    await audit(db, staff.user, "volume_goal.create", f"{agreement.slug}: {name} {target}")
    await db.flush()
    return Redirect("/analysis/targets?saved=volume", status_code=303)


@post("/volume-counts", include_in_schema=False, status_code=200)
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
    await db.flush()
    return Redirect("/analysis/targets?saved=count", status_code=303)



# ---------- release calendar: batch size and steering-group dates per agreement ----------

def parse_calendar(batch: Any, days: Any, min_cell: int, today_: dt.date) -> tuple[int, list[str]]:
    """(B, sorted ISO dates) from a form or JSON: B a whole number from min_cell to 200; dates
    YYYY-MM-DD (a list, or text with one per line or comma), none in the past, at most 24."""
    try:
        b = int(str(batch).strip())
    except (TypeError, ValueError):
        b = -1
    if not min_cell <= b <= calendar.MAX_BATCH:
        raise FieldError("batch_min", f"write a whole number from {min_cell} to {calendar.MAX_BATCH}")
    items = days if isinstance(days, list) else str(days or "").replace(",", "\n").splitlines()
    out = set()
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        try:
            d = dt.date.fromisoformat(item)
        except ValueError:
            raise FieldError("steering_days", f"write dates as YYYY-MM-DD, for example {today_.year}-03-12") from None
        if d < today_:
            raise FieldError("steering_days", "a steering-group date cannot be in the past")
        out.add(d.isoformat())
    if len(out) > calendar.MAX_STEERING_DAYS:
        raise FieldError("steering_days", f"at most {calendar.MAX_STEERING_DAYS} dates")
    return b, sorted(out)


async def calendar_of(db: AsyncSession, agreement: Agreement, min_cell: int) -> dict[str, Any]:
    setting = await db.get(ReleaseSetting, agreement.id)
    unit_ids = set((await db.execute(select(Unit.id).where(Unit.agreement_id == agreement.id))).scalars())
    return {"agreement": agreement.slug,
            "batch_min": calendar.batch_min(setting.batch_min if setting else None, min_cell),
            "steering_days": list(setting.steering_days or []) if setting else [],
            "next_release": await read.next_release_for(db, unit_ids, today())}


async def save_calendar(db: AsyncSession, staff: Scope, agreement: Agreement, batch: int, days: list[str]) -> None:
    setting = await db.get(ReleaseSetting, agreement.id)
    if setting is None:
        setting = ReleaseSetting(agreement_id=agreement.id)
        db.add(setting)
    setting.batch_min = batch
    setting.steering_days = days
    await audit(db, staff.user, "calendar.update", f"{agreement.slug}: B={batch}, steering {', '.join(days) or '-'}")
    await db.flush()


async def _calendar_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                         errors: dict | None = None, status: int = 200, form: dict | None = None) -> Response:
    rows = [(a, await calendar_of(db, a, settings.min_cell)) for a in _agreements(staff)]
    return render(request, "analysis/calendar.html", status_code=status, scope=staff, rows=rows, errors=errors or {},
                  form=form or {}, saved=request.query_params.get("saved") == "1", min_cell=settings.min_cell,
                  max_batch=calendar.MAX_BATCH)


@get("/calendar", include_in_schema=False)
async def calendar_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    _leaders_only(request, staff)
    return await _calendar_page(request, staff, db, settings)


@post("/calendar", include_in_schema=False, status_code=200)
async def calendar_form(request: Request, staff: Scope, db: AsyncSession, settings: Settings, data: Form) -> Response:
    _leaders_only(request, staff, data)
    try:
        agreement = _agreement_of(staff, data.get("agreement"))
        batch, days = parse_calendar(data.get("batch_min"), data.get("steering_days"), settings.min_cell, today())
    except FieldError as e:
        return await _calendar_page(request, staff, db, settings, {e.field: e.message}, 422, data)
    await save_calendar(db, staff, await db.get(Agreement, agreement.id), batch, days)
    return Redirect("/analysis/calendar?saved=1", status_code=303)


def _agreement_by_slug(staff: Scope, slug: str) -> Agreement:
    for a in _agreements(staff):
        if a.slug == slug:
            return a
    raise NotFoundException("agreement: not one of your agreements")


@get("/api/agreements/{slug:str}/calendar", tags=["staff"], responses=answers(401, 404))
async def calendar_api(slug: str, staff: Scope, db: AsyncSession, settings: Settings) -> dict[str, Any]:
    """An agreement's release calendar: `batch_min` (B, the smallest batch of answers a survey's
    release moves), `steering_days` (release days of its own beside the first weekday of each
    month) and `next_release`. 404 for an agreement outside your units."""
    return await calendar_of(db, _agreement_by_slug(staff, slug), settings.min_cell)


@put("/api/agreements/{slug:str}/calendar", tags=["staff"], responses=answers(401, 403, 404, 422, body=True))
async def calendar_put(slug: str, data: dict[str, Any], staff: Scope, db: AsyncSession,
                       settings: Settings) -> dict[str, Any]:
    """Sets an agreement's `batch_min` (min_cell to 200; default 10) and `steering_days`
    (["YYYY-MM-DD", ...], not in the past, at most 24): process leaders of the agreement and admins.
    422 naming the field."""
    staff.require("admin", "process_leader")
    agreement = _agreement_by_slug(staff, slug)
    batch, days = parse_calendar(data.get("batch_min", calendar.DEFAULT_BATCH), data.get("steering_days", []),
                                 settings.min_cell, today())
    await save_calendar(db, staff, await db.get(Agreement, agreement.id), batch, days)
    return await calendar_of(db, agreement, settings.min_cell)


@get("/exports", include_in_schema=False)
async def exports_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """What staff can export, for the units they see."""
    by_unit = []
    for u in staff.units:
        rows = []
        for s in (await db.execute(select(Survey).where(Survey.unit_id == u.id).order_by(Survey.opens.desc()))).scalars():
            body, _rel = await read.survey_of(db, s.id)
            # Published (protected) answer counts per version, from the survey's last release, and
            # the periods whose releases hold the version's tables per question.
            listed = await survey_exports.survey_versions(db, s)
            released = await crosstabs.released_periods(db, [v.id for v, _n in listed])
            versions = [(v, ((body or {}).get("versions") or {}).get(str(v.number)), released.get(v.id, []))
                        for v, _n in listed]
            rows.append((s, versions))
        by_unit.append((u, rows))
    return render(request, "analysis/exports.html", by_unit=by_unit, min_cell=settings.min_cell,
                  period=current_term(today()), has_workshops=True, has_exits=True)

@get("/", include_in_schema=False)
async def home(request: Request, db: AsyncSession) -> Response:
    user = await user_from_request(request, db)
    if user is None:
        return Redirect("/login")
    scope = await scope_for(db, user)
    surveys = list((await db.execute(
        select(Survey).where(Survey.unit_id.in_(scope.unit_ids or {-1})).order_by(Survey.opens.desc())
    )).scalars())
    # Admins see when deleted text is still in the database's files (a cleanup waiting for a busy reader).
    cleanup_since = await cleanup_pending_since(db) if user.role == "admin" else None
    return render(request, "analysis/home.html", scope=scope, surveys=surveys, cleanup_since=cleanup_since,
                  overdue=await workshop_feedback.overdue_promises(db, scope.unit_ids))

DASHBOARD = Router(path="/analysis", route_handlers=[
    dashboard, report, report_pdf, report_csv, exits_page, exits_form, targets_page, targets_form,
    volume_goal_form, volume_count_form, calendar_page, calendar_form,
])

# The OPTIONS handler first: GET and PUT share the calendar's path (youthvoice/openapi.py options_for).
ROUTES = [DASHBOARD, home, exports_page, options_for("/api/agreements/{slug:str}/calendar"), calendar_api, calendar_put]
