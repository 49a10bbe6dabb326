"""The staff designer under /surveys (surveys, questions, actions, codes, poster) and the survey
domain's routes. The young people's pages are in youth_pages.py."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
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
    qr_svg,
    render,
    request_lang,
    translator,
)

from . import service
from .models import Survey, SurveyCode
from .schemas import KINDS, SurveyDef
from .standard import standard_questions
from .youth_pages import answer_form, answer_page, results_page, screens_of, thanks_get

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


def _page(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
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
    return _page(request, "survey/edit.html", status, survey=survey, questions=version.questions,
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
    return _page(request, "survey/list.html", surveys=surveys, counts=counts, units=units,
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
    return _page(request, "survey/preview.html", survey=survey, pages=pages, by_key=by_key)


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
        return _page(request, "survey/confirm.html", status=409, survey=survey, goals=e.goals,
                     fields=fields, action=str(request.url.path))
    except FieldError as e:  # raised before anything changed
        if form_q is not None:
            return _page(request, "survey/question.html", status=422, survey=survey, q=form_q,
                         options_text=_options_text(form_q), error=f"{e.field}: {e.message}",
                         action=str(request.url.path))
        return await _editor(request, staff, db, survey, status=422, error=f"{e.field}: {e.message}")
    return _back(survey, "#questions")


@get("/{survey_id:int}/questions/new", include_in_schema=False)
async def question_new(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    kind = request.query_params.get("kind", "likert5")
    q = {"kind": kind if kind in KINDS else "likert5", "text": {}}
    return _page(request, "survey/question.html", survey=survey, q=q, options_text={}, error=None,
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
        return _page(request, "survey/question.html", status=422, survey=survey, q=draft,
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
    return _page(request, "survey/question.html", survey=survey, q=q, options_text=_options_text(q),
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
        return _page(request, "survey/question.html", status=422, survey=survey, q=questions[i],
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
        return _page(request, "survey/confirm_delete.html", status=409, survey=survey, q=questions[i],
                     action=str(request.url.path))
    del questions[i]
    return await _save(request, staff, db, survey, questions, data)


# ---------- actions shown on the results page ----------

@get("/{survey_id:int}/actions", include_in_schema=False)
async def actions_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                       survey_results: Any) -> Response:
    survey = await _survey(db, staff, survey_id)
    res = await survey_results(db, survey, settings.min_cell)
    return _page(request, "survey/actions.html", survey=survey, res=res, saved=False)


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
    return _page(request, "survey/slips.html", survey=survey, slips=slips, base=base, slip_langs=chosen,
                 tr={c: translator(c) for c in chosen})


@get("/{survey_id:int}/poster", include_in_schema=False)
async def poster(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """An A4 poster with QR codes to the survey and to its results page."""
    survey = await _survey(db, staff, survey_id)
    base = base_url(settings, request)
    answer_url, results_url = f"{base}/s/{survey.slug}", f"{base}/r/{survey.slug}"
    return _page(request, "survey/poster.html", survey=survey, answer_url=answer_url, results_url=results_url,
                 answer_qr=qr_svg(answer_url), results_qr=qr_svg(results_url))


DESIGNER = Router(path="/surveys", route_handlers=[
    poster, survey_list, survey_create, survey_edit, survey_settings, survey_publish, survey_close,
    survey_preview, question_new, question_add, question_edit, question_save, question_move, question_delete,
    actions_edit, actions_save, codes_print,
])

ROUTES = [DESIGNER, answer_page, answer_form, thanks_get, results_page]
