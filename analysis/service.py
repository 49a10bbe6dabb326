"""Effect-goal figures: counted in SQL, protected by disclosure.protect, judged by stats.

Every figure for a view (unit set x period) is read from the protected
family of its year, so what is hidden is the same whatever view, user or
report shows it (see disclosure.py for the rule).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import ResponseCount as Count
from survey.models import SurveyVersion
from workshops.models import Statement, Workshop
from youthvoice.clock import month_of, today
from youthvoice.errors import FieldError
from youthvoice.models import DEFAULT_TARGETS, Agreement, Unit, User, user_unit
from youthvoice.periods import current_term, parse_period, split_period

from . import stats
from .disclosure import TOTAL, Family, protect
from .models import AGE_BANDS, EXIT_GENDERS, OUTCOMES, Exit, VolumeCount, VolumeGoal

SURVEY_GOALS = ("closer", "useful")
GOALS = ("work_or_studies", "closer", "useful")
GENDER_KEYS = stats.GENDERS
YES_NO = ("yes", "no", "undisclosed")
# Breakdown dimensions and their categories; anything else counts as "undisclosed".
DIMENSIONS: dict[str, tuple[str, ...]] = {"gender": GENDER_KEYS, "age_band": AGE_BANDS,
                                          "newly_arrived": YES_NO, "disability": YES_NO}
GOAL_DIMENSIONS = {"work_or_studies": ("gender", "age_band"),
                   "closer": tuple(DIMENSIONS), "useful": tuple(DIMENSIONS)}
ALL = "all"


def targets_for(units: list[Unit]) -> dict[str, float]:
    """One agreement's targets; units of several agreements fall back to the defaults."""
    agreements = {u.agreement_id: u.agreement for u in units}
    if len(agreements) == 1:
        return {**DEFAULT_TARGETS, **(next(iter(agreements.values())).targets or {})}
    return dict(DEFAULT_TARGETS)


async def unit_sets(db: AsyncSession) -> list[frozenset[int]]:
    """Every unit set anyone can ask for: each unit, each agreement, all units, each user's units."""
    units = (await db.execute(select(Unit.id, Unit.agreement_id))).all()
    by_agreement: dict[int, set[int]] = defaultdict(set)
    for uid, aid in units:
        by_agreement[aid].add(uid)
    sets = {frozenset({uid}) for uid, _ in units} | {frozenset(s) for s in by_agreement.values()}
    sets.add(frozenset(uid for uid, _ in units))
    mine: dict[tuple[int, str], set[int]] = defaultdict(set)
    rows = await db.execute(select(User.id, User.role, user_unit.c.unit_id)
                            .join(user_unit, user_unit.c.user_id == User.id).where(User.active.is_(True)))
    agreement_of = dict(units)
    for user_id, role, uid in rows:
        if role == "process_leader":
            mine[(user_id, role)] |= by_agreement[agreement_of[uid]]
        elif role != "admin":
            mine[(user_id, role)].add(uid)
    sets |= {frozenset(s) for s in mine.values()}
    return sorted((s for s in sets if s), key=lambda s: (len(s), sorted(s)))


def _norm(value: Any, categories: tuple[str, ...]) -> str:
    return value if value in categories else "undisclosed"


