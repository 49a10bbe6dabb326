"""Survey exports for staff: the free texts of one version, alone and shuffled (no individual rows).

Read from `response` only, the answers released in batches of at least B (analysis/calendar.py),
never from the intake: a text leaves with its batch, so the export changes only by a whole batch."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.errors import FieldError
from youthvoice.tables import Table

from .models import Response, Survey, SurveyVersion

_shuffle = secrets.SystemRandom()


class TooFewAnswers(Exception):
    """Fewer answers than the smallest group that may be shown."""

    def __init__(self, n: int, min_cell: int):
        super().__init__(f"{n} < {min_cell}")
        self.n = n
        self.min_cell = min_cell



async def survey_versions(db: AsyncSession, survey: Survey) -> list[tuple[SurveyVersion, None]]:
    """Each version of a survey. No count: staff pages show the published (protected) counts of
    the last release, which analysis provides."""
    versions = list((await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                                      .order_by(SurveyVersion.number))).scalars())
    return [(v, None) for v in versions]


async def survey_answers(db: AsyncSession, survey: Survey, number: int | None, lang: str, _,
                         min_cell: int) -> Table:
    """What people wrote in their own words, for one version: one row per text, with only the
    question beside it, shuffled, without month, language or any background answer, so no text
    can be joined to a person's other answers. Refused below `min_cell` released answers. Every
    count staff see comes from the published tables (the dashboard, /r/); individual rows
    leave the service only through `youthvoice backup`."""
    number = number or survey.current_version
    version = (await db.execute(select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.number == number))).scalar_one_or_none()
    if version is None:
        raise FieldError("version", f"this survey has no version {number}")
    n = (await db.execute(select(func.count()).select_from(Response).where(Response.version_id == version.id))).scalar_one()
    if n < min_cell:
        raise TooFewAnswers(n, min_cell)
    texts = [q for q in version.questions if q["kind"] == "text"]
    table = Table(title=f"{survey.slug}-v{number}-texts", header=[_("Question"), _("Text")])
    rows = []
    if texts:
        for (answers,) in (await db.execute(select(Response.answers).where(Response.version_id == version.id))).all():
            for q in texts:
                value = (answers or {}).get(q["key"])
                if isinstance(value, str) and value.strip():
                    rows.append([f"{q['text'].get(lang) or q['text'].get('sv') or q['key']} [{q['key']}]", value])
    _shuffle.shuffle(rows)
    table.rows.extend(rows)
    return table
