"""Workshop pages for phones, no JavaScript needed: the room (/w/{code}) with joining, writing and voting,
the feedback after close with replies and e-mail nudges, and the public 'you said, we did' page (/u/{unit})."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from icalendar import Calendar, Event
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice import ratelimit
from youthvoice.codes import format_code, normalise_code
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.http import DISK_FULL_FORM, DISK_FULL_RETRY, storage_full
from youthvoice.i18n import LANGUAGES, N_
from youthvoice.models import Unit
from youthvoice.web import base_url, check_youth_form_token, limit, render, request_lang, translator, youth_form_token

from . import feedback, live, service, statements, subscriptions, views
from .models import Participant, Workshop

ROOM_COOKIE = "yv_w"
MANY_REQUESTS = "Too many requests from here right now. Wait a minute and try again."


# ====================== phone room (no JavaScript needed) ======================

def _room_purpose(ws: Workshop) -> str:
    return f"workshop:{ws.code}"


async def _room(request: Request, db: AsyncSession, settings: Settings, ws: Workshop, *, status: int = 200,
                errors: dict[str, str] | None = None, form: dict[str, Any] | None = None) -> Response:
    if ws.status == "closed":
        return await _feedback(request, db, settings, ws, status=status)
    token = request.cookies.get(ROOM_COOKIE)
    me = await service.participant_for(db, ws, token)
    unit = await db.get(Unit, ws.unit_id)
    shown = await views.statement_views(db, ws, me=me, room=True, min_share=unit.release_min_share) if me else []
    return render(request, "workshops/room.html", youth=True, ws=ws, me=me, statements=shown,
                  errors=errors or {}, form=form or {}, status_code=status,
                  rejoin_code=format_code(mine) if (mine := service.rejoin_code_in(ws, me, token)) else None,
                  form_token=youth_form_token(settings.secret_key, _room_purpose(ws)))


def _room_cookie(request: Request, settings: Settings, token: str, code: str) -> Cookie:
    # Random, only for this room's path, gone with the browser session. It carries the personal
    # rejoin code after the token, so the room can show it again (only its hash is stored).
    # Path /w: it still works when staff give the room a new code (the token names its room in the database).
    return Cookie(key=ROOM_COOKIE, value=f"{token}.{code}", path="/w", httponly=True, samesite="lax",
                  secure=settings.secure_cookies or request.url.scheme == "https")


@get("/", include_in_schema=False)
async def enter_code(request: Request, db: AsyncSession) -> Response:
    code = request.query_params.get("code")
    if code:
        # A wrong code is told here, in the page's language, with the code kept to correct it.
        try:
            ws = await service.room_by_code(request, db, code)  # counted like every code lookup
        except NotFoundException as e:
            return render(request, "workshops/enter.html", youth=True, status_code=404, code=code[:40],
                          error=str(e.detail).split(": ", 1)[-1])
        lang = request.query_params.get("lang")
        return Redirect(f"/w/{ws.code}" + (f"?lang={lang}" if lang in LANGUAGES else ""))
    return render(request, "workshops/enter.html", youth=True)


@get("/{code:str}", include_in_schema=False)
async def room(code: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    ws = await service.room_by_code(request, db, code)
    if ws.code != code:
        lang = request.query_params.get("lang")  # the page's language goes along
        return Redirect(f"/w/{ws.code}" + (f"?lang={lang}" if lang in LANGUAGES else ""))
    return await _room(request, db, settings, ws)


async def _room_post(code: str, request: Request, db: AsyncSession, settings: Settings, data: dict,
                     need_participant: bool = True) -> tuple[Workshop, Participant | None, Response | None]:
    ws = await service.room_by_code(request, db, code)
    if check_youth_form_token(settings.secret_key, _room_purpose(ws), data.get("_form")) is None:
        return ws, None, await _room(request, db, settings, ws, status=400,
                                     errors={"_form": "The page was open too long. Please try again."})
    me = await service.participant_for(db, ws, request.cookies.get(ROOM_COOKIE))
    if need_participant and me is None:
        return ws, None, await _room(request, db, settings, ws, status=403,
                                     errors={"_form": "Join the workshop first."})
    return ws, me, None


def _back(ws: Workshop, anchor: str = "") -> Response:
    return Redirect(f"/w/{ws.code}{anchor}", status_code=303)


async def _run(request, db, settings, ws, data, fn) -> Response | None:
    """Runs a change; a 4xx becomes the room page with the message, never a 500."""
    ws_id = ws.id  # a failed write expires every object of the session, this too
    try:
        await fn()
        # Committed here, not after the handler: a disk that fills at the commit (where SQLite writes
        # its log) still finds the form to give back with what was typed.
        await db.commit()
    except FieldError as e:
        ws = await service.reload(db, ws)
        return await _room(request, db, settings, ws, status=422, errors={e.field: e.message}, form=data)
    except service.Conflict as e:
        ws = await service.reload(db, ws)
        msg = str(e.detail).split(": ", 1)[-1]
        return await _room(request, db, settings, ws, status=409, errors={"_form": msg}, form=data)
    except Exception as e:
        if not storage_full(e):
            raise
        # Nothing was stored: what was typed stays in the form, to send again in a minute.
        db.expunge_all()
        await db.rollback()
        ws = await db.get(Workshop, ws_id)
        page = await _room(request, db, settings, ws, status=503, errors={"_form": DISK_FULL_FORM}, form=data)
        page.headers["Retry-After"] = DISK_FULL_RETRY
        return page
    return None


@post("/{code:str}/join", include_in_schema=False, status_code=200)
async def join_form(code: str, data: Form, request: Request, db: AsyncSession, settings: Settings) -> Response:
    # Presses from one address are counted first, before the request reads anything (see
    # service.limit_joins); the seats taken from it are only read, once the phone is known to need one.
    await limit(request, "workshop", settings.submit_rate * 4, MANY_REQUESTS)
    ws, me, bad = await _room_post(code, request, db, settings, data, need_participant=False)
    if bad:
        return bad
    if me is not None:  # this browser is in the room already: no second seat
        return Redirect(f"/w/{ws.code}", status_code=303)
    await service.limit_joins(request, ws, code)
    nickname = data.get("nickname") if isinstance(data.get("nickname"), str) else None
    try:
        token, rejoin_code = await service.join_with_rejoin_code(db, ws, nickname)
        await feedback.note_language(db, ws, request_lang(request))
        await service.count_join(request, db, code)
    except service.Full:
        return render(request, "workshops/full.html", youth=True, ws=ws, status_code=409,
                      form_token=youth_form_token(settings.secret_key, _room_purpose(ws)))
    except service.Conflict:
        return await _room(request, db, settings, ws)
    # Back to the room's own address (so reloads and live updates fetch /w/{code}), with the cookie.
    return Redirect(f"/w/{ws.code}", status_code=303, cookies=[_room_cookie(request, settings, token, rejoin_code)])


@post("/{code:str}/rejoin", include_in_schema=False, status_code=200)
async def rejoin_form(code: str, data: Form, request: Request, db: AsyncSession, settings: Settings) -> Response:
    """A phone that lost its cookie types its personal code and is the same participant again:
    the count and the approval bar stay as they were."""
    # Counted before the request reads anything (see service.limit_joins); wrong codes are counted per
    # address and per room as well (service.rejoin_guarded).
    await limit(request, "workshop-rejoin", settings.submit_rate, MANY_REQUESTS)
    ws, _, bad = await _room_post(code, request, db, settings, data, need_participant=False)
    if bad:
        return bad
    raw = data.get("rejoin") if isinstance(data.get("rejoin"), str) else ""
    try:
        token, rejoin_code = await service.rejoin_guarded(request, db, ws, raw)
    except FieldError as e:
        return await _room(request, db, settings, ws, status=422, errors={e.field: e.message}, form=data)
    except service.Conflict:
        return await _room(request, db, settings, ws, status=409)
    return Redirect(f"/w/{ws.code}", status_code=303, cookies=[_room_cookie(request, settings, token, rejoin_code)])


@post("/{code:str}/statements", include_in_schema=False, status_code=200)
async def write_form(code: str, data: Form, request: Request, db: AsyncSession, settings: Settings) -> Response:
    # Counted before the request reads anything (see service.limit_joins).
    await limit(request, "workshop", settings.submit_rate * 4, MANY_REQUESTS)
    ws, me, bad = await _room_post(code, request, db, settings, data)
    if bad:
        return bad
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    theme = data.get("theme") if isinstance(data.get("theme"), str) else ""
    if len(text) > 1000:
        return await _room(request, db, settings, ws, status=422, form=data,
                           errors={"text": "At most 1000 characters."})
    err = await _run(request, db, settings, ws, data, lambda: statements.add_statement(
        db, ws, text, "participant", author=me, themes=[theme] if theme else []))
    return err or _back(ws, "#write")


@post("/{code:str}/statements/{sid:str}/{action:str}", include_in_schema=False, status_code=200)
async def statement_form(code: str, sid: str, action: str, data: Form, request: Request, db: AsyncSession,
                         settings: Settings) -> Response:
    ws, me, bad = await _room_post(code, request, db, settings, data)
    if bad:
        return bad
    assert me is not None
    st = await service.statement_of(db, ws, sid)
    if action == "support":
        fn = lambda: statements.toggle_support(db, ws, st, me)
    elif action == "take-back":
        fn = lambda: statements.take_back(db, ws, st, me)
    elif action == "edit":
        text = data.get("text") if isinstance(data.get("text"), str) else ""

        async def fn():
            if st.author_id != me.id:
                raise FieldError("statement", "You can only change your own statements.")
            if len(text) > 1000:
                raise FieldError("text", "At most 1000 characters.")
            await statements.revise(db, ws, st, text, "participant")
    elif action == "vote":
        fn = lambda: statements.cast_vote(db, ws, st, me, str(data.get("vote", "")))
    else:
        raise NotFoundException("action: unknown")
    err = await _run(request, db, settings, ws, data, fn)
    return err or _back(ws, f"#s-{sid}")


# ====================== feedback after close: timeline, replies, nudges ======================

# What a young person sees when a feedback form is refused, in the page's language (English msgids).
FEEDBACK_MESSAGES = {
    "reply_code": N_("That is not a reply code from this workshop. Check the code you saved when the workshop ended."),
    "kind": N_("Choose what you want to say."),
    "text": N_("At most 500 characters."),
    "email": N_("Write an e-mail address like name@example.se."),
    "reply": N_("The time for replies to this answer has ended."),
    "follow": N_("This statement has its final answer, so there will be no more news."),
    "_form": N_("The page was open too long. Please try again."),
    "follow_limit": N_("Too many e-mail addresses were left from here for this statement today. Try again tomorrow."),
    "full": N_("Too many people already follow this statement by e-mail. Come back to this page to see the news."),
}


def _feedback_purpose(ws: Workshop) -> str:
    return f"feedback:{ws.code}"


async def _feedback(request: Request, db: AsyncSession, settings: Settings, ws: Workshop, *, status: int = 200,
                    errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                    notice: str | None = None) -> Response:
    """The feedback page (`/w/{code}` after close): every released statement with its timeline."""
    await subscriptions.purge_subscriptions(db)
    shown = await views.statement_views(db, ws, released_only=True)
    mine = await feedback.my_reply_code(db, ws, settings.secret_key, request.cookies.get(ROOM_COOKIE))
    response = render(request, "workshops/feedback.html", youth=True, ws=ws, statements=shown,
                  timelines=await feedback.timelines(db, [v.id for v in shown]), until=service.feedback_until(ws),
                  reply_code=format_code(mine) if mine else None, mail=settings.mail_enabled,
                  contact=settings.contact_email, complaint=settings.complaint_route or settings.contact_email,
                  errors=errors or {}, form=form or {}, notice=notice, status_code=status, today=service.today(),
                  form_token=youth_form_token(settings.secret_key, _feedback_purpose(ws)))
    return response


async def _feedback_post(code: str, request: Request, db: AsyncSession, settings: Settings,
                         data: dict) -> tuple[Workshop, Response | None]:
    # Counted before the request reads anything (see service.limit_joins).
    await limit(request, "workshop", settings.submit_rate, MANY_REQUESTS)
    ws = await service.room_by_code(request, db, code)
    if check_youth_form_token(settings.secret_key, _feedback_purpose(ws), data.get("_form")) is None:
        if ws.status != "closed":
            return ws, await _room(request, db, settings, ws, status=400, errors={"_form": FEEDBACK_MESSAGES["_form"]})
        return ws, await _feedback(request, db, settings, ws, status=400, errors={"_form": FEEDBACK_MESSAGES["_form"]})
    if ws.status != "closed":
        return ws, Redirect(f"/w/{ws.code}", status_code=303)
    return ws, None


def field_str(data: dict, key: str) -> str:
    v = data.get(key)
    return v if isinstance(v, str) else ""


@post("/{code:str}/replies/{sid:str}", include_in_schema=False, status_code=200)
async def reply_form(code: str, sid: str, data: Form, request: Request, db: AsyncSession, settings: Settings,
                     scrub: Callable[[str], str]) -> Response:
    """The young people answer back, with the workshop code (the address) and their reply code."""
    ws, bad = await _feedback_post(code, request, db, settings, data)
    if bad:
        return bad
    form = {"sid": sid, **{k: field_str(data, k) for k in ("reply_code", "kind", "text")}}
    try:
        await feedback.add_reply(db, ws, sid, settings.secret_key, form["reply_code"], form["kind"], form["text"],
                                 request_lang(request), scrub)
    except feedback.ReplyRefused:
        ws = await service.reload(db, ws)
        return await _feedback(request, db, settings, ws, status=403, form=form,
                               errors={f"{sid}:reply_code": FEEDBACK_MESSAGES["reply_code"]})
    except FieldError as e:
        ws = await service.reload(db, ws)
        return await _feedback(request, db, settings, ws, status=422, form=form,
                               errors={f"{sid}:{e.field}": FEEDBACK_MESSAGES.get(e.field, FEEDBACK_MESSAGES["kind"])})
    except service.Conflict:
        ws = await service.reload(db, ws)
        return await _feedback(request, db, settings, ws, status=409, form=form,
                               errors={f"{sid}:kind": FEEDBACK_MESSAGES["reply"]})
    return Redirect(f"/w/{ws.code}#s-{sid}", status_code=303)


@get("/{code:str}/replies/{sid:str}", include_in_schema=False)
async def reply_address(code: str, sid: str) -> Redirect:
    """The reply form's address opened on its own (a refused reply reloaded, copied or bookmarked):
    the statement on the feedback page, not an error."""
    anchor = f"#s-{sid}" if len(sid) == 32 and all(c in "0123456789abcdef" for c in sid) else ""
    room = "".join(c for c in normalise_code(code) if c.isascii() and c.isalnum())  # only a code, never elsewhere
    return Redirect(f"/w/{room}{anchor}", status_code=303)


@post("/{code:str}/follow/{sid:str}", include_in_schema=False, status_code=200)
async def follow_form(code: str, sid: str, data: Form, request: Request, db: AsyncSession,
                      settings: Settings) -> Response:
    """Leave an e-mail address to be told when the statement gets a new entry (only with mail set up)."""
    # Counted before the request reads anything (see service.limit_joins).
    within = await request.app.state.limiter.hit(request, "workshop-follow", subscriptions.FOLLOWS_PER_ADDRESS,
                                                 subscriptions.FOLLOW_WINDOW, f"{service.normalise_code(code)}:{sid}")
    ws, bad = await _feedback_post(code, request, db, settings, data)
    if bad:
        return bad
    if not settings.mail_enabled:
        raise NotFoundException("email: this service sends no e-mail")
    if not within:
        page = await _feedback(request, db, settings, ws, status=429, form={"sid": sid},
                               errors={f"{sid}:email": FEEDBACK_MESSAGES["follow_limit"]})
        page.headers["Retry-After"] = str(subscriptions.FOLLOW_WINDOW - ratelimit.clock() % subscriptions.FOLLOW_WINDOW)
        return page
    try:
        await subscriptions.subscribe(db, ws, sid, settings.secret_key, field_str(data, "email"), request_lang(request))
    except FieldError:
        ws = await service.reload(db, ws)
        # The address typed is not shown again: it stays only in the young person's own browser field.
        return await _feedback(request, db, settings, ws, status=422, form={"sid": sid},
                               errors={f"{sid}:email": FEEDBACK_MESSAGES["email"]})
    except service.Conflict as e:
        ws = await service.reload(db, ws)
        message = FEEDBACK_MESSAGES["full" if isinstance(e, subscriptions.Full) else "follow"]
        return await _feedback(request, db, settings, ws, status=409, form={"sid": sid},
                               errors={f"{sid}:email": message})
    return await _feedback(request, db, settings, ws, notice=sid)


@get("/{code:str}/unsubscribe/{token:str}", include_in_schema=False)
async def unsubscribe_page(code: str, token: str, request: Request, db: AsyncSession,
                           settings: Settings) -> Response:
    """From the link in every message: one button stops the messages (a link checker that only
    opens links does not unsubscribe anybody)."""
    ws = await service.room_by_code(request, db, code)
    if not subscriptions.unsubscribe_link_ok(settings.secret_key, token):
        raise NotFoundException("token: this link is not valid")
    return render(request, "workshops/unsubscribe.html", youth=True, ws=ws, token=token, done=False,
                  form_token=youth_form_token(settings.secret_key, _feedback_purpose(ws)))


@post("/{code:str}/unsubscribe/{token:str}", include_in_schema=False, status_code=200)
async def unsubscribe_form(code: str, token: str, request: Request, db: AsyncSession,
                           settings: Settings) -> Response:
    """Deletes the address at once. Also the target of mail programs' one-click unsubscribe
    (RFC 8058), which posts without our form token: the MAC in the link is what proves it."""
    ws = await service.room_by_code(request, db, code)
    if not subscriptions.unsubscribe_link_ok(settings.secret_key, token):
        raise NotFoundException("token: this link is not valid")
    await subscriptions.unsubscribe(db, settings.secret_key, token)
    # The same answer whether or not the address was still there (a second click, a mail program's
    # own unsubscribe button): nothing to learn from it.
    return render(request, "workshops/unsubscribe.html", youth=True, ws=ws, token=token, done=True)


@get("/{code:str}/calendar/{sid:str}", include_in_schema=False)
async def calendar_file(code: str, sid: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    """The promised date of the next update as a calendar event (.ics); no address needed."""
    ws = await service.room_by_code(request, db, code)
    st = await service.statement_of(db, ws, sid)
    if not st.released or st.promised_on is None:
        raise NotFoundException("statement: no promised date for this statement")
    lang = request_lang(request)
    _ = translator(lang)
    cal = Calendar()
    cal.add("prodid", "-//youthvoice//workshop feedback//SV")
    cal.add("version", "2.0")
    ev = Event()
    ev.add("uid", f"{st.id}-{st.promised_on.isoformat()}@youthvoice")
    ev.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    ev.add("dtstart", st.promised_on)
    ev.add("dtend", st.promised_on + dt.timedelta(days=1))
    ev.add("summary", _("Promised answer: %(title)s") % {"title": ws.title})
    ev.add("description", f"{st.text}\n\n" + _("See what happened: %(url)s") % {
        "url": f"{base_url(settings, request)}/w/{ws.code}#s-{st.id}"})
    ev.add("url", f"{base_url(settings, request)}/w/{ws.code}#s-{st.id}")
    ev.add("transp", "TRANSPARENT")
    cal.add_component(ev)
    return Response(cal.to_ical(), media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="next-update-{ws.code}.ics"', "Cache-Control": "no-store"})


# ====================== feedback: public unit page ======================

@get("/u/{slug:str}", include_in_schema=False)
async def unit_page(slug: str, request: Request, db: AsyncSession, settings: Settings,
                    next_release: Any) -> Response:
    """"You said, we did": released statements, their status and the answers, and when the unit's
    survey figures are next published."""
    unit = await views.unit_by_slug(db, slug)
    await subscriptions.purge_subscriptions(db)
    shown = await views.released_in(db, {unit.id})
    tls = await feedback.timelines(db, [v.id for _, vs in shown for v in vs])
    return render(request, "workshops/unit.html", youth=True, unit=unit, workshops=shown, timelines=tls,
                  next_release=await next_release(db, {unit.id}, service.today()), contact=settings.contact_email,
                  complaint=settings.complaint_route or settings.contact_email)


ROOM = Router(path="/w", route_handlers=[
    live.events, enter_code, room, join_form, rejoin_form, write_form, statement_form, reply_form, reply_address, follow_form,
    unsubscribe_page, unsubscribe_form, calendar_file,
])
