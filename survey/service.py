"""Survey logic without HTTP: definitions, versions, codes, validation, anonymous submission."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, TooManyRequestsException
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice import text as text_rules
from youthvoice.clock import month_of
from youthvoice.codes import format_code, normalise_code, random_code
from youthvoice.db import random_id
from youthvoice.errors import FieldError
from youthvoice.i18n import LANGUAGES
from youthvoice.models import Unit

from . import live as live_surveys
from .live import Db, LiveSurvey, open_survey
from .models import Response, ResponseIntake, SubmissionNonce, Survey, SurveyCode, SurveyVersion
from .schemas import GENDERS, QuestionDef, Submission, SurveyDef
from .writer import AlreadyReceived, AnswerWriter, CodeSpent, Pending, Stale, nonce_hash  # noqa: F401  (routes catch them here)

TEXT_MAX = 1000
# One-time codes in the shared alphabet (youthvoice/codes.py). 24^10 ≈ 6.3·10^13 codes: with 2 000
# live codes of one survey and at most SURVEY_CODE_MISSES wrong tries per ten minutes, a guess succeeds
# about once in 3 000 years (RELIABILITY.md). Codes printed before (8 characters) stay valid.
CODE_LEN = 10


# ---------- definitions ----------

def check_definition(defn: SurveyDef) -> None:
    if defn.closes < defn.opens:
        raise FieldError("closes", "must be on or after opens")
    if "sv" not in defn.title or not defn.title["sv"].strip():
        raise FieldError("title", "a Swedish title (sv) is required")
    check_questions(defn.questions)


def check_questions(questions: list[QuestionDef]) -> None:
    seen: set[str] = set()
    goals: set[str] = set()
    roles: set[str] = set()
    for i, q in enumerate(questions):
        where = f"questions[{i}]"
        if q.key in seen:
            raise FieldError(f"{where}.key", f"'{q.key}' is used twice")
        seen.add(q.key)
        if not q.text.get("sv", "").strip():
            raise FieldError(f"{where}.text", "a Swedish text (sv) is required")
        for lang in q.text:
            if lang not in LANGUAGES:
                raise FieldError(f"{where}.text", f"unknown language '{lang}'")
        if q.kind in ("choice", "multi"):
            if not q.options or len(set(q.options)) != len(q.options):
                raise FieldError(f"{where}.options", "choice questions need distinct options")
        elif q.options:
            raise FieldError(f"{where}.options", f"a {q.kind} question has no options")
        if q.goal:
            if q.kind != "likert5":
                raise FieldError(f"{where}.goal", "goal questions must be likert5")
            if q.goal in goals:
                raise FieldError(f"{where}.goal", f"only one question may measure '{q.goal}'")
            goals.add(q.goal)
        if q.role:
            if q.kind != "choice":
                raise FieldError(f"{where}.role", "background questions must be choice questions")
            if q.role in roles:
                raise FieldError(f"{where}.role", f"only one question may have role '{q.role}'")
            roles.add(q.role)
            if q.role == "gender" and not set(q.options or ()) <= set(GENDERS):
                raise FieldError(f"{where}.options", f"gender options must be among {', '.join(GENDERS)}")


def slugify(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", norm).strip("-")[:40] or "enkat"


async def create_survey(db: AsyncSession, unit: Unit, defn: SurveyDef) -> Survey:
    check_definition(defn)
    survey = Survey(unit_id=unit.id, slug=f"{slugify(defn.title['sv'])}-{secrets.token_hex(3)}",
                    title=dict(defn.title), opens=defn.opens, closes=defn.closes, access=defn.access,
                    shared_device=defn.shared_device, status="draft", current_version=1, actions={})
    db.add(survey)
    await db.flush()
    db.add(SurveyVersion(survey_id=survey.id, number=1, questions=msgspec.to_builtins(defn.questions)))
    await db.flush()
    return survey


async def get_survey(db: AsyncSession, survey_id: int, unit_ids: set[int]) -> Survey:
    survey = await db.get(Survey, survey_id)
    if survey is None or survey.unit_id not in unit_ids:
        raise NotFoundException("survey: not found")
    return survey


async def current_version(db: AsyncSession, survey: Survey) -> SurveyVersion:
    return (await db.execute(select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.number == survey.current_version))).scalar_one()


def missing_languages(q: dict) -> list[str]:
    """Languages one question cannot be shown in: its text, or the text of an answer the unit wrote
    itself, is missing. Background answers are translated in the catalogues (opt:<value>)."""
    missing = []
    for lang in LANGUAGES:
        if not (q.get("text") or {}).get(lang, "").strip() or any(not (texts or {}).get(lang, "").strip() for texts in (q.get("option_text") or {}).values()):
            missing.append(lang)
    return missing


def offered_languages(questions: list[dict]) -> list[str]:
    """The languages a survey is offered in: those every question has (always Swedish, which every
    question must have). A half-translated survey would show a young person Swedish between their own
    language's questions, so an incomplete language is not offered at all."""
    missing = {lang for q in questions for lang in missing_languages(q)}
    return [lang for lang in LANGUAGES if lang == "sv" or lang not in missing]


