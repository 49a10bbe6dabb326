"""The staff designer under /surveys (surveys, actions, codes, poster) and the survey domain's routes.
The question pages are in question_pages.py, the young people's pages in youth_pages.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope, audit
from youthvoice.clock import today
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form, parse_form
from youthvoice.web import (
    base_url,
    check_csrf,
    qr_svg,
    request_lang,
    translator,
)

from . import service
from .designer import back, date_field, editor, field, page, survey_of, texts_of
from .models import Survey
from .question_pages import QUESTION_ROUTES
from .schemas import SurveyDef
from .standard import standard_questions
from .youth_pages import answer_form, answer_page, results_page, screens_of, thanks_get

# ---------- list and create ----------


@get("/", include_in_schema=False)
async def survey_list(request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                      survey_results: Any) -> Response:
    surveys = list((await db.execute(select(Survey).where(Survey.unit_id.in_(staff.unit_ids or {-1}))
                                     .order_by(Survey.opens.desc(), Survey.id.desc()))).scalars())
    # The published (protected) number of answers from each survey's last release, never an exact count.
    counts = {s.id: (await survey_results(db, s, settings.min_cell))["total"] for s in surveys}
    units = {u.id: u for u in staff.units}
    return page(request, "survey/list.html", surveys=surveys, counts=counts, units=units,
                 today=today(), error=None)


@post("/", include_in_schema=False, status_code=303)
async def survey_create(request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    unit = staff.unit(field(data, "unit"))
    title = field(data, "title_sv")
    if not title:
        raise FieldError("title_sv", "a Swedish title (sv) is required")
    start = today()
    defn = SurveyDef(unit=unit.slug, title={"sv": title}, opens=start, closes=start + dt.timedelta(days=90),
                     questions=msgspec.convert(standard_questions(), list[service.QuestionDef]), access="code")
    survey = await service.create_survey(db, unit, defn)
    return back(survey)


# ---------- one survey ----------

@get("/{survey_id:int}", include_in_schema=False)
async def survey_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    return await editor(request, staff, db, await survey_of(db, staff, survey_id))


@post("/{survey_id:int}/settings", include_in_schema=False, status_code=303)
async def survey_settings(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await survey_of(db, staff, survey_id)
    try:
        await service.update_settings(db, survey, title=texts_of(data, "title"), opens=date_field(data, "opens"),
                                      closes=date_field(data, "closes"), access=field(data, "access"),
                                      shared_device=field(data, "shared_device") == "1")
    except FieldError as e:  # raised before anything changed
        return await editor(request, staff, db, survey, status=422, error=f"{e.field}: {e.message}")
    return back(survey)


@post("/{survey_id:int}/publish", include_in_schema=False, status_code=303)
async def survey_publish(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await survey_of(db, staff, survey_id)
    version = await service.current_version(db, survey)
    offered = service.offered_languages(version.questions)
    missing = [lang for lang in offered if not (survey.title or {}).get(lang)]
    if missing:
        # A young person reading Arabic must not get a survey without a title in Arabic: every language
        # the questions are complete in needs its title too.
        return await editor(request, staff, db, survey, status=422,
                             error=f"title: {_missing_title(request)} {', '.join(missing)}")
    await service.publish(db, survey)
    return back(survey)


def _missing_title(request: Request) -> str:
    return translator(request_lang(request))("Write the title in every language before publishing:")


@post("/{survey_id:int}/close", include_in_schema=False, status_code=303)
async def survey_close(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await survey_of(db, staff, survey_id)
    await service.close(db, survey)
    return back(survey)


@get("/{survey_id:int}/preview", include_in_schema=False)
async def survey_preview(survey_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    survey = await survey_of(db, staff, survey_id)
    version = await service.current_version(db, survey)
    screens = screens_of(survey, version.questions)
    by_key = {q["key"]: q for q in version.questions}
    pages = [([by_key[k] for k in keys if k in by_key], "code" in keys) for keys in screens]
    return page(request, "survey/preview.html", survey=survey, pages=pages, by_key=by_key)


# ---------- actions shown on the results page ----------

@get("/{survey_id:int}/actions", include_in_schema=False)
async def actions_edit(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings,
                       survey_results: Any) -> Response:
    survey = await survey_of(db, staff, survey_id)
    res = await survey_results(db, survey, settings.min_cell)
    return page(request, "survey/actions.html", survey=survey, res=res, saved=False)


@post("/{survey_id:int}/actions", include_in_schema=False, status_code=303)
async def actions_save(survey_id: int, request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    survey = await survey_of(db, staff, survey_id)
    texts = texts_of(data, "actions")
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
    survey = await survey_of(db, staff, survey_id)
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
    return page(request, "survey/slips.html", survey=survey, slips=slips, base=base, slip_langs=chosen,
                 tr={c: translator(c) for c in chosen})


@get("/{survey_id:int}/poster", include_in_schema=False)
async def poster(survey_id: int, request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """An A4 poster with QR codes to the survey and to its results page."""
    survey = await survey_of(db, staff, survey_id)
    base = base_url(settings, request)
    answer_url, results_url = f"{base}/s/{survey.slug}", f"{base}/r/{survey.slug}"
    return page(request, "survey/poster.html", survey=survey, answer_url=answer_url, results_url=results_url,
                 answer_qr=qr_svg(answer_url), results_qr=qr_svg(results_url))


DESIGNER = Router(path="/surveys", route_handlers=[
    poster, survey_list, survey_create, survey_edit, survey_settings, survey_publish, survey_close,
    survey_preview, *QUESTION_ROUTES,
    actions_edit, actions_save, codes_print,
])

ROUTES = [DESIGNER, answer_page, answer_form, thanks_get, results_page]
