"""Retention: `youthvoice purge` removes raw survey answers older than each unit's
`retention_months`, after folding them into monthly aggregated counts.

What is kept per unit, survey, version and month is the number of answers for each
combination of the fixed statistics columns (gender, age band, newly arrived,
disability, and the two goal answers closer/useful). That is everything the
effect-goal reports count; free text and other answers are gone for good.

Readers (the analysis service) that must see purged months too use
`stat_rows()`: one selectable with the raw answers (n = 1 each) and the
aggregates (n = their count) under the same column names. Replace
`count(Response.x)` by `sum(case((x is not null), n))` and group as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import audit
from youthvoice.clock import month_of, today
from youthvoice.models import Unit

from .models import Response, ResponseAggregate, SubmissionNonce

STAT_COLUMNS = ("gender", "age_band", "newly_arrived", "disability", "closer", "useful")


def cutoff_month(day: dt.date, retention_months: int) -> int:
    """First month that is kept: answers from months before it are purged."""
    total = day.year * 12 + (day.month - 1) - max(0, retention_months)
    return (total // 12) * 100 + total % 12 + 1


@dataclass
class Purged:
    unit: str
    before: int  # YYYYMM, first month kept
    answers: int
    cells: int


async def purge(db: AsyncSession, day: dt.date | None = None, user=None) -> list[Purged]:
    """Folds and deletes, unit by unit, each in one transaction: either the counts are
    stored and the raw rows gone, or nothing changed."""
    day = day or today()
    done: list[Purged] = []
    units = list((await db.execute(select(Unit.id, Unit.slug, Unit.retention_months).order_by(Unit.id))).all())
    for unit_id, slug, months in units:
        before = cutoff_month(day, months)
        old = (Response.unit_id == unit_id, Response.month < before)
        keys = [Response.unit_id, Response.survey_id, Response.version_id, Response.month,
                *(getattr(Response, c) for c in STAT_COLUMNS)]
        cells = (await db.execute(select(*keys, func.count().label("n")).where(*old).group_by(*keys))).mappings().all()
        if not cells:
            continue
        await db.execute(insert(ResponseAggregate), [dict(c) for c in cells])
        deleted = (await db.execute(delete(Response).where(*old))).rowcount
        answers = sum(c["n"] for c in cells)
        if deleted != answers:  # an answer arrived for an old month meanwhile: do nothing
            await db.rollback()
            raise RuntimeError(f"unit {slug}: counted {answers} answers but would delete {deleted}")
        await audit(db, user, "purge", f"unit {slug}: {answers} answers before {before // 100}-{before % 100:02d}")
        await db.commit()
        done.append(Purged(slug, before, answers, len(cells)))
    # Double-submit marks only need to outlive a form (hours): keep this and last month.
    keep = cutoff_month(day, 1)
    await db.execute(delete(SubmissionNonce).where(SubmissionNonce.month < keep))
    await db.commit()
    return done


def stat_rows():
    """Raw answers and purged aggregates as one subquery with columns unit_id, survey_id,
    version_id, month, gender, age_band, newly_arrived, disability, closer, useful, n."""
    raw = select(Response.unit_id, Response.survey_id, Response.version_id, Response.month,
                 *(getattr(Response, c) for c in STAT_COLUMNS), literal(1).label("n"))
    agg = select(ResponseAggregate.unit_id, ResponseAggregate.survey_id, ResponseAggregate.version_id,
                 ResponseAggregate.month, *(getattr(ResponseAggregate, c) for c in STAT_COLUMNS),
                 ResponseAggregate.n)
    return union_all(raw, agg).subquery("stat_rows")


__all__ = ["Purged", "ResponseAggregate", "cutoff_month", "month_of", "purge", "stat_rows"]
