"""Workshop pages: the room on a phone (/w/{code}), its live updates, the public 'you said, we did' page (/u/{unit}), and the facilitator's and process leader's pages under /workshops."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import msgspec
from icalendar import Calendar, Event
from litestar import Request, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie, State
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.response import Redirect, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import Scope
from youthvoice.clock import today
from youthvoice.codes import format_code
from youthvoice.config import Settings
from youthvoice.errors import FieldError
from youthvoice.forms import Form
from youthvoice.i18n import LANGUAGES
from youthvoice.models import Unit
from youthvoice.web import (
    base_url,
    check_csrf,
    check_youth_form_token,
    limit,
    qr_svg,
    render,
    request_lang,
    translator,
    youth_form_token,
)

from . import close, feedback, service, statements, subscriptions, views
from .mail import send_nudges
from .models import MAX_PARTICIPANTS, Participant, Statement, Workshop
from .schemas import COMPOSITION_FIELDS, WorkshopDef

# ---------- from room.py ----------

ROOM_COOKIE = "yv_w"
# How often a live stream looks at the change counter, and how long one stream lasts
# (the browser reconnects by itself).
POLL_SECONDS = 1.0
STREAM_SECONDS = 15 * 60

# ====================== live updates ======================

class StreamCaps:
    """Live-update streams open at once in this worker, per room and per address (an address is
    counted by its keyed hash, as in the rate limiter). A seat is given back when its stream ends,
    and in any case once the stream's time is over (a stream never started leaves no seat taken)."""

    def __init__(self) -> None:
        self.seats: dict[int, tuple[int, str, float]] = {}
        self._next = 0

    def take(self, room: int, address: str, per_room: int, per_address: int) -> int | None:
        now = time.monotonic()
        self.seats = {k: v for k, v in self.seats.items() if v[2] > now}
        if sum(1 for r, _, _ in self.seats.values() if r == room) >= per_room or \
                sum(1 for _, a, _ in self.seats.values() if a == address) >= per_address:
            return None
        self._next += 1
        self.seats[self._next] = (room, address, now + STREAM_SECONDS + 30)
        return self._next

    def give_back(self, seat: int) -> None:
        self.seats.pop(seat, None)


STREAMS = StreamCaps()


@get("/{code:str}/events", include_in_schema=False)
async def events(code: str, request: Request, state: State) -> ServerSentEvent:
    """Sends `change` with the room's change counter whenever it moves. The counter
    lives in the database, so a change made through any worker reaches every stream."""
    async with state.sessionmaker() as db:
        ws = await service.room_by_code(request, db, code)
        ws_id = ws.id
    settings = state.settings
    who = state.limiter.digest("stream", state.limiter.address(request))
    seat = STREAMS.take(ws_id, who, settings.streams_per_room, settings.streams_per_address)
    if seat is None:
        raise TooManyRequestsException("Too many live views of this room are open. Reload the page to see "
                                       "what is new.", headers={"Retry-After": "30"})

    async def stream():
        try:
            async for message in changes():
                yield message
        finally:
            STREAMS.give_back(seat)

    async def changes():
        last = None
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        quiet = 0
        while loop.time() < end:
            async with state.sessionmaker() as db:
                cur = await service.current_version(db, ws_id)
            if cur is None:
                yield ServerSentEventMessage(event="gone", data="")
                return
            version, _status = cur
            if version != last:
                last = version
                quiet = 0
                yield ServerSentEventMessage(event="change", data=f"{version}", id=version)
            else:
                quiet += 1
                if quiet * POLL_SECONDS >= 20:
                    quiet = 0
                    yield ServerSentEventMessage(comment="still here")
            await asyncio.sleep(POLL_SECONDS)

    return ServerSentEvent(stream(), retry_duration=2000, headers={"Cache-Control": "no-store",
                                                                   "X-Accel-Buffering": "no"})


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
                  rejoin_code=service.rejoin_code_in(ws, me, token),
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
            ws = await service.by_code(db, code)
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
    try:
        await fn()
    except FieldError as e:
        ws = await service.reload(db, ws)
        return await _room(request, db, settings, ws, status=422, errors={e.field: e.message}, form=data)
    except service.Conflict as e:
        ws = await service.reload(db, ws)
        msg = str(e.detail).split(": ", 1)[-1]
        return await _room(request, db, settings, ws, status=409, errors={"_form": msg}, form=data)
    return None


