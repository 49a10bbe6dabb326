"""Open surveys kept in memory for the answering paths.

After a group session fifty phones send their answers within seconds; reading the
survey and its questions from the database for each of them cost more than storing
the answer. A snapshot is kept per database and slug. It is never trusted for what
matters: the writer (writer.py) checks in the answer's own transaction that the
survey is still published, open that day and at that version, and a stale snapshot
is dropped and read again. Changes made through this process drop the snapshots at
once (`forget`); changes made by other workers show within SECONDS.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .models import Survey, SurveyVersion

SECONDS = 5.0


@dataclass(frozen=True)
class LiveSurvey:
    """What the phone pages and the submission need, under the Survey attribute names."""

    id: int
    slug: str
    unit_id: int
    title: dict
    opens: dt.date
    closes: dt.date
    access: str
    shared_device: bool
    current_version: int
    version_id: int
    questions: list


_LIVE: dict[tuple[str, str], tuple[float, LiveSurvey]] = {}


def forget() -> None:
    """Drops every snapshot: called by each service function that changes a survey."""
    _LIVE.clear()


async def _load(db: AsyncSession, slug: str) -> LiveSurvey | None:
    row = (await db.execute(
        select(Survey, SurveyVersion.id, SurveyVersion.questions)
        .join(SurveyVersion, (SurveyVersion.survey_id == Survey.id) & (SurveyVersion.number == Survey.current_version))
        .where(Survey.slug == slug, Survey.status == "published"))).first()
    if row is None:
        return None
    s, version_id, questions = row
    return LiveSurvey(id=s.id, slug=s.slug, unit_id=s.unit_id, title=dict(s.title), opens=s.opens, closes=s.closes,
                      access=s.access, shared_device=s.shared_device, current_version=s.current_version,
                      version_id=version_id, questions=questions)


Db = AsyncSession | async_sessionmaker[AsyncSession]


async def open_survey(db: Db, slug: str, day: dt.date, *, fresh: bool = False) -> LiveSurvey:
    """The published survey at this address, open on `day`; 404 otherwise.

    `db` may be a session factory: then a session is made only when the survey must be read
    (on the answering paths, making one per request cost as much as the answer)."""
    bind = db.kw["bind"] if isinstance(db, async_sessionmaker) else db.bind
    key = (str(bind.url), slug)
    hit = None if fresh else _LIVE.get(key)
    if hit is None or time.monotonic() - hit[0] > SECONDS:
        if isinstance(db, async_sessionmaker):
            async with db() as session:
                live = await _load(session, slug)
        else:
            live = await _load(db, slug)
        if live is None:
            _LIVE.pop(key, None)
            raise NotFoundException("survey: no open survey at this address")
        if len(_LIVE) > 1000:
            _LIVE.clear()
        _LIVE[key] = hit = (time.monotonic(), live)
    live = hit[1]
    if not live.opens <= day <= live.closes:
        raise NotFoundException("survey: no open survey at this address")
    return live
