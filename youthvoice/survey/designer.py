"""The staff designer: HTML pages under /surveys/… to create a survey from the
effect-goal template, edit its questions and texts per language, preview it on a
phone-sized screen, set dates and access, publish and close, write the actions
shown on the results page, and print one-time codes with QR codes."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Annotated, Any

import msgspec
import segno
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.auth import Scope, audit
from ..core.clock import today
from ..core.config import Settings
from ..core.errors import FieldError
from ..core.i18n import LANGUAGES
from ..core.web import check_csrf, render
from . import counts, service
from .answering import screens_of
from .models import Response as Answer
from .models import Survey, SurveyCode
from .schemas import KINDS, SurveyDef
from .standard import standard_questions

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
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
    request.state.staff_user = staff.user
    return render(request, template, status_code=status, missing_langs=missing_langs, kinds=KINDS, langs=LANGS,
                  **ctx)


async def _editor(request: Request, staff: Scope, db: AsyncSession, survey: Survey, *, status: int = 200,
                  error: str | None = None) -> Response:
    version = await service.current_version(db, survey)
    answered = await service.has_answers(db, version.id)
    n_codes = (await db.execute(select(func.count()).select_from(SurveyCode).where(
        SurveyCode.survey_id == survey.id, SurveyCode.spent.is_(False)))).scalar_one()
    unit = next((u for u in staff.units if u.id == survey.unit_id), None)
    return _page(request, staff, "survey/edit.html", status, survey=survey, questions=version.questions,
                 answered=answered, unit=unit, error=error, unspent_codes=n_codes)


async def _survey(db: AsyncSession, staff: Scope, survey_id: int) -> Survey:
    return await service.get_survey(db, survey_id, staff.unit_ids)


def _back(survey: Survey, anchor: str = "") -> Redirect:
    return Redirect(f"/surveys/{survey.id}{anchor}", status_code=303)


# ---------- list and create ----------

@get("/surveys", include_in_schema=False)
async def survey_list(request: Request, staff: Scope, db: AsyncSession) -> Response:
    surveys = list((await db.execute(select(Survey).where(Survey.unit_id.in_(staff.unit_ids or {-1}))
                                     .order_by(Survey.opens.desc(), Survey.id.desc()))).scalars())
    counts = dict((await db.execute(select(Answer.survey_id, func.count()).where(
        Answer.survey_id.in_([s.id for s in surveys] or [-1])).group_by(Answer.survey_id))).all())
    units = {u.id: u for u in staff.units}
    return _page(request, staff, "survey/list.html", surveys=surveys, counts=counts, units=units,
                 today=today(), error=None)


@post("/surveys", include_in_schema=False, status_code=303)
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

@get("/surveys/{survey_id:int}", include_in_schema=False)
async def survey_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    return await _editor(request, staff, db, await _survey(db, staff, survey_id))


@post("/surveys/{survey_id:int}/settings", include_in_schema=False, status_code=303)
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


@post("/surveys/{survey_id:int}/publish", include_in_schema=False, status_code=303)
async def survey_publish(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    await service.publish(db, survey)
    return _back(survey)


@post("/surveys/{survey_id:int}/close", include_in_schema=False, status_code=303)
async def survey_close(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    await service.close(db, survey)
    return _back(survey)


@get("/surveys/{survey_id:int}/preview", include_in_schema=False)
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
        options, labels = [], {}
        for line in _one(data, "options").splitlines():
            parts = [p.strip() for p in line.split("|")]
            if not parts[0]:
                continue
            value = re.sub(r"[^a-z0-9_-]+", "_", service.slugify(parts[0]).replace("-", "_"))[:64] or "x"
            if value in options:
                continue
            options.append(value)
            texts = {lang: t for lang, t in zip(LANGS, parts) if t}
            labels[value] = texts
        if len(options) < 2:
            raise FieldError("options", "write at least two answers, one per line")
        q["options"] = options
        if not q.get("role"):
            q["option_text"] = labels
        elif old and old.get("options"):
            q["options"] = old["options"]  # background answers are fixed: they feed the breakdowns
    return q


def _options_text(q: dict) -> str:
    lines = []
    for opt in q.get("options") or []:
        texts = (q.get("option_text") or {}).get(opt) or {"sv": opt}
        lines.append(" | ".join(texts.get(lang, "") for lang in LANGS).rstrip(" |"))
    return "\n".join(lines)


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


@get("/surveys/{survey_id:int}/questions/new", include_in_schema=False)
async def question_new(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    kind = request.query_params.get("kind", "likert5")
    q = {"kind": kind if kind in KINDS else "likert5", "text": {}}
    return _page(request, staff, "survey/question.html", survey=survey, q=q, options_text="", error=None,
                 action=f"/surveys/{survey.id}/questions")


@post("/surveys/{survey_id:int}/questions", include_in_schema=False, status_code=303)
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
                     options_text=_one(data, "options"), error=f"{e.field}: {e.message}",
                     action=f"/surveys/{survey.id}/questions")
    return await _save(request, staff, db, survey, [*questions, q], data, form_q=q)


def _find(questions: list[dict], key: str) -> int:
    for i, q in enumerate(questions):
        if q["key"] == key:
            return i
    from litestar.exceptions import NotFoundException

    raise NotFoundException("question: not found")


@get("/surveys/{survey_id:int}/questions/{key:str}", include_in_schema=False)
async def question_edit(survey_id: int, key: str, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await _survey(db, staff, survey_id)
    version = await service.current_version(db, survey)
    q = version.questions[_find(version.questions, key)]
    return _page(request, staff, "survey/question.html", survey=survey, q=q, options_text=_options_text(q),
                 error=None, action=f"/surveys/{survey.id}/questions/{key}")


@post("/surveys/{survey_id:int}/questions/{key:str}", include_in_schema=False, status_code=303)
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
                     options_text=_one(data, "options"), error=f"{e.field}: {e.message}",
                     action=f"/surveys/{survey.id}/questions/{key}")
    return await _save(request, staff, db, survey, questions, data, form_q=questions[i])


@post("/surveys/{survey_id:int}/questions/{key:str}/move", include_in_schema=False, status_code=303)
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


@post("/surveys/{survey_id:int}/questions/{key:str}/delete", include_in_schema=False, status_code=303)
async def question_delete(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    questions = copy.deepcopy((await service.current_version(db, survey)).questions)
    del questions[_find(questions, key)]
    return await _save(request, staff, db, survey, questions, data)


# ---------- actions shown on the results page ----------

@get("/surveys/{survey_id:int}/actions", include_in_schema=False)
async def actions_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    survey = await _survey(db, staff, survey_id)
    res = await counts.results(db, survey, settings.min_cell)
    return _page(request, staff, "survey/actions.html", survey=survey, res=res, saved=False)


@post("/surveys/{survey_id:int}/actions", include_in_schema=False, status_code=303)
async def actions_save(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    texts = _texts(data, "actions")
    if any(len(t) > 5000 for t in texts.values()):
        raise FieldError("actions", "may be at most 5000 characters per language")
    survey.actions = texts
    await audit(db, staff.user, "survey.actions", f"survey {survey.id}")
    await db.commit()
    return Redirect(f"/surveys/{survey_id}/actions", status_code=303)


# ---------- one-time codes ----------

def qr_svg(url: str) -> str:
    """An inline SVG QR code without style attributes (the CSP forbids them)."""
    svg = segno.make(url, error="m").svg_inline(scale=3, border=2, omitsize=True, svgclass="qr", lineclass=None,
                                                title=None)
    return svg


@post("/surveys/{survey_id:int}/codes", include_in_schema=False, status_code=200)
async def codes_print(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession,
                      settings: Settings) -> Response:
    """Makes N codes and shows them as an A4 sheet of cut-out slips, each with a QR code."""
    check_csrf(request, data)
    survey = await _survey(db, staff, survey_id)
    raw = _one(data, "count")
    if not raw.isdigit() or not 1 <= int(raw) <= 300:
        raise FieldError("count", "write a number from 1 to 300")
    codes = await service.make_codes(db, survey, int(raw))
    base = settings.base_url or f"{request.url.scheme}://{request.url.netloc}"
    slips = [(c, qr_svg(f"{base}/s/{survey.slug}?code={c}")) for c in codes]
    return _page(request, staff, "survey/slips.html", survey=survey, slips=slips, base=base)


@get("/surveys/{survey_id:int}/poster", include_in_schema=False)
async def poster(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """An A4 poster with QR codes to the survey and to its results page."""
    survey = await _survey(db, staff, survey_id)
    base = settings.base_url or f"{request.url.scheme}://{request.url.netloc}"
    answer_url, results_url = f"{base}/s/{survey.slug}", f"{base}/r/{survey.slug}"
    return _page(request, staff, "survey/poster.html", survey=survey, answer_url=answer_url, results_url=results_url,
                 answer_qr=qr_svg(answer_url), results_qr=qr_svg(results_url))


ROUTES = [poster, survey_list, survey_create, survey_edit, survey_settings, survey_publish, survey_close, survey_preview,
          question_new, question_add, question_edit, question_save, question_move, question_delete,
          actions_edit, actions_save, codes_print]
