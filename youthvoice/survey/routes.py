"""Survey routes: the staff JSON API, the phone page /s/{slug} and the JSON submission."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, TooManyRequestsException
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.web import check_youth_form_token, render, request_lang, youth_form_token
from . import service
from .schemas import Codes, CodesRequest, Published, Receipt, Submission, SurveyCreated, SurveyDef

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class Conflict(ClientException):
    status_code = 409


def _limit(request: Request, state: State, settings: Settings) -> None:
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


# ---------- young people ----------

@post("/api/public/surveys/{slug:str}/responses", tags=["public"], status_code=201)
async def submit_json(slug: str, data: Submission, request: Request, db: AsyncSession, state: State,
                      settings: Settings) -> Receipt:
    """Anonymous answer. 409 when the code was used, 404 unknown or closed survey, 422 invalid answer."""
    _limit(request, state, settings)
    day = today()
    survey = await service.open_survey(db, slug, day)
    version = await service.current_version(db, survey)
    try:
        receipt = await service.submit(db, survey, version, data, day)
    except (service.CodeSpent, service.AlreadyReceived):
        raise Conflict("code: this code has already been used") from None
    return Receipt(receipt=receipt, results_url=results_url(slug))


def _form_answers(questions: list[dict], form: dict[str, Any]) -> dict[str, Any]:
    """Turns form fields q_<key> into typed answers; a wrong type becomes a clear error later."""
    answers: dict[str, Any] = {}
    for q in questions:
        raw = form.get(f"q_{q['key']}")
        kind = q["kind"]
        if kind == "multi":
            values = raw if isinstance(raw, list) else ([raw] if raw else [])
            answers[q["key"]] = [v for v in values if v]
            continue
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        if raw is None or raw == "":
            continue
        if kind == "likert5":
            answers[q["key"]] = None if raw == "dk" else (int(raw) if str(raw).isdigit() else raw)
        elif kind == "yesno":
            answers[q["key"]] = {"yes": True, "no": False}.get(raw, raw)
        else:
            answers[q["key"]] = raw
    return answers


async def _page(request: Request, db: AsyncSession, settings: Settings, slug: str, *, form: dict[str, Any],
                errors: dict[str, str], status: int = 200) -> Response:
    survey = await service.open_survey(db, slug, today())
    version = await service.current_version(db, survey)
    return render(request, "survey/answer.html", status_code=status, youth=True, survey=survey,
                  questions=version.questions, form=form, errors=errors,
                  form_token=youth_form_token(settings.secret_key, f"survey:{slug}"))


@get("/s/{slug:str}", include_in_schema=False)
async def answer_page(slug: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    code = request.query_params.get("code", "")
    return await _page(request, db, settings, slug, form={"code": code[:32]}, errors={})


@post("/s/{slug:str}", include_in_schema=False, status_code=200)
async def answer_form(slug: str, data: Form, request: Request, db: AsyncSession, state: State,
                      settings: Settings) -> Response:
    day = today()
    survey = await service.open_survey(db, slug, day)
    version = await service.current_version(db, survey)
    nonce = check_youth_form_token(settings.secret_key, f"survey:{slug}", data.get("_form"))
    if nonce is None:
        return await _page(request, db, settings, slug, form=data, status=400,
                           errors={"_form": "The page was open too long. Please send your answers again."})
    _limit(request, state, settings)
    code = data.get("code") if isinstance(data.get("code"), str) else None
    sub = Submission(answers=_form_answers(version.questions, data), code=code or None,
                     language=request_lang(request))
    try:
        receipt = await service.submit(db, survey, version, sub, day, nonce=nonce)
    except FieldError as e:
        return await _page(request, db, settings, slug, form=data, status=422, errors={e.field: e.message})
    except service.AlreadyReceived:
        return render(request, "survey/thanks.html", youth=True, survey=survey, receipt=None,
                      results_url=results_url(slug), again=True)
    except service.CodeSpent:
        return await _page(request, db, settings, slug, form=data, status=409,
                           errors={"code": "This code has already been used."})
    return render(request, "survey/thanks.html", youth=True, survey=survey, receipt=receipt,
                  results_url=results_url(slug), again=False)


ROUTES = [create_survey, publish_survey, create_codes, submit_json, answer_page, answer_form]
