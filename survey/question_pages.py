"""The designer's question pages under /surveys/{id}/questions: add, edit, move and delete a
question, asking first when an effect goal or a breakdown depends on it."""

from __future__ import annotations

import copy
import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.web import check_csrf

from . import service
from .designer import LANGS, back, editor, field, page, survey_of, texts_of
from .models import Survey
from .schemas import KINDS


def _question_from_form(data: dict[str, Any], old: dict | None, taken: set[str]) -> dict:
    kind = field(data, "kind") or (old or {}).get("kind", "")
    if kind not in KINDS:
        raise FieldError("kind", f"must be one of {', '.join(KINDS)}")
    q = copy.deepcopy(old) if old else {}
    q["kind"] = kind
    q["text"] = texts_of(data, "text")
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
    q["required"] = field(data, "required") == "1"
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
    per_lang = {lang: [t.strip() for t in field(data, f"options_{lang}").splitlines()] for lang in LANGS if lang != "sv"}
    for i, line in enumerate(field(data, "options").splitlines()):  # line i in every language: one answer
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
    return {lang: field(data, "options" if lang == "sv" else f"options_{lang}") for lang in LANGS}


async def _save(request: Request, staff: Scope, db: AsyncSession, survey: Survey, questions: list[dict],
                data: dict[str, Any], form_q: dict | None = None) -> Response:
    """Saves a question list; on a goal change with answers, asks first."""
    try:
        await service.save_questions(db, survey, questions, confirm_new_series=field(data, "confirm") == "1")
    except service.NewSeries as e:
        fields = [(k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])
                  if k not in ("_csrf", "confirm")]
        return page(request, "survey/confirm.html", status=409, survey=survey, goals=e.goals,
                     fields=fields, action=str(request.url.path))
    except FieldError as e:  # raised before anything changed
        if form_q is not None:
            return page(request, "survey/question.html", status=422, survey=survey, q=form_q,
                         options_text=_options_text(form_q), error=f"{e.field}: {e.message}",
                         action=str(request.url.path))
        return await editor(request, staff, db, survey, status=422, error=f"{e.field}: {e.message}")
    return back(survey, "#questions")


async def _editing(request: Request, data: Form, db: AsyncSession, staff: Scope,
                   survey_id: int) -> tuple[Survey, list[dict]]:
    """A change to the questions: the form's token checked, the survey found among the staff member's
    units, and a copy of its current questions to change."""
    check_csrf(request, data)
    survey = await survey_of(db, staff, survey_id)
    return survey, copy.deepcopy((await service.current_version(db, survey)).questions)


@get("/{survey_id:int}/questions/new", include_in_schema=False)
async def question_new(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await survey_of(db, staff, survey_id)
    kind = request.query_params.get("kind", "likert5")
    q = {"kind": kind if kind in KINDS else "likert5", "text": {}}
    return page(request, "survey/question.html", survey=survey, q=q, options_text={}, error=None,
                 action=f"/surveys/{survey.id}/questions")


@post("/{survey_id:int}/questions", include_in_schema=False, status_code=303)
async def question_add(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    survey, questions = await _editing(request, data, db, staff, survey_id)
    try:
        q = _question_from_form(data, None, {x["key"] for x in questions})
    except FieldError as e:
        draft = {"kind": field(data, "kind"), "text": texts_of(data, "text")}
        return page(request, "survey/question.html", status=422, survey=survey, q=draft,
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
    survey = await survey_of(db, staff, survey_id)
    version = await service.current_version(db, survey)
    q = version.questions[_find(version.questions, key)]
    return page(request, "survey/question.html", survey=survey, q=q, options_text=_options_text(q),
                 error=None, action=f"/surveys/{survey.id}/questions/{key}")


@post("/{survey_id:int}/questions/{key:str}", include_in_schema=False, status_code=303)
async def question_save(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                        db: AsyncSession) -> Response:
    survey, questions = await _editing(request, data, db, staff, survey_id)
    i = _find(questions, key)
    try:
        questions[i] = _question_from_form(data, questions[i], set())
    except FieldError as e:
        return page(request, "survey/question.html", status=422, survey=survey, q=questions[i],
                     options_text=_options_typed(data), error=f"{e.field}: {e.message}",
                     action=f"/surveys/{survey.id}/questions/{key}")
    return await _save(request, staff, db, survey, questions, data, form_q=questions[i])


@post("/{survey_id:int}/questions/{key:str}/move", include_in_schema=False, status_code=303)
async def question_move(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                        db: AsyncSession) -> Response:
    survey, questions = await _editing(request, data, db, staff, survey_id)
    i = _find(questions, key)
    j = i - 1 if field(data, "dir") == "up" else i + 1
    if 0 <= j < len(questions):
        questions[i], questions[j] = questions[j], questions[i]
    return await _save(request, staff, db, survey, questions, data)


@post("/{survey_id:int}/questions/{key:str}/delete", include_in_schema=False, status_code=303)
async def question_delete(survey_id: int, key: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    survey, questions = await _editing(request, data, db, staff, survey_id)
    i = _find(questions, key)
    if (questions[i].get("goal") or questions[i].get("role")) and field(data, "confirm_delete") != "1":
        # An effect goal or a breakdown is measured from this question: ask before it goes.
        return page(request, "survey/confirm_delete.html", status=409, survey=survey, q=questions[i],
                     action=str(request.url.path))
    del questions[i]
    return await _save(request, staff, db, survey, questions, data)


QUESTION_ROUTES = [question_new, question_add, question_edit, question_save, question_move, question_delete]
