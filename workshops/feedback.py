"""After close, without HTTP: the process leader's answers (a history, never overwritten), milestones and
promised dates, links to earlier statements on the same theme, the timeline the feedback pages show,
and the young people's replies with their personal reply codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from litestar.exceptions import NotAuthorizedException, NotFoundException
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import audit
from youthvoice.clock import today
from youthvoice.codes import code_from_bytes, normalise_code
from youthvoice.errors import FieldError
from youthvoice.i18n import DEFAULT_LANG, LANGUAGES
from youthvoice.models import Unit, User

from .models import (
    FINAL_STATUSES,
    REPLY_KINDS,
    RESPONSE_STATUSES,
    Entry,
    Link,
    Participant,
    ReplyCode,
    Statement,
    Workshop,
)
from .service import Conflict, bare_token, participant_digest, statement_of

MAX_ANSWER = 4000
MAX_REPLY = 500
REPLY_CODE_LEN = 8


# ---------- answers from the process leader: a history, never overwritten ----------

def room_languages(ws: Workshop) -> list[str]:
    """Swedish (the unit's language) first, then each language the room's phones used."""
    out = [DEFAULT_LANG]
    for lang in ws.languages or []:
        if lang in LANGUAGES and lang not in out:
            out.append(lang)
    return out


async def note_language(db: AsyncSession, ws: Workshop, lang: str) -> None:
    """Called when a phone joins: the language it reads in, so answers can be written in it too."""
    if lang in LANGUAGES and lang not in (ws.languages or []):
        ws.languages = [*(ws.languages or []), lang]
        await db.flush()


async def _answerable(db: AsyncSession, sid: str, unit_ids: set[int]) -> tuple[Statement, Workshop]:
    st = await db.get(Statement, sid) if len(sid) <= 32 else None
    ws = await db.get(Workshop, st.workshop_id) if st else None
    if st is None or ws is None or ws.unit_id not in unit_ids:
        raise NotFoundException("statement: no statement with this id that you can see")
    if not st.released:
        raise Conflict("statement: only released statements can be answered")
    return st, ws


def _texts(text: str | None, texts: dict[str, str] | None, name: str = "text") -> dict[str, str]:
    """{lang: text}: `text` is the Swedish one; `texts` adds the others. Empty ones are left out."""
    out: dict[str, str] = {}
    for lang, t in (texts or {}).items():
        if lang not in LANGUAGES:
            raise FieldError(f"texts.{lang}", "not a language this service speaks")
        if not isinstance(t, str) or len(t) > MAX_ANSWER:
            raise FieldError(f"texts.{lang}", f"at most {MAX_ANSWER} characters")
        if t.strip():
            out[lang] = t.strip()
    if text and text.strip():
        if len(text) > MAX_ANSWER:
            raise FieldError(name, f"at most {MAX_ANSWER} characters")
        out[DEFAULT_LANG] = text.strip()
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != DEFAULT_LANG, kv[0])))


def _promise(next_update_by: dt.date | None, day: dt.date) -> dt.date | None:
    if next_update_by is not None and next_update_by <= day:
        raise FieldError("next_update_by", "the promised date must be after today")
    return next_update_by


async def respond(db: AsyncSession, sid: str, unit_ids: set[int], status: str, text: str,
                  user: User | None, *, texts: dict[str, str] | None = None,
                  next_update_by: dt.date | None = None, contact: str | None = None,
                  reply_days: int = 30) -> Statement:
    """A new response in the statement's history (status, text per language, date, unit). The
    statement's own status/text/date columns follow the latest response; earlier ones stay as entries."""
    st, ws = await _answerable(db, sid, unit_ids)
    if status not in RESPONSE_STATUSES:
        raise FieldError("status", "choose a status")
    day = today()
    texts_ = _texts(text, texts)
    contact = " ".join((contact or "").split())[:200] or None
    db.add(Entry(statement_id=st.id, kind="response", status=status, texts=texts_, on=day, unit_id=ws.unit_id,
                 author_role="staff", next_update_by=_promise(next_update_by, day),
                 contact=contact if status == "not_possible" else None))
    st.response_status = status
    st.response_text = texts_.get(DEFAULT_LANG) or next(iter(texts_.values()), None)
    st.response_on = day
    st.promised_on = next_update_by
    # After a final status the young people may still reply for a while; then the e-mail
    # addresses left for this statement have done their job and are deleted.
    st.replies_until = day + dt.timedelta(days=reply_days) if status in FINAL_STATUSES else None
    await audit(db, user, "workshop.respond", f"statement {st.id} {status}")
    await db.flush()
    return st


async def add_milestone(db: AsyncSession, sid: str, unit_ids: set[int], text: str, user: User | None, *,
                        texts: dict[str, str] | None = None, on: dt.date | None = None,
                        next_update_by: dt.date | None = None) -> Entry:
    """A step on the way ("met the employers on 12 March"); counts as an update of the promise."""
    st, ws = await _answerable(db, sid, unit_ids)
    day = today()
    texts_ = _texts(text, texts)
    if not texts_:
        raise FieldError("text", "write what happened")
    if on is not None and on > day:
        raise FieldError("on", "a milestone is something that has happened: today or earlier")
    entry = Entry(statement_id=st.id, kind="milestone", texts=texts_, on=on or day, unit_id=ws.unit_id,
                  author_role="staff", next_update_by=_promise(next_update_by, day))
    db.add(entry)
    st.promised_on = next_update_by
    await audit(db, user, "workshop.milestone", f"statement {st.id}")
    await db.flush()
    return entry


async def overdue_promises(db: AsyncSession, unit_ids: set[int],
                           day: dt.date | None = None) -> list[tuple[Workshop, Statement]]:
    """Released statements whose promised date for the next update has passed without one."""
    day = day or today()
    rows = (await db.execute(
        select(Workshop, Statement).join(Statement, Statement.workshop_id == Workshop.id)
        .where(Workshop.unit_id.in_(unit_ids or {-1}), Statement.released.is_(True),
               Statement.promised_on.is_not(None), Statement.promised_on < day)
        .order_by(Statement.promised_on, Statement.id))).all()
    return [(w, s) for w, s in rows]


# ---------- links to earlier statements on the same theme ----------

async def link_candidates(db: AsyncSession, st: Statement, ws: Workshop,
                          unit_ids: set[int]) -> list[tuple[Workshop, Statement]]:
    """Released statements of earlier workshops (units the caller sees) sharing a theme with `st`."""
    mine = {t.lower() for t in st.themes or []}
    if not mine:
        return []
    rows = (await db.execute(
        select(Workshop, Statement).join(Statement, Statement.workshop_id == Workshop.id)
        .where(Workshop.unit_id.in_(unit_ids or {-1}), Statement.released.is_(True), Workshop.id != ws.id,
               Workshop.date <= ws.date)
        .order_by(Workshop.date.desc(), Statement.seq))).all()
    return [(w, s) for w, s in rows if mine & {t.lower() for t in s.themes or []}]


async def set_links(db: AsyncSession, sid: str, unit_ids: set[int], earlier_ids: list[str],
                    user: User | None) -> list[str]:
    st, ws = await _answerable(db, sid, unit_ids)
    allowed = {s.id for _, s in await link_candidates(db, st, ws, unit_ids)}
    wanted = list(dict.fromkeys(earlier_ids))
    for e in wanted:
        if e not in allowed:
            raise FieldError("earlier", "link only to released statements on the same theme from earlier workshops")
    await db.execute(delete(Link).where(Link.statement_id == st.id))
    for e in wanted:
        db.add(Link(statement_id=st.id, earlier_id=e))
    await audit(db, user, "workshop.link", f"statement {st.id}: {len(wanted)} earlier")
    await db.flush()
    return wanted


# ---------- the timeline as the feedback pages show it ----------

@dataclass
class EntryView:
    kind: str  # response | milestone | reply
    on: dt.date
    texts: dict[str, str]
    status: str | None = None
    reply_kind: str | None = None
    unit: str | None = None
    contact: str | None = None
    next_update_by: dt.date | None = None
    # For a promise: True kept (the next update came in time), False broken, None still open.
    kept: bool | None = None
    kept_on: dt.date | None = None

    def text_in(self, lang: str) -> tuple[str, str] | None:
        """(text, its language): the reader's language, else Swedish, else whatever there is."""
        for cand in (lang, DEFAULT_LANG, *self.texts):
            if self.texts.get(cand):
                return self.texts[cand], cand
        return None


@dataclass
class EarlierView:
    id: str
    text: str
    workshop_title: str
    workshop_date: dt.date
    workshop_code: str
    status: str | None


@dataclass
class Timeline:
    entries: list[EntryView] = field(default_factory=list)
    promised_on: dt.date | None = None
    promise_overdue: bool = False
    earlier: list[EarlierView] = field(default_factory=list)
    replies_until: dt.date | None = None
    contact: str | None = None  # where to turn, from the latest "not possible" answer


async def timelines(db: AsyncSession, statement_ids: list[str], day: dt.date | None = None) -> dict[str, Timeline]:
    """Every statement's history in the order it happened, with each promise marked kept or not."""
    day = day or today()
    out = {sid: Timeline() for sid in statement_ids}
    if not statement_ids:
        return out
    units = dict((await db.execute(select(Unit.id, Unit.name))).all())
    for e in (await db.execute(select(Entry).where(Entry.statement_id.in_(statement_ids))
                               .order_by(Entry.statement_id, Entry.on, Entry.id))).scalars():
        out[e.statement_id].entries.append(EntryView(
            kind=e.kind, on=e.on, texts=dict(e.texts or {}), status=e.status, reply_kind=e.reply_kind,
            unit=units.get(e.unit_id), contact=e.contact, next_update_by=e.next_update_by))
    for sid, st_promised, until in (await db.execute(select(Statement.id, Statement.promised_on,
                                                            Statement.replies_until)
                                                     .where(Statement.id.in_(statement_ids)))).all():
        tl = out[sid]
        tl.promised_on, tl.replies_until = st_promised, until
        tl.promise_overdue = st_promised is not None and st_promised < day
        tl.contact = next((e.contact for e in reversed(tl.entries) if e.contact), None)
        staff = [e for e in tl.entries if e.kind != "reply"]
        for i, e in enumerate(staff):
            if e.next_update_by is None:
                continue
            nxt = staff[i + 1] if i + 1 < len(staff) else None
            if nxt is not None:
                e.kept, e.kept_on = nxt.on <= e.next_update_by, nxt.on
            elif e.next_update_by < day:
                e.kept = False
    rows = (await db.execute(
        select(Link.statement_id, Statement, Workshop).join(Statement, Statement.id == Link.earlier_id)
        .join(Workshop, Workshop.id == Statement.workshop_id).where(Link.statement_id.in_(statement_ids))
        .order_by(Workshop.date.desc(), Statement.seq))).all()
    for sid, earlier, ws in rows:
        out[sid].earlier.append(EarlierView(id=earlier.id, text=earlier.text, workshop_title=ws.title,
                                            workshop_date=ws.date, workshop_code=ws.code,
                                            status=earlier.response_status))
    return out


# ---------- the young people answer back ----------

def reply_code(secret: str, participant_token_hash: str) -> str:
    """A phone's personal reply code, derived with the secret key from its room token's digest: the
    phone can show it after close, and nobody can work it out from the database alone."""
    mac = hmac.new(secret.encode(), f"workshop-reply-code:{participant_token_hash}".encode(),
                   hashlib.sha256).digest()
    return code_from_bytes(mac, REPLY_CODE_LEN)


def _reply_digest(secret: str, ws_id: int, code: str) -> str:
    return hmac.new(secret.encode(), f"workshop-reply:{ws_id}:{normalise_code(code)}".encode(),
                    hashlib.sha256).hexdigest()


async def issue_reply_codes(db: AsyncSession, ws: Workshop, secret: str) -> int:
    """At close, before the participants are deleted: keep a digest of each phone's reply code,
    tied to the workshop only."""
    hashes = list((await db.execute(select(Participant.token_hash)
                                    .where(Participant.workshop_id == ws.id))).scalars())
    for h in hashes:
        digest = _reply_digest(secret, ws.id, reply_code(secret, h))
        if await db.get(ReplyCode, digest) is None:
            db.add(ReplyCode(digest=digest, workshop_id=ws.id))
    await db.flush()
    return len(hashes)


async def my_reply_code(db: AsyncSession, ws: Workshop, secret: str, participant_token: str | None) -> str | None:
    """The reply code of the phone holding `participant_token`, once the workshop has closed."""
    participant_token = bare_token(participant_token)
    if ws.status != "closed" or participant_token is None:
        return None
    code = reply_code(secret, participant_digest(participant_token))
    if await db.get(ReplyCode, _reply_digest(secret, ws.id, code)) is None:
        return None
    return code


async def add_reply(db: AsyncSession, ws: Workshop, sid: str, secret: str, code: str, kind: str, text: str,
                    lang: str, scrub: Callable[[str], str]) -> Entry:
    """A reply from the young people: the workshop code (in the path) and a personal reply code."""
    if ws.status != "closed":
        raise Conflict("reply: replies open when the workshop has ended")
    st = await statement_of(db, ws, sid)
    if not st.released:
        raise NotFoundException("statement: no such statement in this workshop")
    if not code or await db.get(ReplyCode, _reply_digest(secret, ws.id, code)) is None:
        raise ReplyRefused("reply_code: this is not a reply code from this workshop")
    if kind not in REPLY_KINDS:
        raise FieldError("kind", "choose what you want to say")
    text = (text or "").replace("\x00", "").strip()
    if len(text) > MAX_REPLY:
        raise FieldError("text", f"at most {MAX_REPLY} characters")
    if st.replies_until is not None and today() > st.replies_until:
        raise Conflict("reply: the time for replies to this answer has ended")
    entry = Entry(statement_id=st.id, kind="reply", reply_kind=kind,
                  texts={lang if lang in LANGUAGES else DEFAULT_LANG: scrub(text)} if text else {},
                  on=today(), unit_id=None, author_role="participant")
    db.add(entry)
    await db.flush()
    return entry


class ReplyRefused(NotAuthorizedException):
    pass
