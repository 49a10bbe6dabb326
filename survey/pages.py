"""Survey pages: the phone survey /s/{slug} for young people, the public results page /r/{slug}, and the staff designer under /surveys."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope, audit
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form, parse_form
from youthvoice.i18n import LANGUAGES
from youthvoice.web import (
    base_url,
    check_csrf,
    check_youth_form_token,
    offer_languages,
    qr_svg,
    render,
    request_lang,
    translator,
    youth_form_token,
)

from . import service
from .models import Survey, SurveyCode
from .schemas import KINDS, Submission, SurveyDef
from .standard import standard_questions
from .writer import writer_of

# ---------- from answering.py ----------


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
        if problem:
            errors[CODE] = problem
    if errors:
        return await page(errors, CODE_STATUS.get(errors.get(CODE), 422) if set(errors) == {CODE} else 422)
    await service.limit_answers(request, state, slug)
    code = data.get(CODE) if isinstance(data.get(CODE), str) else None
    sub = Submission(answers=answers, code=code or None, language=request_lang(request))
    if survey.access == "code":
        await service.guard_code(request, state, slug)
    try:
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


# ---------- from results.py ----------

@get("/r/{slug:str}", include_in_schema=False)
async def results_page(slug: str, request: Request, db: AsyncSession, settings: Settings,
                       survey_results: Any) -> Response:
    # survey_results: the published figures of a survey, provided by the app factory from analysis
    # (survey does not import analysis: analysis reads survey).
    survey = await service.public_survey(db, slug)
    res = await survey_results(db, survey, settings.min_cell)
    return render(request, "survey/results.html", youth=True, survey=survey, res=res, min_cell=settings.min_cell)


# ---------- from designer.py ----------

LANGS = list(LANGUAGES)


def _one(form: dict[str, Any], name: str) -> str:
    v = form.get(name)
    if isinstance(v, list):
        v = v[0] if v else ""
    return v.strip() if isinstance(v, str) else ""


def _texts(form: dict[str, Any], prefix: str) -> dict[str, str]:
    return {lang: _one(form, f"{prefix}_{lang}") for lang in LANGS if _one(form, f"{prefix}_{lang}")}


def _date(form: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_one(form, name))
    except ValueError:
        raise FieldError(name, "write a date as YYYY-MM-DD") from None


def missing_langs(texts: dict[str, str] | None) -> list[str]:
    return [lang for lang in LANGS if not (texts or {}).get(lang)]


def _page(request: Request, staff: Scope, template: str, status: int = 200, **ctx: Any) -> Response:
    return render(request, template, status_code=status, missing_langs=missing_langs, kinds=KINDS, langs=LANGS,
                  question_missing=service.missing_languages, **ctx)


async def _editor(request: Request, staff: Scope, db: AsyncSession, survey: Survey, *, status: int = 200,
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
    return _page(request, staff, "survey/edit.html", status, survey=survey, questions=version.questions,
                 answered=answered, unit=unit, error=error, codes_made=n_codes, offered=offered,
                 incomplete=incomplete)


async def _survey(db: AsyncSession, staff: Scope, survey_id: int) -> Survey:
    return await service.get_survey(db, survey_id, staff.unit_ids)


def _back(survey: Survey, anchor: str = "") -> Redirect:
    return Redirect(f"/surveys/{survey.id}{anchor}", status_code=303)


# ---------- list and create ----------

@get("/", include_in_schema=False)
async def survey_list(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                      survey_results: Any) -> Response:
    surveys = list((await db.execute(select(Survey).where(Survey.unit_id.in_(staff.unit_ids or {-1}))
                                     .order_by(Survey.opens.desc(), Survey.id.desc()))).scalars())
    # The published (protected) number of answers from each survey's last release, never an exact count.
    counts = {s.id: (await survey_results(db, s, settings.min_cell))["total"] for s in surveys}
    units = {u.id: u for u in staff.units}
    return _page(request, staff, "survey/list.html", surveys=surveys, counts=counts, units=units,
                 today=today(), error=None)


@post("/", include_in_schema=False, status_code=303)
async def survey_create(request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    unit = staff.unit(_one(data, "unit"))
    title = _one(data, "title_sv")
    if not title:
        raise FieldError("title_sv", "a Swedish title (sv) is required")
    start = today()
    defn = SurveyDef(unit=unit.slug, title={"sv": title}, opens=start, closes=start + dt.timedelta(days=90),
                     questions=msgspec.convert(standard_questions(), list[service.QuestionDef]), access="code")
    survey = await service.create_survey(db, unit, defn)
    return _back(survey)


# ---------- one survey ----------

@get("/{survey_id:int}", include_in_schema=False)
async def survey_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    return await _editor(request, staff, db, await _survey(db, staff, survey_id))


@post("/{survey_id:int}/settings", include_in_schema=False, status_code=303)
async def survey_settings(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    try:
        await service.update_settings(db, survey, title=_texts(data, "title"), opens=_date(data, "opens"),
                                      closes=_date(data, "closes"), access=_one(data, "access"),
                                      shared_device=_one(data, "shared_device") == "1")
    except FieldError as e:  # raised before anything changed
        return await _editor(request, staff, db, survey, status=422, error=f"{e.field}: {e.message}")
    return _back(survey)


@post("/{survey_id:int}/publish", include_in_schema=False, status_code=303)
async def survey_publish(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    offered = service.offered_languages(version.questions)
    missing = [lang for lang in offered if not (survey.title or {}).get(lang)]
    if missing:
        # A young person reading Arabic must not get a survey without a title in Arabic: every language
        # the questions are complete in needs its title too.
        return await _editor(request, staff, db, survey, status=422,
                             error=f"title: {_missing_title(request)} {', '.join(missing)}")
    await service.publish(db, survey)
    return _back(survey)


def _missing_title(request: Request) -> str:
    return translator(request_lang(request))("Write the title in every language before publishing:")


@post("/{survey_id:int}/close", include_in_schema=False, status_code=303)
async def survey_close(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    await service.close(db, survey)
    return _back(survey)


@get("/{survey_id:int}/preview", include_in_schema=False)
async def survey_preview(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    screens = screens_of(survey, version.questions)
    by_key = {q["key"]: q for q in version.questions}
    pages = [([by_key[k] for k in keys if k in by_key], "code" in keys) for keys in screens]
    return _page(request, staff, "survey/preview.html", survey=survey, pages=pages, by_key=by_key)


# ---------- questions ----------

def _question_from_form(data: dict[str, Any], old: dict | None, taken: set[str]) -> dict:
    kind = _one(data, "kind") or (old or {}).get("kind", "")
    if kind not in KINDS:
        raise FieldError("kind", f"must be one of {', '.join(KINDS)}")
    q = copy.deepcopy(old) if old else {}
    q["kind"] = kind
    q["text"] = _texts(data, "text")
    if not q["text"].get("sv"):
        raise FieldError("text_sv", "a Swedish text (sv) is required")
    if old is None:
        key = re.sub(r"[^a-z0-9]+", "_", service.slugify(q["text"]["sv"])).strip("_")[:40] or "q"
        if not key[0].isalpha():
            key = "q_" + key
        base, n = key, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        q["key"] = key
    q["required"] = _one(data, "required") == "1"
    if not q["required"]:
        q.pop("required")
    q.pop("options", None)
    q.pop("option_text", None)
    if kind in ("choice", "multi"):
        if q.get("role") and old and old.get("options"):
            # Background answers are fixed (they feed the breakdowns); their texts are in the catalogues.
            q["options"] = old["options"]
            return q
        options, labels = _options_from_form(data)
        if len(options) < 2:
            raise FieldError("options", "write at least two answers, one per line")
        q["options"] = options
        if not q.get("role"):
            q["option_text"] = labels
    return q


# The Swedish answers field also takes "Swedish | English | Arabic" on one line, as it did
# before there were eight languages (and as older notes and tests write it).
PIPE_LANGS = ("sv", "en", "ar")


def _options_from_form(data: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Answers to choose from: Swedish lines in `options` make the values; line i of
    `options_<lang>` is answer i in that language."""
    options: list[str] = []
    labels: dict[str, dict[str, str]] = {}
    per_lang = {lang: [t.strip() for t in _one(data, f"options_{lang}").splitlines()] for lang in LANGS if lang != "sv"}
    for i, line in enumerate(_one(data, "options").splitlines()):  # line i in every language: one answer
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        value = re.sub(r"[^a-z0-9_-]+", "_", service.slugify(parts[0]).replace("-", "_"))[:64] or "x"
        if value in options:
            continue
        options.append(value)
        texts = {lang: t for lang, t in zip(PIPE_LANGS, parts) if t}
        for lang, rows in per_lang.items():
            if i < len(rows) and rows[i]:
                texts[lang] = rows[i]
        labels[value] = texts
    return options, labels


