"""For tests about what a release does to rows, files and counts, not about batches: publish as an
installation whose batch size B and smallest cell are both 1 would, so that even one answer moves.
The calendar and batches themselves are tested in tests/analysis/test_calendar.py."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy import select

from analysis.models import ReleaseSetting
from analysis.publish import publish_now
from tests.conftest import run_db
from youthvoice import clock
from youthvoice.models import Agreement


def release_all(settings, day: dt.date | None = None) -> list[str]:
    """Every waiting answer moves, even one, and every call is a release day of its own (`day`, or
    today, made a steering date of every agreement), so tests can release again the next day."""
    when = (day or clock.today()).isoformat()

    async def b_is_one(db):
        for (aid,) in (await db.execute(select(Agreement.id))).all():
            setting = await db.get(ReleaseSetting, aid)
            if setting is None:
                db.add(ReleaseSetting(agreement_id=aid, batch_min=1, steering_days=[when]))
            else:
                setting.batch_min = 1
                setting.steering_days = sorted({*(setting.steering_days or []), when})
        await db.commit()

    run_db(settings, b_is_one)
    return asyncio.run(publish_now(dataclasses.replace(settings, min_cell=1), day))
