"""The release calendar: on which days published figures may change, and how big a batch must be.

* **Monthly**: the first weekday (Monday-Friday) of each month is a release day for everyone.
* **Steering-group dates**: each agreement may add the days its steering group meets
  (`release_setting.steering_days`, set on /analysis/calendar or `PUT /api/agreements/{slug}/calendar`);
  such a day is a release day for that agreement's units only.
* **Final figures** of a period are made on the first release day after it has closed (its
  answers waiting in batches of at least B move first, in the same run).

A release that was due but not made (the server was down) is made at the next run: every release
is keyed by the *latest release day on or before today* (its "slot"), so it is made once per slot.

A survey's waiting answers move into the published tables only in **batches of at least B**
(`release_setting.batch_min`, default 10, never below `min_cell`); fewer wait for the next
release day. Pure date arithmetic plus two small reads; analysis/release.py decides what moves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.models import Unit

from .models import ReleaseSetting

DEFAULT_BATCH = 10
MAX_BATCH = 200
MAX_STEERING_DAYS = 24  # a steering group meets each quarter or twice a term; two years ahead is plenty


def first_weekday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _month_before(day: dt.date) -> tuple[int, int]:
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


def _month_after(day: dt.date) -> tuple[int, int]:
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


def last_monthly(day: dt.date) -> dt.date:
    """The latest monthly release day on or before `day`."""
    here = first_weekday(day.year, day.month)
    return here if here <= day else first_weekday(*_month_before(day))


def next_monthly(day: dt.date) -> dt.date:
    """The first monthly release day after `day`."""
    here = first_weekday(day.year, day.month)
    return here if here > day else first_weekday(*_month_after(day))


def slot(day: dt.date, steering: set[dt.date] | frozenset = frozenset()) -> dt.date:
    """The latest release day on or before `day`, for an agreement with these steering dates."""
    past = [d for d in steering if d <= day]
    return max([last_monthly(day), *past])


def next_day(day: dt.date, steering: set[dt.date] | frozenset = frozenset()) -> dt.date:
    """The first release day after `day`."""
    future = [d for d in steering if d > day]
    return min([next_monthly(day), *future])


def batch_min(setting: int | None, min_cell: int) -> int:
    """B: the agreement's setting (default 10), never below the smallest cell shown."""
    return max(int(setting or DEFAULT_BATCH), int(min_cell))


class Calendar:
    """Every agreement's steering dates and batch size, and which agreement each unit is in."""

    def __init__(self, steering: dict[int, set[dt.date]], batches: dict[int, int | None],
                 agreement_of: dict[int, int]):
        self.steering = steering
        self.batches = batches
        self.agreement_of = agreement_of

    def slot_of(self, agreement_id: int, day: dt.date) -> dt.date:
        return slot(day, self.steering.get(agreement_id, set()))

    def global_slot(self, day: dt.date) -> dt.date:
        return max([last_monthly(day), *(self.slot_of(a, day) for a in self.steering)])

    def batch_of(self, agreement_id: int, min_cell: int) -> int:
        return batch_min(self.batches.get(agreement_id), min_cell)

    def next_for_units(self, unit_ids, day: dt.date) -> dt.date:
        """When figures for these units may next change: the first release day after `day` of any
        of their agreements (all agreements for an empty set)."""
        agreements = {self.agreement_of[u] for u in unit_ids if u in self.agreement_of} or set(self.steering)
        days = set().union(*(self.steering.get(a, set()) for a in agreements)) if agreements else set()
        return next_day(day, days)


async def load(db: AsyncSession) -> Calendar:
    steering: dict[int, set[dt.date]] = defaultdict(set)
    batches: dict[int, int | None] = {}
    for s in (await db.execute(select(ReleaseSetting))).scalars():
        batches[s.agreement_id] = s.batch_min
        steering[s.agreement_id] |= {dt.date.fromisoformat(d) for d in s.steering_days or []}
    agreement_of = dict((await db.execute(select(Unit.id, Unit.agreement_id))).all())
    for a in set(agreement_of.values()):
        steering.setdefault(a, set())
    return Calendar(dict(steering), batches, agreement_of)


async def next_release(db: AsyncSession, unit_ids, day: dt.date) -> dt.date:
    return (await load(db)).next_for_units(set(unit_ids or ()), day)
