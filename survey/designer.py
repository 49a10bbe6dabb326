"""What the staff designer's pages share: reading form fields, the editor page, finding the survey
among the staff member's units."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.errors import FieldError
from youthvoice.i18n import LANGUAGES
from youthvoice.web import render

from . import service
from .models import Survey, SurveyCode
from .schemas import KINDS

LANGS = list(LANGUAGES)


def field(form: dict[str, Any], name: str) -> str:
    v = form.get(name)
    if isinstance(v, list):
        v = v[0] if v else ""
    return v.strip() if isinstance(v, str) else ""


def texts_of(form: dict[str, Any], prefix: str) -> dict[str, str]:
    return {lang: text for lang in LANGS if (text := field(form, f"{prefix}_{lang}"))}


def date_field(form: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(field(form, name))
    except ValueError:
        raise FieldError(name, "write a date as YYYY-MM-DD") from None


def missing_langs(texts: dict[str, str] | None) -> list[str]:
    return [lang for lang in LANGS if not (texts or {}).get(lang)]


def page(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    return render(request, template, status_code=status, missing_langs=missing_langs, kinds=KINDS, langs=LANGS,
                  question_missing=service.missing_languages, **ctx)


async def editor(request: Request, staff: Scope, db: AsyncSession, survey: Survey, *, status: int = 200,
                  error: str | None = None) -> Response:
    version = await service.current_version(db, survey)
    answered = await service.has_answers(db, version.id)
    # Codes made, not codes unused: a live count of unused codes would let a facilitator watch a slip
    # turn "used" (issue 16). How many were used is published with the figures, at a release.
    n_codes = (await db.execute(select(func.count()).select_from(SurveyCode).where(
        SurveyCode.survey_id == survey.id))).scalar_one()
    unit = next((u for u in staff.units if u.id == survey.unit_id), None)
    offered = service.offered_languages(version.questions)
    incomplete = {lang: sum(lang in service.missing_languages(q) for q in version.questions)
                  for lang in LANGS if lang not in offered}
    return page(request, "survey/edit.html", status, survey=survey, questions=version.questions,
                 answered=answered, unit=unit, error=error, codes_made=n_codes, offered=offered,
                 incomplete=incomplete)


async def survey_of(db: AsyncSession, staff: Scope, survey_id: int) -> Survey:
    return await service.get_survey(db, survey_id, staff.unit_ids)


def back(survey: Survey, anchor: str = "") -> Redirect:
    return Redirect(f"/surveys/{survey.id}{anchor}", status_code=303)
