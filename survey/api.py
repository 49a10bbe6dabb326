"""The survey JSON API: staff create, change and publish surveys and make codes; young people send\nanswers; staff export the answers of a version."""

from __future__ import annotations

import re
import secrets

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.datastructures import State
from litestar.exceptions import ClientException
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.openapi import answers
from youthvoice.tables import file_format, send_table
from youthvoice.web import request_lang, translator

from . import exports, service
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


class Conflict(ClientException):
    status_code = 409


# ---------- staff JSON API ----------

@post("/", tags=["staff"], status_code=201, responses=answers(401, 404, 422, body=True))
async def create_survey(data: SurveyDef, staff: Scope, db: AsyncSession) -> SurveyCreated:
    """Create a survey (draft) from a definition."""
    unit = staff.unit(data.unit)
    survey = await service.create_survey(db, unit, data)
    return SurveyCreated(id=survey.id, slug=survey.slug, version=survey.current_version)


@post("/{survey_id:int}/publish", tags=["staff"], status_code=200, responses=answers(401, 404, 422))
async def publish_survey(survey_id: int, staff: Scope, db: AsyncSession, settings: Settings) -> Published:
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    await service.publish(db, survey)
    return Published(url=f"{settings.base_url}/s/{survey.slug}")


@post("/{survey_id:int}/codes", tags=["staff"], status_code=201, responses=answers(401, 404, 422, body=True))
async def create_codes(survey_id: int, data: CodesRequest, staff: Scope, db: AsyncSession) -> Codes:
    """One-time codes: each lets one answer in, and cannot be joined to it."""
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    return Codes(codes=await service.make_codes(db, survey, data.count))


@put("/{survey_id:int}", tags=["staff"], responses=answers(401, 404, 422, body=True))
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

# An app that sends an answer again after a cut connection names the answer with a key of its own
# (the IETF draft's Idempotency-Key header, e.g. a random UUID): a second request with the same key is
# thanked and not stored again. Only a hash of survey and key is kept, in the same table as the phone
# form's once-only values, with the month and nothing else (docs/anonymity.md).
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")


def idempotency_nonce(request: Request) -> str | None:
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    key = raw.strip().strip('"')  # the draft sends it as a structured-field string, in quotes
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise FieldError("Idempotency-Key", "write 16 to 128 letters, digits, - or _ (for example a random UUID)")
    return "api:" + key  # apart from the forms' values, which the server makes itself


def _replayed(slug: str) -> Response[Receipt]:
    return Response(Receipt(receipt=secrets.token_hex(8), results_url=service.results_url(slug)),
                    status_code=201, headers={"Idempotent-Replayed": "true"})


@post("/api/public/surveys/{slug:str}/responses", tags=["public"], status_code=201,
      responses=answers(404, 409, 422, 429, body=True))
async def submit_json(slug: str, data: Submission, request: Request, state: State) -> Response[Receipt]:
    """Anonymous answer. 409 when the code is unknown or was used (one answer for both), 404 unknown or
    closed survey, 422 invalid answer. With an `Idempotency-Key` header, the same key sent again is
    answered 201 with `Idempotent-Replayed: true` and stores nothing."""
    # No injected dependencies on this path: resolving them cost more than the answer itself
    # (BENCHMARKS.md, P1). A session is made only when the survey must be read.
    nonce = idempotency_nonce(request)
    await service.limit_answers(request, state, slug)
    day = today()
    survey = await service.open_survey(state.sessionmaker, slug, day)
    if survey.access == "code":
        await service.guard_code(request, state, slug)
    try:
        _, receipt = await service.submit(state.sessionmaker, writer_of(state), survey, data, day, nonce=nonce)
    except service.AlreadyReceived:  # only with a key: this answer is already stored
        return _replayed(slug)
    except service.CodeSpent:
        await service.code_missed(request, state, slug)
        raise Conflict("code: this code does not work — check it, each code works once") from None
    except FieldError as e:
        if e.field == "code":  # a code this survey does not have: a miss too
            await service.code_missed(request, state, slug)
        raise
    return Response(Receipt(receipt=receipt, results_url=service.results_url(slug)), status_code=201)



class TooFew(ClientException):
    status_code = 409


@get(["/api/exports/surveys/{survey_id:int}/answers.csv", "/api/exports/surveys/{survey_id:int}/answers.xlsx"],
     tags=["exports"], responses=answers(401, 404, 409, 422))
async def export_survey_answers(request: Request, survey_id: int, staff: Scope, db: AsyncSession,
                                settings: Settings, version: int | None = None) -> Response:
    """What people wrote in their own words to one version of a survey (default: the current one):
    one row per text with only its question, shuffled, no background answer. The other answers are
    exported as protected tables per question (/api/exports/surveys/{id}/tables.csv). 409 when the
    version has fewer answers than the smallest group shown."""
    survey = await service.get_survey(db, survey_id, staff.unit_ids)
    _ = translator(request_lang(request))
    try:
        table = await exports.survey_answers(db, survey, version, request_lang(request), _, settings.min_cell)
    except exports.TooFewAnswers as e:
        # The exact number stays unsaid: a count under min_cell is shown nowhere (issue 15, S7).
        raise TooFew(f"version: too few answers yet; at least {e.min_cell} are needed before the texts can "
                     f"be exported, so that nobody can be recognised") from None
    return await send_table(db, staff.user, table, file_format(request.url.path),
                            f"survey {survey.id} answers v{version or survey.current_version}")


STAFF_API = Router(path="/api/surveys", route_handlers=[create_survey, update_survey, publish_survey, create_codes])

ROUTES = [STAFF_API, submit_json, export_survey_answers]