@post("/{code:str}/join", include_in_schema=False, status_code=200)
async def join_form(code: str, data: Form, request: Request, db: AsyncSession, settings: Settings) -> Response:
    await service.limit_joins(request, code)  # first: see limit_joins
    ws, me, bad = await _room_post(code, request, db, settings, data, need_participant=False)
    if bad:
        return bad
    if me is not None:  # this browser is in the room already: no second seat
        return Redirect(f"/w/{ws.code}", status_code=303)
    nickname = data.get("nickname") if isinstance(data.get("nickname"), str) else None
    try:
        token, rejoin_code = await service.join_with_rejoin_code(db, ws, nickname)
        await feedback.note_language(db, ws, request_lang(request))
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
    ws, _, bad = await _room_post(code, request, db, settings, data, need_participant=False)
    if bad:
        return bad
    limit(request, "workshop-rejoin", settings.submit_rate, "Too many tries from here right now. Wait a minute and try again.")
    raw = data.get("rejoin") if isinstance(data.get("rejoin"), str) else ""
    try:
        token, rejoin_code = await service.rejoin(db, ws, raw)
    except FieldError as e:
        return await _room(request, db, settings, ws, status=422, errors={e.field: e.message}, form=data)
    except service.Conflict:
        return await _room(request, db, settings, ws, status=409)
    return Redirect(f"/w/{ws.code}", status_code=303, cookies=[_room_cookie(request, settings, token, rejoin_code)])


@post("/{code:str}/statements", include_in_schema=False, status_code=200)
async def write_form(code: str, data: Form, request: Request, db: AsyncSession, settings: Settings) -> Response:
    # Counted before the request reads anything (see service.limit_joins).
    await limit(request, "workshop", settings.submit_rate * 4, "Too many requests from here right now. Wait a minute and try again.")
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

def N_(message: str) -> str:
    """Marks a message id for translation where it is defined; the template translates it."""
    return message