def check_languages(questions: list[dict], languages: list[str]) -> None:
    """Publishing with a language needs every question in it; raises FieldError naming the question."""
    for lang in languages:
        if lang not in LANGUAGES:
            raise FieldError("languages", f"unknown language '{lang}'")
        for i, q in enumerate(questions):
            if lang in missing_languages(q):
                raise FieldError(f"questions[{i}].text", f"question '{q['key']}' has no text in '{lang}'")


async def publish(db: AsyncSession, survey: Survey, languages: list[str] | None = None) -> list[str]:
    """Publishes; returns the languages the survey is offered in. `languages`: those the caller
    means to publish with; each must be complete (FieldError otherwise, nothing changed)."""
    version = await current_version(db, survey)
    check_languages(version.questions, list(languages or []))
    survey.status = "published"
    await db.flush()
    live_surveys.forget()
    return offered_languages(version.questions)


async def make_codes(db: AsyncSession, survey: Survey, count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(random_code(CODE_LEN))
    await db.execute(insert(SurveyCode), [{"survey_id": survey.id, "code": c, "spent": False} for c in codes])
    await db.flush()
    return [format_code(c) for c in sorted(codes)]


# ---------- answering ----------

REMOVED = text_rules.REMOVED
# E-mail addresses, personal identity numbers, phone numbers and names given as names, also behind
# zero-width characters, full-width ＠ and other scripts' digits (youthvoice/text.py); the same
# scrubber cleans workshop statements.
scrub = text_rules.scrub


def clean_answers(questions: list[dict], answers: dict[str, Any]) -> dict[str, Any]:
    """Checks every answer against its question; raises FieldError naming the question."""
    by_key = {q["key"]: q for q in questions}
    for key in answers:
        if key not in by_key:
            raise FieldError(f"answers.{key}", "there is no such question in this survey")
    out: dict[str, Any] = {}
    for key, q in by_key.items():
        value = answers.get(key)
        field = f"answers.{key}"
        kind = q["kind"]
        if value == "" and kind == "likert5":
            # "" is not "don't know" (null is): it would count in n as not achieved.
            raise FieldError(field, "must be a whole number from 1 to 5, or null for don't know")
        if value is None or value == "" or value == []:
            if q.get("required") and not (kind == "likert5" and key in answers):
                raise FieldError(field, "please answer this question")
            if kind == "likert5" and key in answers:
                out[key] = None  # "don't know"
            continue
        if kind == "likert5":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise FieldError(field, "must be a whole number from 1 to 5, or null for don't know")
            out[key] = value
        elif kind == "choice":
            if value not in q["options"]:
                raise FieldError(field, f"must be one of: {', '.join(q['options'])}")
            out[key] = value
        elif kind == "multi":
            if not isinstance(value, list) or not all(isinstance(v, str) and v in q["options"] for v in value):
                raise FieldError(field, f"must be a list of: {', '.join(q['options'])}")
            out[key] = sorted(set(value), key=q["options"].index)
        elif kind == "yesno":
            if not isinstance(value, bool):
                raise FieldError(field, "must be true or false")
            out[key] = value
        elif kind == "text":
            if not isinstance(value, str):
                raise FieldError(field, "must be text")
            if len(value) > TEXT_MAX:
                raise FieldError(field, f"may be at most {TEXT_MAX} characters")
            if "\x00" in value:
                raise FieldError(field, "contains a character that is not allowed (NUL)")
            value = text_rules.clean_user_text(value)
            if value:
                out[key] = value
    return out


def stat_columns(questions: list[dict], answers: dict[str, Any]) -> dict[str, Any]:
    cols: dict[str, Any] = {"gender": None, "age_band": None, "newly_arrived": None, "disability": None,
                            "closer": None, "useful": None}
    for q in questions:
        if q.get("goal") and q["key"] in answers:
            # 0 marks "don't know": it counts in n as not achieved; a skipped question counts nowhere.
            value = answers[q["key"]]
            cols[q["goal"]] = 0 if value is None else value
        if q.get("role"):
            cols[q["role"]] = answers.get(q["key"])
    return cols


def prepare(live: LiveSurvey, sub: Submission, day: dt.date, nonce: str | None = None) -> Pending:
    """Checks an answer against the survey's questions; raises FieldError naming the field."""
    answers = clean_answers(live.questions, sub.answers)
    if not answers:
        # An empty answer would count as a response and in the response rate.
        raise FieldError("answers", "answer at least one question")
    code = normalise_code(sub.code) if sub.code else ""
    if live.access == "code" and not code:
        raise FieldError("code", "enter the code you were given")
    row = dict(id=random_id(), survey_id=live.id, version_id=live.version_id, unit_id=live.unit_id,
               month=month_of(day), language=sub.language if sub.language in LANGUAGES else "sv",
               answers=answers, **stat_columns(live.questions, answers))
    return Pending(row=row, version_number=live.current_version, day=day,
                   code=code if live.access == "code" else "", nonce=nonce)


async def submit(db: Db, writer: AnswerWriter, live: LiveSurvey, sub: Submission, day: dt.date,
                 nonce: str | None = None) -> tuple[LiveSurvey, str]:
    """Stores one anonymous answer in the intake; returns the survey it was checked against and a
    receipt: a random value that is stored nowhere, so it is the key to nothing. The code is spent
    and the answer put in the intake in one transaction (shared with other answers arriving at the
    same moment, writer.py); the release moves the answer on in another, shuffled among the rest. When the survey
    changed since the snapshot, it is read again and the answer checked again (404 once closed)."""
    fresh = False
    for _ in range(3):
        try:
            item = prepare(live, sub, day, nonce)
        except FieldError:
            if fresh:
                raise
            # Perhaps answers to questions changed by another worker a moment ago: check again.
            live, fresh = await open_survey(db, live.slug, day, fresh=True), True
            continue
        # Give back the request's connection while waiting for the writer's: fifty phones at
        # once must not hold the whole pool and leave none for the transaction they wait for.
        if isinstance(db, AsyncSession):
            await db.rollback()
        try:
            await writer.write(item)
            return live, secrets.token_hex(8)
        except Stale:
            live, fresh = await open_survey(db, live.slug, day, fresh=True), True
    raise NotFoundException("survey: no open survey at this address")


# ---------- versions ----------

class NewSeries(Exception):
    """Saving would change a goal question that already has answers: a new series starts."""

    def __init__(self, goals: list[str]):
        super().__init__(", ".join(goals))
        self.goals = goals


def parse_questions(raw: list[dict]) -> list[dict]:
    """Checks a full question list; returns it in its stored form. Raises FieldError."""
    try:
        defs = msgspec.convert(raw, list[QuestionDef])
    except msgspec.ValidationError as e:
        raise FieldError("questions", str(e)) from None
    if not defs:
        raise FieldError("questions", "a survey needs at least one question")
    check_questions(defs)
    return msgspec.to_builtins(defs)


def changed_goals(old: list[dict], new: list[dict]) -> list[str]:
    """Goals whose question changed its kind or Swedish wording, or disappeared: their
    statistics start a new series (the same definition of a series as the analysis
    uses; a fixed translation does not start one)."""
    def series(questions: list[dict]) -> dict[str, tuple[str, str]]:
        return {q["goal"]: (q["kind"], q["text"].get("sv", "")) for q in questions if q.get("goal")}

    before, after = series(old), series(new)
    return sorted(goal for goal, s in before.items() if after.get(goal) != s)


async def has_answers(db: AsyncSession, version_id: int) -> bool:
    """Released or still waiting in the intake: either freezes the version's questions."""
    for table in (Response, ResponseIntake):
        if (await db.execute(select(table.id).where(table.version_id == version_id).limit(1))).first() is not None:
            return True
    return False


async def save_questions(db: AsyncSession, survey: Survey, raw: list[dict], *, confirm_new_series: bool) -> tuple[int, list[str]]:
    """Stores a new question list. While no answer exists the current version is edited;
    after the first answer a new version is made and old answers keep theirs.
    Returns (current version number, goals that start a new series)."""
    new = parse_questions(raw)
    version = await current_version(db, survey)
    if new == version.questions:
        return survey.current_version, []
    if not await has_answers(db, version.id):
        version.questions = new
        await db.flush()
        live_surveys.forget()
        return survey.current_version, []
    series = changed_goals(version.questions, new)
    if series and not confirm_new_series:
        raise NewSeries(series)
    survey.current_version = version.number + 1
    db.add(SurveyVersion(survey_id=survey.id, number=survey.current_version, questions=new))
    await db.flush()
    live_surveys.forget()
    return survey.current_version, series


async def update_settings(db: AsyncSession, survey: Survey, *, title: dict[str, str], opens: dt.date, closes: dt.date,
                          access: str, shared_device: bool) -> None:
    if closes < opens:
        raise FieldError("closes", "must be on or after opens")
    if not (title.get("sv") or "").strip():
        raise FieldError("title", "a Swedish title (sv) is required")
    if access not in ("code", "open"):
        raise FieldError("access", "must be code or open")
    survey.title = {k: v.strip() for k, v in title.items() if k in LANGUAGES and v and v.strip()}
    survey.opens, survey.closes, survey.access, survey.shared_device = opens, closes, access, shared_device
    await db.flush()
    live_surveys.forget()


async def close(db: AsyncSession, survey: Survey) -> None:
    survey.status = "closed"
    await db.flush()
    live_surveys.forget()


async def limit_answers(request, state, slug: str = "") -> None:
    """Answers per address: `submit_rate` a minute to one survey (a class on one school network
    answers together) and twice that to all surveys. Counted in the database, for every worker."""
    limiter, rate = state.limiter, state.settings.submit_rate
    if not await limiter.hit_all(request, [("submit", rate, 60, slug), ("submit-all", rate * 2, 60, "")]):
        raise TooManyRequestsException("Too many answers from here right now. Wait a minute and try again.",
                                       headers={"Retry-After": "60"})


SURVEY_CODE_MISSES = 200  # wrong codes for one survey in ten minutes, from everywhere together


def survey_code_misses(state) -> int:
    # The survey-wide ceiling is ten addresses' worth (200 by default), so raising the per-address limit
    # (a school behind one address, a load test) raises it too; one address alone fills a tenth of it.
    return max(SURVEY_CODE_MISSES, 10 * state.settings.code_miss_limit)


async def guard_code(request, state, slug: str) -> None:
    """Before a survey's code is looked up (see RateLimiter.refuse_guessing)."""
    await state.limiter.refuse_guessing(request, f"survey:{slug}", state.settings.code_miss_limit,
                                        survey_code_misses(state))


async def code_missed(request, state, slug: str) -> None:
    await state.limiter.missed(request, f"survey:{slug}", survey_code_misses(state))


def results_url(survey_slug: str) -> str:
    return f"/r/{survey_slug}"


async def public_survey(db: AsyncSession, slug: str) -> Survey:
    survey = (await db.execute(select(Survey).where(Survey.slug == slug))).scalar_one_or_none()
    if survey is None or survey.status == "draft":
        raise NotFoundException("survey: no results at this address")
    return survey


async def already_received(db: AsyncSession, survey_id: int, nonce: str) -> bool:
    """Whether this form (its once-only value) was already answered: a phone whose connection was
    cut after Send sends the same form again, and must hear "thanks", not "this code does not work"."""
    return (await db.get(SubmissionNonce, nonce_hash(survey_id, nonce))) is not None