def _options_text(q: dict) -> dict[str, str]:
    """The answers fields of the question form, per language."""
    out: dict[str, str] = {}
    for lang in LANGS:
        rows = []
        for opt in q.get("options") or []:
            texts = (q.get("option_text") or {}).get(opt) or ({"sv": opt} if lang == "sv" else {})
            rows.append(texts.get(lang, ""))
        out[lang] = "\n".join(rows).rstrip("\n") if any(rows) else ""
    return out


def _options_typed(data: dict[str, Any]) -> dict[str, str]:
    return {lang: _one(data, "options" if lang == "sv" else f"options_{lang}") for lang in LANGS}


async def _save(request: Request, staff: Scope, db: AsyncSession, survey: Survey, questions: list[dict],
                data: dict[str, Any], form_q: dict | None = None) -> Response:
    """Saves a question list; on a goal change with answers, asks first."""
    try:
        await service.save_questions(db, survey, questions, confirm_new_series=_one(data, "confirm") == "1")
    except service.NewSeries as e:
        fields = [(k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])
                  if k not in ("_csrf", "confirm")]
        return _page(request, staff, "survey/confirm.html", status=409, survey=survey, goals=e.goals,
                     fields=fields, action=str(request.url.path))
    except FieldError as e:  # raised before anything changed
        if form_q is not None:
            return _page(request, staff, "survey/question.html", status=422, survey=survey, q=form_q,
                         options_text=_options_text(form_q), error=f"{e.field}: {e.message}",
                         action=str(request.url.path))
        return await _editor(request, staff, db, survey, status=422, error=f"{e.field}: {e.message}")
    return _back(survey, "#questions")