# What a young person sees when a feedback form is refused, in the page's language (English msgids).
FEEDBACK_MESSAGES = {
    "reply_code": N_("That is not a reply code from this workshop. Check the code you saved when the workshop ended."),
    "kind": N_("Choose what you want to say."),
    "text": N_("At most 500 characters."),
    "email": N_("Write an e-mail address like name@example.se."),
    "reply": N_("The time for replies to this answer has ended."),
    "follow": N_("This statement has its final answer, so there will be no more news."),
    "_form": N_("The page was open too long. Please try again."),
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
    ws = await service.by_code(db, code)
    limit(request, "workshop", settings.submit_rate, "Too many requests from here right now. Wait a minute and try again.")
    if check_youth_form_token(settings.secret_key, _feedback_purpose(ws), data.get("_form")) is None:
        if ws.status != "closed":
            return ws, await _room(request, db, settings, ws, status=400, errors={"_form": FEEDBACK_MESSAGES["_form"]})
        return ws, await _feedback(request, db, settings, ws, status=400, errors={"_form": FEEDBACK_MESSAGES["_form"]})
    if ws.status != "closed":
        return ws, Redirect(f"/w/{ws.code}", status_code=303)
    return ws, None


def _str(data: dict, key: str) -> str:
    v = data.get(key)
    return v if isinstance(v, str) else ""


@post("/{code:str}/replies/{sid:str}", include_in_schema=False, status_code=200)
async def reply_form(code: str, sid: str, data: Form, request: Request, db: AsyncSession, settings: Settings,
                     scrub: Callable[[str], str]) -> Response:
    """The young people answer back, with the workshop code (the address) and their reply code."""
    ws, bad = await _feedback_post(code, request, db, settings, data)
    if bad:
        return bad
    form = {"sid": sid, **{k: _str(data, k) for k in ("reply_code", "kind", "text")}}
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


@post("/{code:str}/follow/{sid:str}", include_in_schema=False, status_code=200)
async def follow_form(code: str, sid: str, data: Form, request: Request, db: AsyncSession,
                      settings: Settings) -> Response:
    """Leave an e-mail address to be told when the statement gets a new entry (only with mail set up)."""
    ws, bad = await _feedback_post(code, request, db, settings, data)
    if bad:
        return bad
    if not settings.mail_enabled:
        raise NotFoundException("email: this service sends no e-mail")
    try:
        await subscriptions.subscribe(db, ws, sid, settings.secret_key, _str(data, "email"), request_lang(request))
    except FieldError:
        ws = await service.reload(db, ws)
        # The address typed is not shown again: it stays only in the young person's own browser field.
        return await _feedback(request, db, settings, ws, status=422, form={"sid": sid},
                               errors={f"{sid}:email": FEEDBACK_MESSAGES["email"]})
    except service.Conflict:
        ws = await service.reload(db, ws)
        return await _feedback(request, db, settings, ws, status=409, form={"sid": sid},
                               errors={f"{sid}:email": FEEDBACK_MESSAGES["follow"]})
    return await _feedback(request, db, settings, ws, notice=sid)


@get("/{code:str}/unsubscribe/{token:str}", include_in_schema=False)
async def unsubscribe_page(code: str, token: str, request: Request, db: AsyncSession,
                           settings: Settings) -> Response:
    """From the link in every message: one button stops the messages (a link checker that only
    opens links does not unsubscribe anybody)."""
    ws = await service.by_code(db, code)
    if not subscriptions.unsubscribe_link_ok(settings.secret_key, token):
        raise NotFoundException("token: this link is not valid")
    return render(request, "workshops/unsubscribe.html", youth=True, ws=ws, token=token, done=False,
                  form_token=youth_form_token(settings.secret_key, _feedback_purpose(ws)))


@post("/{code:str}/unsubscribe/{token:str}", include_in_schema=False, status_code=200)
async def unsubscribe_form(code: str, token: str, request: Request, db: AsyncSession,
                           settings: Settings) -> Response:
    """Deletes the address at once. Also the target of mail programs' one-click unsubscribe
    (RFC 8058), which posts without our form token: the MAC in the link is what proves it."""
    ws = await service.by_code(db, code)
    if not subscriptions.unsubscribe_link_ok(settings.secret_key, token):
        raise NotFoundException("token: this link is not valid")
    await subscriptions.unsubscribe(db, settings.secret_key, token)
    # The same answer whether or not the address was still there (a second click, a mail program's
    # own unsubscribe button): nothing to learn from it.
    return render(request, "workshops/unsubscribe.html", youth=True, ws=ws, token=token, done=True)


@get("/{code:str}/calendar/{sid:str}", include_in_schema=False)
async def calendar_file(code: str, sid: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    """The promised date of the next update as a calendar event (.ics); no address needed."""
    ws = await service.by_code(db, code)
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
async def unit_page(slug: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    """"You said, we did": released statements, their status and the answers."""
    unit = await views.unit_by_slug(db, slug)
    await subscriptions.purge_subscriptions(db)
    shown = await views.released_in(db, {unit.id})
    tls = await feedback.timelines(db, [v.id for _, vs in shown for v in vs])
    return render(request, "workshops/unit.html", youth=True, unit=unit, workshops=shown, timelines=tls,
                  contact=settings.contact_email, complaint=settings.complaint_route or settings.contact_email)


# ---------- from staff_pages.py ----------

# ====================== staff pages ======================

@get("/", include_in_schema=False)
async def staff_list(request: Request, staff: Scope, db: AsyncSession) -> Response:
    units = {u.id: u for u in staff.units}
    return render(request, "workshops/list.html", workshops=await views.unit_workshops(db, staff.unit_ids),
                  units=units, scope=staff)


def _small_int(raw: str, otherwise: Any) -> Any:
    """A typed count: ASCII digits only and short ("²".isdigit() is true but int("²") fails; int() of
    5 000 digits raises); anything else is `otherwise`, which the form's check then names."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else otherwise


def _form_def(data: dict[str, Any]) -> WorkshopDef:
    themes = [t for t in re.split(r"[\n,]", str(data.get("themes") or "")) if t.strip()]
    comp = {}
    for f in COMPOSITION_FIELDS:
        raw = str(data.get(f"c_{f}") or "").strip()
        comp[f] = _small_int(raw, raw or 0)
    d = dict(unit=data.get("unit"), title=str(data.get("title") or ""), date=data.get("date") or None,
             place=str(data.get("place") or ""), neutral_place=data.get("neutral_place") == "yes",
             themes=themes, composition=comp,
             feedback_months=_small_int(str(data.get("feedback_months", "")), 12))
    try:
        return msgspec.convert(d, WorkshopDef)
    except msgspec.ValidationError as e:
        m = re.search(r"\$\.([a-z_]+)(?:\.([a-z_0-9]+))?", str(e))
        field = (m.group(2) if m and m.group(1) == "composition" and m.group(2) else m.group(1)) if m else "body"
        raise FieldError(field, str(e).split(" - at ")[0]) from None


@get("/new", include_in_schema=False)
async def new_page(request: Request, staff: Scope) -> Response:
    return render(request, "workshops/new.html", scope=staff, form={"date": today().isoformat()}, errors={},
                  fields=COMPOSITION_FIELDS)


@post("/new", include_in_schema=False, status_code=200)
async def new_form(request: Request, data: Form, staff: Scope, db: AsyncSession) -> Response:
    check_csrf(request, data)
    try:
        defn = _form_def(data)
        unit = staff.unit(defn.unit)
        ws = await service.create_workshop(db, unit, defn, staff.user)
    except FieldError as e:
        return render(request, "workshops/new.html", status_code=422, scope=staff, form=data,
                      errors={e.field: e.message}, fields=COMPOSITION_FIELDS)
    return Redirect(f"/workshops/{ws.id}", status_code=303)


async def _control(request: Request, staff: Scope, db: AsyncSession, ws: Workshop, *, status: int = 200,
                   error: str | None = None, form: dict[str, Any] | None = None) -> Response:
    unit = service.unit_of(staff, ws)
    return render(request, "workshops/control.html", ws=ws, unit=unit, status_code=status,
                  statements=await views.statement_views(db, ws, min_share=unit.release_min_share), error=error,
                  participants=await service.participants(db, ws) if ws.status != "closed" else [],
                  fields=COMPOSITION_FIELDS, form=form or {})


@get("/{workshop_id:int}", include_in_schema=False)
async def control_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return await _control(request, staff, db, ws)


@get("/{workshop_id:int}/screen", include_in_schema=False)
async def screen_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession,
                      settings: Settings) -> Response:
    """The projector: code, QR code, and the statements as they arrive."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    url = service.join_url(base_url(settings, request), ws.code)
    unit = service.unit_of(staff, ws)
    shown = await views.statement_views(db, ws, projector=True, min_share=unit.release_min_share)
    # Newest first: the room always sees what was just said; older ones fall off the bottom.
    return render(request, "workshops/screen.html", ws=ws, url=url, qr=qr_svg(url), unit=unit,
                  statements=list(reversed(shown)), full=ws.joined >= MAX_PARTICIPANTS)


@get("/{workshop_id:int}/summary", include_in_schema=False)
async def summary_page(workshop_id: int, request: Request, staff: Scope, db: AsyncSession) -> Response:
    """Printable record for the steering group."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    return render(request, "workshops/summary.html", ws=ws, unit=service.unit_of(staff, ws),
                  statements=await views.statement_views(db, ws, released_only=ws.status == "closed"))


@post("/{workshop_id:int}/{action:str}", include_in_schema=False, status_code=200)
async def control_form(workshop_id: int, action: str, request: Request, data: Form, staff: Scope,
                       db: AsyncSession, settings: Settings) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    check_csrf(request, data)
    try:
        if action == "review":
            await close.start_review(db, ws, staff.user)
        elif action == "reopen":
            await close.reopen(db, ws)
        elif action == "close":
            if data.get("confirm") != "yes":
                raise FieldError("confirm", "Tick the box to confirm that the group has voted.")
            await feedback.issue_reply_codes(db, ws, settings.secret_key)
            await close.close(db, ws, service.unit_of(staff, ws), staff.user)
        elif action == "add":
            theme = str(data.get("theme") or "")
            await statements.add_statement(db, ws, str(data.get("text") or ""), "staff",
                                           themes=[theme] if theme else [])
        elif action == "hold":
            await statements.set_hold(db, ws, data.get("hold") == "on")
        elif action == "remove":
            await service.remove_participant(db, ws, str(data.get("participant") or ""), staff.user)
        elif action == "code":
            if data.get("confirm") != "yes":
                raise FieldError("confirm", "Tick the box to confirm: the old code stops working.")
            await service.new_room_code(db, ws, staff.user)
        elif action == "composition":
            comp = {}
            for f in COMPOSITION_FIELDS:
                value = _small_int(str(data.get(f"c_{f}") or "0").strip(), None)
                if not isinstance(value, int) or value > 10:
                    raise FieldError(f, "a number from 0 to 10")
                comp[f] = value
            await service.update_composition(db, ws, comp)
        else:
            raise NotFoundException("action: unknown")
    except (FieldError, service.Conflict) as e:
        ws = await service.reload(db, ws)
        msg = e.message if isinstance(e, FieldError) else str(e.detail)
        return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409,
                              error=msg, form=data)
    return Redirect(f"/workshops/{ws.id}", status_code=303)


@post("/{workshop_id:int}/statements/{sid:str}/screen", include_in_schema=False, status_code=200)
async def screen_form(workshop_id: int, sid: str, request: Request, data: Form, staff: Scope,
                      db: AsyncSession) -> Response:
    """The facilitator's OK for a held statement, or hiding one from the projector (and showing it again)."""
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    check_csrf(request, data)
    st = await service.statement_of(db, ws, sid)
    try:
        await statements.set_screen(db, ws, st, str(data.get("screen") or ""))
    except (FieldError, service.Conflict) as e:
        ws = await service.reload(db, ws)
        msg = e.message if isinstance(e, FieldError) else str(e.detail)
        return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409, error=msg)
    return Redirect(f"/workshops/{ws.id}#s-{sid}", status_code=303)


@post("/{workshop_id:int}/statements/{sid:str}", include_in_schema=False, status_code=200)
async def staff_edit_form(workshop_id: int, sid: str, request: Request, data: Form, staff: Scope,
                          db: AsyncSession) -> Response:
    ws = await service.staff_workshop(db, workshop_id, staff.unit_ids)
    check_csrf(request, data)
    st = await service.statement_of(db, ws, sid)
    raw_themes = data.get("themes")
    themes = raw_themes if isinstance(raw_themes, list) else ([raw_themes] if raw_themes else [])
    try:
        await statements.set_themes(db, ws, st, [str(t) for t in themes])
        if isinstance(data.get("text"), str) and data["text"].strip():
            await statements.revise(db, ws, st, data["text"], "staff")
    except (FieldError, service.Conflict) as e:
        ws = await service.reload(db, ws)
        msg = e.message if isinstance(e, FieldError) else str(e.detail)
        return await _control(request, staff, db, ws, status=422 if isinstance(e, FieldError) else 409, error=msg)
    return Redirect(f"/workshops/{ws.id}#s-{sid}", status_code=303)


@get("/answers", include_in_schema=False)
async def answers_page(request: Request, staff: Scope, db: AsyncSession, settings: Settings) -> Response:
    """Process leaders answer released statements: each answer is a new entry in the statement's
    history, in every language the room used; milestones; promised dates; links to earlier statements."""
    return await _answers(request, staff, db, settings)


async def _answers(request: Request, staff: Scope, db: AsyncSession, settings: Settings, error: str | None = None,
                   status: int = 200, form: dict[str, Any] | None = None) -> Response:
    units = {u.id: u for u in staff.units}
    await subscriptions.purge_subscriptions(db)
    shown = await views.released_in(db, staff.unit_ids)
    tls = await feedback.timelines(db, [v.id for _, vs in shown for v in vs])
    candidates: dict[str, list] = {}
    for ws, vs in shown:
        for v in vs:
            st = await db.get(Statement, v.id)
            candidates[v.id] = await feedback.link_candidates(db, st, ws, staff.unit_ids)
    return render(request, "workshops/answers.html", workshops=shown, timelines=tls, candidates=candidates,
                  overdue=await feedback.overdue_promises(db, staff.unit_ids), units=units,
                  can_answer=staff.user.role in ("process_leader", "admin"), error=error, form=form or {},
                  room_languages=feedback.room_languages, contact=settings.contact_email,
                  complaint=settings.complaint_route or settings.contact_email, status_code=status)


def _form_texts(data: dict[str, Any], ws: Workshop) -> dict[str, str]:
    """The answer's other languages, from fields text_ar, text_en, ... (Swedish is `text`)."""
    return {lang: data[f"text_{lang}"] for lang in feedback.room_languages(ws)
            if lang != "sv" and isinstance(data.get(f"text_{lang}"), str) and data[f"text_{lang}"].strip()}


def _form_date(data: dict[str, Any], key: str) -> dt.date | None:
    raw = _str(data, key).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FieldError(key, STAFF_MESSAGES["date"]) from None


async def _statement_ws(db: AsyncSession, sid: str) -> Workshop | None:
    st = await db.get(Statement, sid) if len(sid) <= 32 else None
    return await db.get(Workshop, st.workshop_id) if st else None


STAFF_MESSAGES = {
    "next_update_by": N_("The promised date must be after today."),
    "on": N_("A milestone is something that has happened: today or earlier."),
    "text": N_("Write what happened."),
    "earlier": N_("Link only to released statements on the same theme from earlier workshops."),
    "date": N_("Write the date as YYYY-MM-DD."),
}


async def _staff_change(request: Request, staff: Scope, db: AsyncSession, settings: Settings, sid: str, data: dict,
                        fn, nudge: bool) -> Response:
    try:
        await fn()
    except FieldError as e:
        db.expunge_all()
        await db.rollback()
        msg = e.message if e.message in STAFF_MESSAGES.values() or e.field not in STAFF_MESSAGES else STAFF_MESSAGES[e.field]
        return await _answers(request, staff, db, settings, error=msg, status=422, form={"sid": sid, **data})
    except service.Conflict as e:
        db.expunge_all()
        await db.rollback()
        return await _answers(request, staff, db, settings, error=str(e.detail), status=409)
    background = BackgroundTask(send_nudges, request.app.state.sessionmaker, settings, sid,
                                base_url(settings, request)) if nudge else None
    return Redirect(f"/workshops/answers#s-{sid}", status_code=303, background=background)


@post("/statements/{sid:str}/response", include_in_schema=False, status_code=200)
async def respond_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                       settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    status = data.get("status")
    if status not in ("received", "considering", "done", "not_possible"):
        return await _answers(request, staff, db, settings, error="Choose a status.", status=422,
                              form={"sid": sid, **data})
    ws = await _statement_ws(db, sid)

    async def fn():
        await feedback.respond(db, sid, staff.unit_ids, str(status), _str(data, "text")[:4000], staff.user,
                               texts=_form_texts(data, ws) if ws else {}, next_update_by=_form_date(data, "next_update_by"),
                               contact=_str(data, "contact") or None, reply_days=settings.reply_days)
    return await _staff_change(request, staff, db, settings, sid, data, fn, nudge=True)


@post("/statements/{sid:str}/milestone", include_in_schema=False, status_code=200)
async def milestone_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                         settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    ws = await _statement_ws(db, sid)

    async def fn():
        await feedback.add_milestone(db, sid, staff.unit_ids, _str(data, "text")[:4000], staff.user,
                                     texts=_form_texts(data, ws) if ws else {}, on=_form_date(data, "on"),
                                     next_update_by=_form_date(data, "next_update_by"))
    return await _staff_change(request, staff, db, settings, sid, data, fn, nudge=True)


@post("/statements/{sid:str}/earlier", include_in_schema=False, status_code=200)
async def earlier_form(sid: str, request: Request, data: Form, staff: Scope, db: AsyncSession,
                       settings: Settings) -> Response:
    check_csrf(request, data)
    staff.require("process_leader", "admin")
    raw = data.get("earlier")
    earlier = [str(x) for x in (raw if isinstance(raw, list) else [raw] if raw else [])]
    return await _staff_change(request, staff, db, settings, sid, data,
                               lambda: feedback.set_links(db, sid, staff.unit_ids, earlier, staff.user), nudge=False)


ROOM = Router(path="/w", route_handlers=[events, enter_code, room, join_form, rejoin_form, write_form, statement_form,
                                         reply_form, follow_form, unsubscribe_page, unsubscribe_form, calendar_file])
STAFF_PAGES = Router(path="/workshops", route_handlers=[
    staff_list, new_page, new_form, control_page, screen_page, summary_page, control_form, staff_edit_form,
    screen_form, answers_page,
])

ROUTES = [ROOM, STAFF_PAGES, unit_page, respond_form, milestone_form, earlier_form]
