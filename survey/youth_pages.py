"""The young people's survey pages: the phone survey /s/{slug} (every screen in one page), its
thank-you page and the public results page /r/{slug}. The staff designer is in pages.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.http import DISK_FULL_FORM, DISK_FULL_RETRY, storage_full
from youthvoice.i18n import LANGUAGES
from youthvoice.web import (
    check_youth_form_token,
    offer_languages,
    render,
    request_lang,
    youth_form_token,
)

from . import service
from .models import SurveyCode
from .schemas import Submission
from .writer import writer_of

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
    # One message for an unknown and a used code: whoever tries a code learns nothing more.
    "code_bad": "This code does not work. Check it – each code works once.",
    "code_tries": "Too many tries from here. Wait a few minutes and try again.",
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
            # Only the five ASCII digits are numbers here: "²".isdigit() is true but int("²") fails,
            # and int() of 5 000 digits raises too. Anything else is a clear error later.
            answers[q["key"]] = None if raw == "dk" else (int(raw) if raw in ("1", "2", "3", "4", "5") else raw)
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


async def _render(request: Request, settings: Settings, survey, questions: list[dict], *, form: dict[str, Any],
                  errors: dict[str, str], token: str | None, status: int = 200, code_given: bool = False) -> Response:
    """The whole survey as one page: its screens are sections that CSS shows one at a time
    (`#p1`, `#p2`, … as the address's fragment), so Next, Back, the phone's back button and reload
    move between them without a request: nothing is posted before Send, no screen is a POST to
    resubmit, and no answer travels in a hidden field. After errors every screen is shown at once."""
    screens = screens_of(survey, questions)
    if code_given and screens and screens[0] == [CODE]:
        screens = screens[1:]  # the QR code filled the code in: start with the questions
    elif screens and screens[0] == [CODE]:
        # The code comes first, on its own: checked before any question is shown (issue 17.7).
        screens = screens[:1]
    by_key = {q["key"]: q for q in questions}
    pages = [([by_key[k] for k in keys if k in by_key], CODE in keys) for keys in screens]
    return render(request, "survey/answer.html", status_code=status, youth=True, survey=survey,
                  pages=pages, code_hidden=code_given, paged=not errors,
                  form=form, errors=errors, messages=MESSAGES, by_key=by_key,
                  form_token=token or youth_form_token(settings.secret_key, f"survey:{survey.slug}"))


@get("/s/{slug:str}", include_in_schema=False)
async def answer_page(slug: str, request: Request, db: AsyncSession, settings: Settings, state: State) -> Response:
    survey = await service.open_survey(db, slug, today())
    offer_languages(request, service.offered_languages(survey.questions))  # the language list and choice
    code = request.query_params.get("code", "")[:32]
    errors, status = {}, 200
    if code and survey.access == "code":
        # The QR code filled the code in: check it now, not after the whole survey.
        problem = await _code_error(request, state, db, survey, code)
        if problem:
            errors, status = {CODE: problem}, CODE_STATUS[problem]
    return await _render(request, settings, survey, survey.questions, form={CODE: code}, errors=errors, token=None,
                         status=status, code_given=bool(code) and survey.access == "code" and not errors)


# Checking a code without spending it tells whether it is still unused, so the checks are counted:
# per address (settings.code_check_rate, 50 by default: a class on one school network is about 30 phones)
# and per survey (ten times that), in ten-minute windows.
CODE_CHECK_WINDOW = 600
SURVEY_FACTOR = 10
CODE_STATUS = {MESSAGES["code_missing"]: 422, MESSAGES["code_bad"]: 409, MESSAGES["code_tries"]: 429}


async def _code_error(request: Request, state: State, db: AsyncSession, survey, raw: object) -> str | None:
    """Checks a code before the questions without spending it: the same message for an unknown and
    a used code, and the same count against the limits whatever the answer."""
    code = service.normalise_code(raw) if isinstance(raw, str) else ""
    if not code:
        return MESSAGES["code_missing"]
    rate = state.settings.code_check_rate
    per_address = await state.limiter.hit(request, "code-check", rate, CODE_CHECK_WINDOW)
    per_survey = await state.limiter.hit_key("code-check-survey", str(survey.id), rate * SURVEY_FACTOR,
                                             CODE_CHECK_WINDOW)
    if not (per_address and per_survey):
        return MESSAGES["code_tries"]
    spent = (await db.execute(select(SurveyCode.spent).where(
        SurveyCode.survey_id == survey.id, SurveyCode.code == code))).scalar_one_or_none()
    return None if spent is False else MESSAGES["code_bad"]


@post("/s/{slug:str}", include_in_schema=False, status_code=200)
async def answer_form(slug: str, data: Form, request: Request, state: State) -> Response:
    # No injected dependencies on this path (see submit_json): a session is made only
    # when the survey or a code must be read.
    sessions, settings = state.sessionmaker, state.settings
    day = today()
    survey = await service.open_survey(sessions, slug, day)
    offer_languages(request, service.offered_languages(survey.questions))  # the language list and choice
    questions = survey.questions
    token = data.get("_form")
    code_given = data.get("_code_given") == "1" and survey.access == "code"

    def page(errors: dict[str, str], status: int = 200, tok=token):
        return _render(request, settings, survey, questions, form=data, errors=errors, token=tok,  # type: ignore[arg-type]
                       status=status, code_given=code_given and CODE not in errors)

    nonce = check_youth_form_token(settings.secret_key, f"survey:{slug}", token)
    if nonce is None:
        return await page({"_form": MESSAGES["expired"]}, 400, None)
    if data.get("_go") == "next" and survey.access == "code" and not code_given:
        # "Next" on the code screen: the code is checked, then the questions follow.
        await service.guard_code(request, state, slug)
        async with sessions() as session:
            problem = await _code_error(request, state, session, survey, data.get(CODE))
        if problem:
            if problem != MESSAGES["code_missing"]:
                await service.code_missed(request, state, slug)
            return await page({CODE: problem}, CODE_STATUS[problem])
        code_given = True
        return await page({})
    if data.get("_go") != "send":
        # A language button (or a form from before the one-page survey): the same answers, shown again.
        return await page({})
    answers = form_answers(questions, data)
    # The final submit: everything is checked, then stored in one transaction.
    errors = check_questions(questions, answers)
    if errors:
        # Checked against a kept copy of the survey: read it again before blaming the answers.
        survey = await service.open_survey(sessions, slug, day, fresh=True)
        questions = survey.questions
        answers = form_answers(questions, data)
        errors = check_questions(questions, answers)
    if survey.access == "code" and CODE not in errors:
        async with sessions() as session:
            problem = await _code_error(request, state, session, survey, data.get(CODE))
            # A spent code may be this very form sent again after a cut connection: then it is thanked.
            # (Asked only then: every extra read holds a connection while a class answers at once.)
            if problem == MESSAGES["code_bad"] and await service.already_received(session, survey.id, nonce):
                return _to_thanks(request, survey.slug, again=True)
        if problem:
            errors[CODE] = problem
    if errors:
        return await page(errors, CODE_STATUS.get(errors.get(CODE), 422) if set(errors) == {CODE} else 422)
    code = data.get(CODE) if isinstance(data.get(CODE), str) else None
    sub = Submission(answers=answers, code=code or None, language=request_lang(request))
    try:
        await service.limit_answers(request, state, slug)
        if survey.access == "code":
            await service.guard_code(request, state, slug)
        survey, _receipt = await service.submit(sessions, writer_of(state), survey, sub, day, nonce=nonce)
    except FieldError as e:
        key = e.field.removeprefix("answers.")
        if key == CODE:
            await service.code_missed(request, state, slug)
        by_key = {q["key"]: q for q in questions}
        msg = MESSAGES["code_missing"] if key == CODE else message_for(by_key.get(key), e)
        return await page({key: msg}, 422)
    except service.AlreadyReceived:
        return _to_thanks(request, survey.slug, again=True)
    except service.CodeSpent:
        await service.code_missed(request, state, slug)
        return await page({CODE: MESSAGES["code_bad"]}, 409)  # unknown or used: one answer for both
    except Exception as e:
        if not storage_full(e):
            raise
        # Nothing was stored (the code is not spent): the answers stay on the page, to send again.
        full = await page({"_form": DISK_FULL_FORM}, 503)
        full.headers["Retry-After"] = DISK_FULL_RETRY
        return full
    # Post/redirect/get: the thank-you page has its own address, so reload and back never resend.
    return _to_thanks(request, survey.slug)


def _to_thanks(request: Request, slug: str, again: bool = False) -> Redirect:
    # No receipt travels to the page: nothing on the screen a watching facilitator could match to an answer.
    query = [("again", "1")] if again else []
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        query.append(("lang", lang))
    return Redirect(f"/s/{slug}/thanks" + ("?" + urlencode(query) if query else ""), status_code=303)


@get("/s/{slug:str}/thanks", include_in_schema=False)
async def thanks_get(slug: str, request: Request, db: AsyncSession) -> Response:
    """The thank-you page as a page of its own: reload, back and a language switch stay here."""
    survey = await service.open_survey(db, slug, today())
    again = request.query_params.get("again") == "1"
    # The same page after every answer: rendered once per survey, language and case.
    return render(request, "survey/thanks.html", youth=True, memo=("thanks", survey.slug, survey.shared_device, again),
                  survey=survey, results_url=service.results_url(survey.slug), again=again)



@get("/r/{slug:str}", include_in_schema=False)
async def results_page(slug: str, request: Request, db: AsyncSession, settings: Settings,
                       survey_results: Any) -> Response:
    # survey_results: the published figures of a survey, provided by the app factory from analysis
    # (survey does not import analysis: analysis reads survey).
    survey = await service.public_survey(db, slug)
    res = await survey_results(db, survey, settings.min_cell)
    return render(request, "survey/results.html", youth=True, survey=survey, res=res, min_cell=settings.min_cell)
