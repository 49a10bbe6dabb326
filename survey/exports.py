"""Survey exports: the answers to one version of a survey, for staff, as a table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.errors import FieldError
from youthvoice.tables import Table, month_text, word

from .models import Response, Survey, SurveyVersion


class TooFewAnswers(Exception):
    """Fewer answers than the smallest group that may be shown."""

    def __init__(self, n: int, min_cell: int):
        super().__init__(f"{n} < {min_cell}")
        self.n = n
        self.min_cell = min_cell



async def survey_versions(db: AsyncSession, survey: Survey) -> list[tuple[SurveyVersion, int]]:
    """Each version of a survey with its number of answers."""
    versions = list((await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                                      .order_by(SurveyVersion.number))).scalars())
    counts = dict((await db.execute(select(Response.version_id, func.count()).where(
        Response.survey_id == survey.id).group_by(Response.version_id))).all())
    return [(v, int(counts.get(v.id, 0))) for v in versions]


def _label(q: dict, option: str, lang: str, _) -> str:
    texts = (q.get("option_text") or {}).get(option)
    if texts:
        return texts.get(lang) or texts.get("sv") or option
    return word(option, _)


def _answer_cell(q: dict, value: Any, present: bool, lang: str, _) -> Any:
    kind = q["kind"]
    if not present:
        return None
    if kind == "likert5":
        return _("don't know") if value is None else value
    if kind == "choice":
        return _label(q, value, lang, _)
    if kind == "multi":
        return ", ".join(_label(q, v, lang, _) for v in value or [])
    if kind == "yesno":
        return _("yes") if value else _("no")
    return value


async def survey_answers(db: AsyncSession, survey: Survey, number: int | None, lang: str, _,
                         min_cell: int) -> Table:
    """One row per answer, one column per question of that version (background questions included).
    Refused below `min_cell` answers: so few rows could show who answered what."""
    number = number or survey.current_version
    version = (await db.execute(select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.number == number))).scalar_one_or_none()
    if version is None:
        raise FieldError("version", f"this survey has no version {number}")
    rows = list((await db.execute(select(Response.month, Response.language, Response.answers).where(
        Response.version_id == version.id).order_by(Response.month, Response.id))).all())
    if len(rows) < min_cell:
        raise TooFewAnswers(len(rows), min_cell)
    questions = version.questions
    header = [_("Month"), _("Language")] + [
        f"{q['text'].get(lang) or q['text'].get('sv') or q['key']} [{q['key']}]" for q in questions]
    table = Table(title=f"{survey.slug}-v{number}", header=header)
    for month, language, answers in rows:
        answers = answers or {}
        table.rows.append([month_text(month), language] + [
            _answer_cell(q, answers.get(q["key"]), q["key"] in answers, lang, _) for q in questions])
    return table