async def _survey_counts(db: AsyncSession, dim: str | None, year: int) -> dict[str, dict]:
    """{goal: {(unit, quarter, category): (achieved, n)}} - one GROUP BY per breakdown over the
    counts table (survey/store.py), which also holds months whose raw answers were purged."""
    group = [Count.unit_id, Count.month] + ([getattr(Count, dim)] if dim else [])
    cols = list(group)
    for g in SURVEY_GOALS:
        cols += [func.sum(getattr(Count, f"{g}_k")).label(f"{g}_k"), func.sum(getattr(Count, f"{g}_n")).label(f"{g}_n")]
    q = select(*cols).where(Count.month.between(year * 100 + 1, year * 100 + 12)).group_by(*group)
    out: dict[str, dict] = {g: defaultdict(lambda: (0, 0)) for g in SURVEY_GOALS}
    for row in (await db.execute(q)).mappings():
        cat = _norm(row[dim], DIMENSIONS[dim]) if dim else ALL
        key = (row["unit_id"], (row["month"] % 100 + 2) // 3, cat)
        for g in SURVEY_GOALS:
            k0, n0 = out[g][key]
            out[g][key] = (k0 + int(row[f"{g}_k"] or 0), n0 + int(row[f"{g}_n"] or 0))
    return {g: {key: kn for key, kn in v.items() if kn[1]} for g, v in out.items()}


async def _exit_counts(db: AsyncSession, dim: str | None, year: int) -> dict:
    achieved = func.sum(case((Exit.outcome.in_(("work", "studies")), 1), else_=0))
    group = [Exit.unit_id, Exit.month] + ([getattr(Exit, dim)] if dim else [])
    q = (select(*group, achieved.label("k"), func.count().label("n"))
         .where(Exit.month.between(year * 100 + 1, year * 100 + 12)).group_by(*group))
    out: dict = defaultdict(lambda: (0, 0))
    for row in (await db.execute(q)).all():
        cat = _norm(row[2], DIMENSIONS[dim]) if dim else ALL
        key = (row[0], (row[1] % 100 + 2) // 3, cat)
        k0, n0 = out[key]
        out[key] = (k0 + int(row[-2] or 0), n0 + int(row[-1]))
    return dict(out)


class Analysis:
    """Protected figures for one request; years are computed once and reused."""

    def __init__(self, db: AsyncSession, min_cell: int):
        self.db = db
        self.min_cell = min_cell
        self._years: dict[int, dict[str, dict[str | None, Family]]] = {}
        self._sets: list[frozenset[int]] | None = None

    async def year(self, year: int, extra: frozenset[int] | None = None) -> dict[str, dict[str | None, Family]]:
        if year in self._years:
            return self._years[year]
        # Read fresh on every request: the counts table makes this a few small GROUP BYs, and the
        # disclosure audit is memoised on the counts themselves (disclosure.protect), so a new
        # answer, from this process or any other worker, shows at once (BENCHMARKS.md, P3).
        return await self._compute_year(year, extra)

    async def _compute_year(self, year: int, extra: frozenset[int] | None) -> dict[str, dict[str | None, Family]]:
        if self._sets is None:
            self._sets = await unit_sets(self.db)
        sets = list(self._sets)
        if extra and extra not in sets:
            sets.append(extra)
        fams: dict[str, dict[str | None, Family]] = {g: {} for g in GOALS}
        for dim in (None, *DIMENSIONS):
            counts = await _survey_counts(self.db, dim, year)
            cats = list(DIMENSIONS[dim]) if dim else [ALL]
            for g in SURVEY_GOALS:
                fams[g][dim] = Family(counts[g], sets, cats, self.min_cell)
        for dim in (None, "gender", "age_band"):
            cats = list(DIMENSIONS[dim]) if dim else [ALL]
            fams["work_or_studies"][dim] = Family(await _exit_counts(self.db, dim, year), sets, cats, self.min_cell)
        for g in GOALS:
            # Totals appear in every breakdown: iterate until all breakdowns hide the same totals.
            forced: frozenset = frozenset()
            while True:
                for fam in fams[g].values():
                    fam.forced_totals = forced
                    protect(fam)
                union = frozenset().union(*(f.hidden_totals() for f in fams[g].values()))
                if union == forced:
                    break
                forced = union
        self._years[year] = fams
        return fams

    async def goals(self, units: list[Unit], period: str, with_breakdowns: bool = False) -> list[dict]:
        """The CONTRACT goal objects for a view, optionally with the other breakdowns."""
        year, part = split_period(period)
        view = frozenset(u.id for u in units)
        fams = await self.year(year, view)
        targets = targets_for(units)
        out = []
        for g in GOALS:
            tot, gen = fams[g][None], fams[g]["gender"]
            k, n = tot.cell(view, part)
            by_gender = {c: gen.cell(view, part, c) for c in GENDER_KEYS}
            hidden = {c for c in GENDER_KEYS if gen.is_hidden(view, part, c)}
            goal = stats.effect_goal(g, k, n, by_gender, targets[g], self.min_cell,
                                     parity_target=targets.get("parity", 0.5), hidden=hidden,
                                     total_hidden=tot.is_hidden(view, part, TOTAL))
            if with_breakdowns:
                goal["breakdowns"] = {dim: self._breakdown(fams[g][dim], view, part, targets[g],
                                                           goal["verdict"] == "suppressed")
                                      for dim in GOAL_DIMENSIONS[g]}
            out.append(goal)
        await self._series_notes(out, view, period)
        return out

    def _breakdown(self, fam: Family, view: frozenset[int], part: str, target: float, all_hidden: bool) -> dict:
        cells = {}
        for c in fam.categories:
            k, n = fam.cell(view, part, c)
            if all_hidden or fam.is_hidden(view, part, c) or n < self.min_cell:
                cells[c] = {"target": target, "verdict": "suppressed"}
            else:
                cells[c] = stats.goal_figures(k, n, target, self.min_cell)
        return cells

    async def _series_notes(self, goals: list[dict], view: frozenset[int], period: str) -> None:
        """Flags a goal whose answers in the view come from differently worded questions.

        A series is the goal question's kind + Swedish text. Answers from several
        series are not split (each part would often be too small to show); the
        goal gets a "series" note listing the wordings, and the page says so.
        """
        first, last = parse_period(period)
        q = (select(Count.version_id, *(func.sum(getattr(Count, f"{g}_n")) for g in SURVEY_GOALS))
             .where(Count.unit_id.in_(view or {-1}), Count.month.between(first, last))
             .group_by(Count.version_id))
        used = {row[0]: row[1:] for row in (await self.db.execute(q)).all()}
        if not used:
            return
        versions = dict((await self.db.execute(
            select(SurveyVersion.id, SurveyVersion.questions).where(SurveyVersion.id.in_(used)))).all())
        for goal in goals:
            if goal["goal"] not in SURVEY_GOALS:
                continue
            i = SURVEY_GOALS.index(goal["goal"])
            series = set()
            for vid, qs in versions.items():
                if used[vid][i]:
                    for qd in qs:
                        if qd.get("goal") == goal["goal"]:
                            series.add((qd["kind"], (qd.get("text") or {}).get("sv", "")))
            if len(series) > 1:
                goal["series"] = {"mixed": True, "texts": sorted(t for _, t in series)}


async def effect_goals(db: AsyncSession, units: list[Unit], period: str, min_cell: int) -> list[dict]:
    return await Analysis(db, min_cell).goals(units, period)


async def volume_status(db: AsyncSession, units: list[Unit], period: str) -> list[dict]:
    """Counted goals of the agreements in view: reached in the period (summed in SQL) and the yearly target."""
    first, last = parse_period(period)
    agreement_ids = {u.agreement_id for u in units}
    goals = (await db.execute(select(VolumeGoal).where(VolumeGoal.agreement_id.in_(agreement_ids or {-1}))
                              .order_by(VolumeGoal.name))).scalars().all()
    sums = dict((await db.execute(
        select(VolumeCount.goal_id, func.sum(VolumeCount.count))
        .where(VolumeCount.unit_id.in_({u.id for u in units} or {-1}), VolumeCount.month.between(first, last))
        .group_by(VolumeCount.goal_id))).all())
    return [{"id": g.id, "name": g.name, "target_per_year": g.target_per_year, "count": int(sums.get(g.id) or 0)}
            for g in goals]


__all__ = ["EXIT_GENDERS", "Agreement", "Analysis", "effect_goals", "targets_for", "unit_sets", "volume_status"]


# ---------- registering: exits, targets, volume goals ----------

_MONTH = __import__("re").compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: Any, field: str = "month") -> int:
    """'YYYY-MM' (not in the future) -> YYYYMM."""
    m = _MONTH.match(value) if isinstance(value, str) else None
    if not m:
        raise FieldError(field, "use YYYY-MM, for example 2026-03")
    month = int(m.group(1)) * 100 + int(m.group(2))
    if not 200001 <= month <= month_of(today()):
        raise FieldError(field, "the month must be between 2000-01 and this month")
    return month


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise FieldError(field, f"choose one of {', '.join(allowed)}")
    return value


async def add_exit(db: AsyncSession, unit: Unit, month: Any, outcome: Any, gender: Any, age_band: Any) -> Exit:
    """Validates everything first, so a bad field never leaves a half-written row."""
    row = Exit(unit_id=unit.id, month=parse_month(month), outcome=_choice(outcome, OUTCOMES, "outcome"),
               gender=_choice(gender, EXIT_GENDERS, "gender"), age_band=_choice(age_band, AGE_BANDS, "age_band"))
    db.add(row)
    await db.flush()
    return row


TARGET_KEYS = ("work_or_studies", "closer", "useful", "parity")


def parse_targets(form: dict[str, Any]) -> dict[str, float]:
    """Percentages 1-99 from a form -> shares."""
    out = {}
    for key in TARGET_KEYS:
        raw = form.get(key)
        raw = raw.strip() if isinstance(raw, str) else raw
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise FieldError(key, "write a whole number of per cent, 1 to 99") from None
        if not 1 <= value <= 99:
            raise FieldError(key, "write a whole number of per cent, 1 to 99")
        out[key] = value / 100
    return out


def parse_volume_goal(form: dict[str, Any]) -> tuple[str, int]:
    name = form.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise FieldError("name", "write a name (at most 200 characters)")
    try:
        target = int(str(form.get("target_per_year", "")).strip())
    except ValueError:
        raise FieldError("target_per_year", "write a whole number, 1 to 10000") from None
    if not 1 <= target <= 10000:
        raise FieldError("target_per_year", "write a whole number, 1 to 10000")
    return name, target


def parse_count(value: Any) -> int:
    try:
        count = int(str(value).strip())
    except ValueError:
        raise FieldError("count", "write a whole number, 1 to 1000") from None
    if not 1 <= count <= 1000:
        raise FieldError("count", "write a whole number, 1 to 1000")
    return count


# ---------- themes ----------

async def theme_counts(db: AsyncSession, units: list[Unit], period: str, min_cell: int) -> list[tuple[str, int]] | None:
    """Released workshop statements per theme in the period.

    Counted in SQL grouped by the statement's theme list (as text); the lists are
    then split and summed, so a statement with two themes counts once for each.
    Statements are released on purpose by the young people, so no cell is hidden.
    Surveys carry no themes in their definitions, so only workshops count here.
    """
    first, last = parse_period(period)
    start = dt.date(first // 100, first % 100, 1)
    end = dt.date(last // 100 + (last % 100 == 12), last % 100 % 12 + 1, 1)
    themes = cast(Statement.themes, String)
    q = (select(themes, func.count()).join(Workshop, Workshop.id == Statement.workshop_id)
         .where(Workshop.unit_id.in_({u.id for u in units} or {-1}), Statement.released.is_(True),
                Workshop.date >= start, Workshop.date < end)
         .group_by(themes))
    totals: dict[str, int] = defaultdict(int)
    for raw, count in (await db.execute(q)).all():
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            names = []
        for name in {n for n in names if isinstance(n, str) and n.strip()}:
            totals[name.strip()] += int(count)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def units_in_view(staff, unit: str | None):
    """The one unit asked for (404 outside the caller's scope), or every unit the caller sees."""
    return [staff.unit(unit)] if unit else staff.units


def checked_period(period: str | None) -> str:
    period = period or current_term(today())
    split_period(period)  # 422 naming "period" when malformed
    return period
