"""Reading stored releases: what every page, export and API answer shows.

Nothing here counts answers: each output reads the tables that analysis/release.py stored, so a
figure is the same wherever it is shown and changes only at the next release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today

from . import calendar
from .models import Release, ReleaseTable


def view_key(unit_ids) -> str:
    """The name a unit set's tables are stored under in a release. A long set (an organisation's
    hundreds of units) is named by a digest of its ids: release_table.view holds 400 characters,
    and PostgreSQL refused the release of the all-units view at 300 units."""
    key = "units:" + ",".join(str(u) for u in sorted(unit_ids))
    return key if len(key) <= 200 else "units:sha256:" + hashlib.sha256(key.encode()).hexdigest()


def survey_scope(survey_id: int) -> str:
    return f"survey:{survey_id}"


def release_info(rel: Release | None) -> dict | None:
    if rel is None:
        return None
    return {"kind": rel.kind, "published": rel.published.isoformat(),
            "next": rel.next.isoformat() if rel.next else None}


async def latest(db: AsyncSession, scope: str) -> Release | None:
    """The final release of a scope if there is one, else its newest preliminary one."""
    rows = list((await db.execute(select(Release).where(Release.scope == scope, Release.complete.is_(True),
                                                        Release.kind.in_(("final", "preliminary")))
                                  .order_by(Release.published.desc(), Release.id.desc()))).scalars())
    final = [r for r in rows if r.kind == "final"]
    return final[0] if final else (rows[0] if rows else None)


async def table(db: AsyncSession, rel: Release | None, view: str) -> dict | None:
    if rel is None:
        return None
    return (await db.execute(select(ReleaseTable.body).where(ReleaseTable.release_id == rel.id,
                                                             ReleaseTable.view == view))).scalar_one_or_none()


async def goals_of(db: AsyncSession, unit_ids, period: str) -> dict[str, Any]:
    """{"goals", "response_rate", "release"} for a unit set and period, as last published. Before
    the first release (or for a unit set that did not exist then) the goals are empty. The
    release's `next` is the calendar's next release day for these units (None once final)."""
    rel = await latest(db, period)
    body = await table(db, rel, view_key(unit_ids))
    info = await with_next(db, release_info(rel), unit_ids)
    if body is None:
        return {"goals": [], "response_rate": None, "release": info if rel else None, "pending": True,
                "next": info["next"] if info else (await calendar.next_release(db, unit_ids, today())).isoformat()}
    return {"goals": body["goals"], "response_rate": body.get("response_rate"), "release": info,
            "pending": False, "next": info["next"]}


async def with_next(db: AsyncSession, info: dict | None, unit_ids) -> dict | None:
    """The release as shown, with `next` from the calendar as it is now (steering-group dates can
    be added after a release was made); a final release has none."""
    if info is None:
        return None
    if info["kind"] == "final":
        return {**info, "next": None}
    return {**info, "next": (await calendar.next_release(db, unit_ids, today())).isoformat()}


async def survey_of(db: AsyncSession, survey_id: int, unit_id: int | None = None) -> tuple[dict | None, dict | None]:
    """(the /r/ body, its release) for one survey, as last published."""
    rel = await latest(db, survey_scope(survey_id))
    info = release_info(rel)
    if info is not None and unit_id is not None:
        info = await with_next(db, info, {unit_id})
    return await table(db, rel, survey_scope(survey_id)), info


def next_release(info: dict | None, day: dt.date) -> str:
    """When the figures are next updated: the release's own `next`, or the calendar's next monthly
    release day once that has passed (analysis/calendar.py)."""
    if info and info.get("next") and info["next"] > day.isoformat():
        return info["next"]
    return calendar.next_monthly(day).isoformat()


async def next_release_for(db: AsyncSession, unit_ids, day: dt.date) -> str:
    """The next release day for these units under the calendar, steering-group dates included."""
    return (await calendar.next_release(db, unit_ids, day)).isoformat()
