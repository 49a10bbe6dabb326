"""Survey routes: the staff JSON API, the phone page /s/{slug} and the JSON submission."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post, put
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, TooManyRequestsException
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from . import service
from .schemas import (
    Codes,
    CodesRequest,
    Published,
    Receipt,
    Submission,
    SurveyCreated,
    SurveyDef,
    SurveyUpdated,
)
from .writer import writer_of

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class Conflict(ClientException):
    status_code = 409


def limit(request: Request, state: State, settings: Settings) -> None:
    if not state.limiter.hit(request, "submit", settings.submit_rate):
        raise TooManyRequestsException("Too many answers from here right now. Wait a minute and try again.")


def results_url(survey_slug: str) -> str:
    return f"/r/{survey_slug}"


# ---------- staff JSON API ----------

@post("/api/surveys", tags=["staff"], status_code=201)
async def create_survey(data: SurveyDef, staff: Scope, db: AsyncSession) -> SurveyCreated:
    """Create a survey (draft) from a definition."""
    unit = staff.unit(data.unit)
    survey = await service.create_survey(db, unit, data)
    return SurveyCreated(id=survey.id, slug=survey.slug, version=survey.current_version)


@post("/api/surveys/{survey_id:int}/publish", tags=["staff"], status_code=200)
async def publish_survey(survey_id: int, staff: Scope, db: AsyncSession, settings: Settings) -> Published:
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    await service.publish(db, survey)
    return Published(url=f"{settings.base_url}/s/{survey.slug}")


@post("/api/surveys/{survey_id:int}/codes", tags=["staff"], status_code=201)
async def create_codes(survey_id: int, data: CodesRequest, staff: Scope, db: AsyncSession) -> Codes:
    """One-time codes: each lets one answer in, and cannot be joined to it."""
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    return Codes(codes=await service.make_codes(db, survey, data.count))


@put("/api/surveys/{survey_id:int}", tags=["staff"])
async def update_survey(survey_id: int, data: SurveyDef, staff: Scope, db: AsyncSession) -> SurveyUpdated:
    """Replace a survey's definition. Once answers exist, changed questions become a new
    version (old answers keep theirs); `new_series` names goals whose question changed."""
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    if staff.unit(data.unit).id != survey.unit_id:
        raise FieldError("unit", "a survey cannot move to another unit")
    service.check_definition(data)
    await service.update_settings(db, survey, title=dict(data.title), opens=data.opens, closes=data.closes,
                                  access=data.access, shared_device=data.shared_device)
    number, series = await service.save_questions(db, survey, msgspec.to_builtins(data.questions),
                                                  confirm_new_series=True)
    return SurveyUpdated(id=survey.id, slug=survey.slug, version=number, new_series=series)


# ---------- young people ----------

@post("/api/public/surveys/{slug:str}/responses", tags=["public"], status_code=201)
async def submit_json(slug: str, data: Submission, request: Request, state: State) -> Receipt:
    """Anonymous answer. 409 when the code was used, 404 unknown or closed survey, 422 invalid answer."""
    # No injected dependencies on this path: resolving them cost more than the answer itself
    # (BENCHMARKS.md, P1). A session is made only when the survey must be read.
    limit(request, state, state.settings)
    day = today()
    survey = await service.open_survey(state.sessionmaker, slug, day)
    try:
        _, receipt = await service.submit(state.sessionmaker, writer_of(state), survey, data, day)
    except (service.CodeSpent, service.AlreadyReceived):
        raise Conflict("code: this code has already been used") from None
    return Receipt(receipt=receipt, results_url=results_url(slug))


from .answering import ROUTES as ANSWER_ROUTES
from .designer import ROUTES as DESIGNER_ROUTES
from .results import ROUTES as RESULT_ROUTES

ROUTES = [create_survey, update_survey, publish_survey, create_codes, submit_json, *ANSWER_ROUTES, *RESULT_ROUTES,
          *DESIGNER_ROUTES]
