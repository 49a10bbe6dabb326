"""The phone page /s/{slug}: a few questions per screen, no JavaScript, nothing
stored on the server before the final submit. Answers given so far travel in
hidden fields of the form; language switches re-post the same state."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.web import check_youth_form_token, render, request_lang, youth_form_token
from . import service
from .models import SurveyCode
from .schemas import Submission
from .writer import writer_of

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

PER_SCREEN = 3
CODE = "code"

# Error messages young people see, per kind of problem (English msgids; sv/ar in survey.po).
MESSAGES = {
    "required": "Please answer this question.",
    "likert5": "Choose a number from 1 to 5, or “Don't know”.",
    "choice": "Choose one of the answers.",
    "multi": "Choose among the answers shown.",
    "yesno": "Choose yes or no.",
    "text": "Write text only.",
    "too_long": "Write at most 1000 characters.",
    "code_missing": "Enter the code from your note.",
    "code_unknown": "We do not know this code. Check the letters.",
    "code_spent": "This code has already been used.",
    "expired": "The page was open too long. Please press the button again.",
}


def screens_of(survey, questions: list[dict]) -> list[list[str]]:
    """Screen i lists the question keys shown on it; a code survey starts with the code."""
    keys = [q["key"] for q in questions]
    screens = [keys[i:i + PER_SCREEN] for i in range(0, len(keys), PER_SCREEN)] or [[]]
    if survey.access == "code":
        screens.insert(0, [CODE])
    return screens


def form_answers(questions: list[dict], form: dict[str, Any]) -> dict[str, Any]:
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


def message_for(q: dict | None, err: FieldError) -> str:
    if q is None:
        return MESSAGES["code_missing"] if err.field == CODE else MESSAGES["choice"]
    if err.message.startswith("please answer"):
        return MESSAGES["required"]
    if q["kind"] == "text" and "at most" in err.message:
        return MESSAGES["too_long"]
    return MESSAGES[q["kind"]]


def check_questions(questions: list[dict], answers: dict[str, Any]) -> dict[str, str]:
    """Every problem on a set of questions, as {question key: message id}."""
    errors: dict[str, str] = {}
    for q in questions:
        part = {q["key"]: answers[q["key"]]} if q["key"] in answers else {}
        try:
            service.clean_answers([q], part)
        except FieldError as e:
            errors[q["key"]] = message_for(q, e)
    return errors


def state_fields(form: dict[str, Any], questions: list[dict], shown: list[str]) -> list[tuple[str, str]]:
    """(name, value) pairs for hidden inputs: every answer not on the current screen."""
    out: list[tuple[str, str]] = []
    names = [f"q_{q['key']}" for q in questions if q["key"] not in shown]
    if CODE not in shown:
        names.append(CODE)
    for name in names:
        raw = form.get(name)
        for v in raw if isinstance(raw, list) else [raw]:
            if isinstance(v, str) and v != "":
                out.append((name, v[:service.TEXT_MAX + 10]))
    return out


def _screen_index(form: dict[str, Any], count: int) -> int:
    raw = form.get("_screen")
    try:
        return min(max(int(raw), 0), count - 1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


async def _render(request: Request, settings: Settings, survey, questions: list[dict], *, form: dict[str, Any],
                  screen: int, errors: dict[str, str], token: str | None, status: int = 200) -> Response:
    screens = screens_of(survey, questions)
    screen = min(max(screen, 0), len(screens) - 1)
    shown = screens[screen]
    by_key = {q["key"]: q for q in questions}
    return render(request, "survey/answer.html", status_code=status, youth=True, survey=survey,
                  questions=[by_key[k] for k in shown if k in by_key], show_code=CODE in shown,
                  form=form, errors=errors, messages=MESSAGES, by_key=by_key,
                  hidden=state_fields(form, questions, shown), screen=screen, screens=len(screens),
                  form_token=token or youth_form_token(settings.secret_key, f"survey:{survey.slug}"))


@get("/s/{slug:str}", include_in_schema=False)
async def answer_page(slug: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    survey = await service.open_survey(db, slug, today())
    code = request.query_params.get("code", "")[:32]
    screen = 0
    if code and survey.access == "code":
        screen = 1  # the QR code filled the code in: start with the questions
    return await _render(request, settings, survey, survey.questions, form={CODE: code}, screen=screen,
                         errors={}, token=None)


async def _code_error(db: AsyncSession, survey, raw: object) -> str | None:
    """Checks a code before the questions without spending it."""
    code = service.normalise_code(raw) if isinstance(raw, str) else ""
    if not code:
        return MESSAGES["code_missing"]
    spent = (await db.execute(select(SurveyCode.spent).where(
        SurveyCode.survey_id == survey.id, SurveyCode.code == code))).scalar_one_or_none()
    if spent is None:
        return MESSAGES["code_unknown"]
    return MESSAGES["code_spent"] if spent else None


@post("/s/{slug:str}", include_in_schema=False, status_code=200)
async def answer_form(slug: str, data: Form, request: Request, state: State) -> Response:
    # No injected dependencies on this path (see submit_json): a session is made only
    # when the survey or a code must be read.
    from .routes import limit

    sessions, settings = state.sessionmaker, state.settings
    day = today()
    survey = await service.open_survey(sessions, slug, day)
    questions = survey.questions
    screens = screens_of(survey, questions)
    screen = _screen_index(data, len(screens))
    token = data.get("_form")
    nonce = check_youth_form_token(settings.secret_key, f"survey:{slug}", token)
    if nonce is None:
        return await _render(request, settings, survey, questions, form=data, screen=screen, status=400,
                             errors={"_form": MESSAGES["expired"]}, token=None)
    go = data.get("_go")
    answers = form_answers(questions, data)
    by_key = {q["key"]: q for q in questions}

    def page(at: int, errors: dict[str, str], status: int = 200):
        return _render(request, settings, survey, questions, form=data, screen=at, errors=errors,
                       token=token, status=status)  # type: ignore[arg-type]

    if go == "back":
        return await page(screen - 1, {})
    if go != "send":
        # "next", or a language button (which keeps the screen): check this screen's answers.
        if go != "next":
            return await page(screen, {})
        errors = check_questions([by_key[k] for k in screens[screen] if k in by_key], answers)
        if CODE in screens[screen]:
            async with sessions() as session:
                problem = await _code_error(session, survey, data.get(CODE))
            if problem:
                errors[CODE] = problem
        if errors:
            return await page(screen, errors, 422)
        return await page(screen + 1, {})
    # The final submit: everything is checked again, then stored in one transaction.
    errors = check_questions(questions, answers)
    if errors:
        # Checked against a kept copy of the survey: read it again before blaming the answers.
        survey = await service.open_survey(sessions, slug, day, fresh=True)
        questions = survey.questions
        screens = screens_of(survey, questions)
        answers = form_answers(questions, data)
        by_key.clear()
        by_key.update({q["key"]: q for q in questions})
        errors = check_questions(questions, answers)
    if errors:
        first = next(i for i, keys in enumerate(screens) if set(keys) & set(errors))
        return await page(first, errors, 422)
    limit(request, state, settings)
    code = data.get(CODE) if isinstance(data.get(CODE), str) else None
    sub = Submission(answers=answers, code=code or None, language=request_lang(request))
    try:
        survey, receipt = await service.submit(sessions, writer_of(state), survey, sub, day, nonce=nonce)
    except (FieldError, service.AlreadyReceived, service.CodeSpent) as e:
        return await _after_failed_submit(e, survey, slug, screens, by_key, page, request)
    # On a shared device nothing of this answer stays on screen, not even the receipt.
    return thanks_page(request, survey, None if survey.shared_device else receipt)


RECEIPT_SLOT = "@@rcpt@@"  # as long as the receipt shown (its first 8 characters)


def thanks_page(request: Request, survey, receipt: str | None, again: bool = False) -> Response:
    """The same page after every answer but for the receipt: rendered once per survey,
    language and case (the answering path's largest cost after the framework, BENCHMARKS.md)."""
    from .routes import results_url

    memo = ("thanks", survey.slug, survey.shared_device, again, receipt is not None)
    return render(request, "survey/thanks.html", youth=True, memo=memo,
                  slots={RECEIPT_SLOT: receipt[:8]} if receipt else None, survey=survey,
                  receipt=RECEIPT_SLOT if receipt else None, results_url=results_url(survey.slug), again=again)


async def _after_failed_submit(e: Exception, survey, slug, screens, by_key, page, request) -> Response:

    if isinstance(e, FieldError):
        key = e.field.removeprefix("answers.")
        msg = (MESSAGES["code_missing"] if "enter" in e.message else MESSAGES["code_unknown"]) if key == CODE \
            else message_for(by_key.get(key), e)
        at = next((i for i, keys in enumerate(screens) if key in keys), 0)
        return await page(at, {key: msg}, 422)
    if isinstance(e, service.AlreadyReceived):
        return thanks_page(request, survey, None, again=True)
    return await page(0, {CODE: MESSAGES["code_spent"]}, 409)


ROUTES = [answer_page, answer_form]