@get("/{survey_id:int}/questions/new", include_in_schema=False)
async def question_new(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    kind = request.query_params.get("kind", "likert5")
    q = {"kind": kind if kind in KINDS else "likert5", "text": {}}
    return _page(request, staff, "survey/question.html", survey=survey, q=q, options_text={}, error=None,
                 action=f"/surveys/{survey.id}/questions")


@post("/{survey_id:int}/questions", include_in_schema=False, status_code=303)
async def question_add(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    questions = copy.deepcopy(version.questions)
    try:
        q = _question_from_form(data, None, {x["key"] for x in questions})
    except FieldError as e:
        draft = {"kind": _one(data, "kind"), "text": _texts(data, "text")}
        return _page(request, staff, "survey/question.html", status=422, survey=survey, q=draft,
                     options_text=_options_typed(data), error=f"{e.field}: {e.message}",
                     action=f"/surveys/{survey.id}/questions")
    return await _save(request, staff, db, survey, [*questions, q], data, form_q=q)


def _find(questions: list[dict], key: str) -> int:
    for i, q in enumerate(questions):
        if q["key"] == key:
            return i
    raise NotFoundException("question: not found")


@get("/{survey_id:int}/questions/{key:str}", include_in_schema=False)
async def question_edit(survey_id: int, key: str, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    q = version.questions[_find(version.questions, key)]
    return _page(request, staff, "survey/question.html", survey=survey, q=q, options_text=_options_text(q),
                 error=None, action=f"/surveys/{survey.id}/questions/{key}")


@post("/{survey_id:int}/questions/{key:str}", include_in_schema=False, status_code=303)
async def question_save(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                        db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    questions = copy.deepcopy(version.questions)
    i = _find(questions, key)
    try:
        questions[i] = _question_from_form(data, questions[i], set())
    except FieldError as e:
        return _page(request, staff, "survey/question.html", status=422, survey=survey, q=questions[i],
                     options_text=_options_typed(data), error=f"{e.field}: {e.message}",
                     action=f"/surveys/{survey.id}/questions/{key}")
    return await _save(request, staff, db, survey, questions, data, form_q=questions[i])


@post("/{survey_id:int}/questions/{key:str}/move", include_in_schema=False, status_code=303)
async def question_move(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                        db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    questions = copy.deepcopy((await service.current_version(db, survey)).questions)
    i = _find(questions, key)
    j = i - 1 if _one(data, "dir") == "up" else i + 1
    if 0 <= j < len(questions):
        questions[i], questions[j] = questions[j], questions[i]
    return await _save(request, staff, db, survey, questions, data)


@post("/{survey_id:int}/questions/{key:str}/delete", include_in_schema=False, status_code=303)
async def question_delete(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    questions = copy.deepcopy((await service.current_version(db, survey)).questions)
    i = _find(questions, key)
    if (questions[i].get("goal") or questions[i].get("role")) and _one(data, "confirm_delete") != "1":
        # An effect goal or a breakdown is measured from this question: ask before it goes.
        return _page(request, staff, "survey/confirm_delete.html", status=409, survey=survey, q=questions[i],
                     action=str(request.url.path))
    del questions[i]
    return await _save(request, staff, db, survey, questions, data)


# ---------- actions shown on the results page ----------

@get("/{survey_id:int}/actions", include_in_schema=False)
async def actions_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                       survey_results: Any) -> Response:
    survey = await _survey(db, staff, survey_id)
    res = await survey_results(db, survey, settings.min_cell)
    return _page(request, staff, "survey/actions.html", survey=survey, res=res, saved=False)


@post("/{survey_id:int}/actions", include_in_schema=False, status_code=303)
async def actions_save(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    texts = _texts(data, "actions")
    if any(len(t) > 5000 for t in texts.values()):
        raise FieldError("actions", "may be at most 5000 characters per language")
    survey.actions = texts
    await audit(db, staff.user, "survey.actions", f"survey {survey.id}")
    await db.flush()
    return Redirect(f"/surveys/{survey_id}/actions", status_code=303)


# ---------- one-time codes ----------

class CodesForm(msgspec.Struct):
    count: Annotated[int, msgspec.Meta(ge=1, le=300)]


@post("/{survey_id:int}/codes", include_in_schema=False, status_code=200)
async def codes_print(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession,
                      settings: Settings) -> Response:
    """Makes N codes and shows them as an A4 sheet of cut-out slips, each with a QR code."""
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    form = parse_form(data, CodesForm, {"count": "write a number from 1 to 300"})
    offered = service.offered_languages((await service.current_version(db, survey)).questions)
    raw = data.get("slip_lang") or ["sv"]
    chosen = [c for c in offered if c in (raw if isinstance(raw, list) else [raw])]
    if not chosen:
        raise FieldError("slip_lang", "choose a language the survey is offered in")
    codes = await service.make_codes(db, survey, form.count)
    base = base_url(settings, request)
    # One language on the slips: the QR code opens the survey in it (?lang=), so the phone needs no choice.
    tail = f"&lang={chosen[0]}" if len(chosen) == 1 and chosen[0] != "sv" else ""
    slips = [(c, qr_svg(f"{base}/s/{survey.slug}?code={c}{tail}", scale=3)) for c in codes]
    return _page(request, staff, "survey/slips.html", survey=survey, slips=slips, base=base, slip_langs=chosen,
                 tr={c: translator(c) for c in chosen})


@get("/{survey_id:int}/poster", include_in_schema=False)
async def poster(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """An A4 poster with QR codes to the survey and to its results page."""
    survey = await _survey(db, staff, survey_id)
    base = base_url(settings, request)
    answer_url, results_url = f"{base}/s/{survey.slug}", f"{base}/r/{survey.slug}"
    return _page(request, staff, "survey/poster.html", survey=survey, answer_url=answer_url, results_url=results_url,
                 answer_qr=qr_svg(answer_url), results_qr=qr_svg(results_url))


DESIGNER = Router(path="/surveys", route_handlers=[
    poster, survey_list, survey_create, survey_edit, survey_settings, survey_publish, survey_close,
    survey_preview, question_new, question_add, question_edit, question_save, question_move, question_delete,
    actions_edit, actions_save, codes_print,
])

ROUTES = [DESIGNER, answer_page, answer_form, thanks_get, results_page]
