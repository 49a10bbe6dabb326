"""Analysis logic besides the releases: unit sets, exits, targets, volume goals and themes.

The effect-goal figures themselves are made only by analysis/release.py and read from the
stored releases by analysis/read.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.store import new_record_key
from workshops import views as workshop_views
from youthvoice.clock import month_of, today
from youthvoice.errors import FieldError
from youthvoice.models import DEFAULT_TARGETS, Agreement, Unit, User, user_unit
from youthvoice.periods import current_term, parse_period, split_period

from .models import AGE_BANDS, EXIT_GENDERS, OUTCOMES, Exit, Release, VolumeCount, VolumeGoal

SURVEY_GOALS = ("closer", "useful")
GOALS = ("work_or_studies", "closer", "useful")
GENDER_KEYS = ("woman", "man", "non_binary", "undisclosed")
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


__all__ = ["EXIT_GENDERS", "Agreement", "targets_for", "unit_sets", "volume_status"]


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


def _periods_of_month(month: int) -> list[str]:
    y, m = divmod(month, 100)
    return [str(y), f"{y}-{'VT' if m <= 6 else 'HT'}", f"{y}-Q{(m + 2) // 3}"]


async def add_exit(db: AsyncSession, unit: Unit, month: Any, outcome: Any, gender: Any, age_band: Any) -> Exit:
    """Validates everything first, so a bad field never leaves a half-written row. A month whose
    quarter, term or year already has its final figures is locked: they are served unchanged."""
    month_value = parse_month(month)
    finals = [f"final:{p}" for p in _periods_of_month(month_value)]
    if (await db.execute(select(Release.id).where(Release.key.in_(finals)).limit(1))).first() is not None:
        raise FieldError("month", "the figures for this month are final; exits can no longer be added to it")
    row = Exit(unit_id=unit.id, month=month_value, outcome=_choice(outcome, OUTCOMES, "outcome"),
               gender=_choice(gender, EXIT_GENDERS, "gender"), age_band=_choice(age_band, AGE_BANDS, "age_band"),
               record_key=new_record_key())
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

async def theme_counts(db: AsyncSession, units: list[Unit], period: str) -> list[tuple[str, int]]:
    """Released workshop statements per theme in the period, most first (workshops/views.py counts them).

    Statements are released on purpose by the young people, so no cell is hidden.
    Surveys carry no themes in their definitions, so only workshops count here.
    """
    first, last = parse_period(period)
    totals: dict[str, int] = defaultdict(int)
    for theme, _month, count in await workshop_views.theme_counts(db, {u.id for u in units}, first, last):
        if theme != workshop_views.NO_THEME:
            totals[theme] += count
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def units_in_view(staff, unit: str | None):
    """The one unit asked for (404 outside the caller's scope), or every unit the caller sees."""
    return [staff.unit(unit)] if unit else staff.units


def checked_period(period: str | None) -> str:
    period = period or current_term(today())
    split_period(period)  # 422 naming "period" when malformed
    return period
