"""Workshop logic without HTTP: set-up, joining, co-writing with revisions,
approval, close (release + deletion), process-leader answers, feedback.

Every change bumps `workshop.version`; live views poll that counter in the
database, so updates reach phones connected to any app worker."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException, TooManyRequestsException
from sqlalchemy import delete, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import audit
from youthvoice.clock import today
from youthvoice.codes import code_from_bytes, normalise_code, random_code
from youthvoice.db import after_commit, vacuum_tables
from youthvoice.errors import FieldError
from youthvoice.i18n import DEFAULT_LANG, LANGUAGES
from youthvoice.mail import seal, unseal
from youthvoice.models import Unit, User
from youthvoice.text import clean_name, clean_user_text

from .models import (
    FINAL_STATUSES,
    MAX_PARTICIPANTS,
    REPLY_KINDS,
    RESPONSE_STATUSES,
    SCREEN_STATES,
    Entry,
    Link,
    Participant,
    ReplyCode,
    Revision,
    Statement,
    Subscription,
    Support,
    Vote,
    Workshop,
)
from .schemas import COMPOSITION_FIELDS, WorkshopDef

# Room codes in the shared alphabet (youthvoice/codes.py). 24^8 ≈ 1.1·10^11 codes. With 20 live codes (open rooms and a year of feedback) and at most
# WORKSHOP_CODE_MISSES wrong codes in ten minutes from all addresses together (and code_miss_limit
# from any one), a guess succeeds about once in 170 years (RELIABILITY.md).
CODE_LEN = 8
WORKSHOP_CODE_MISSES = 600
# Joins of one room from one address: a burst of settings.join_burst (3) every 20 seconds — a group
# on one network gets in within a minute, but one client cannot fill the room in a second (issue 19).
JOIN_WINDOW = 20
JOINS_PER_ROOM = 40  # per ten minutes: ten seats, and room to rejoin after staff removed someone
TOKEN_PREFIX = "yvp_"
REJOIN_LEN = 5  # 24**5 ≈ 8 million per room, tried at the join rate limit
MAX_THEMES = 20
MAX_ANSWER = 4000
MAX_REPLY = 500
REPLY_CODE_LEN = 8


class Conflict(ClientException):
    status_code = 409


class Full(Conflict):
    pass


# ---------- codes and tokens ----------

def participant_digest(token: str) -> str:
    # A domain prefix: a participant token can never hash to a staff token's digest.
    return hashlib.sha256(f"workshop-participant:{token}".encode()).hexdigest()


def new_participant_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


# ---------- set-up ----------

def _clean_themes(themes: list[str]) -> list[str]:
    out: list[str] = []
    for t in themes:
        t = " ".join(t.split())
        if t and t.lower() not in {x.lower() for x in out}:
            out.append(t)
    if len(out) > MAX_THEMES:
        raise FieldError("themes", f"at most {MAX_THEMES} themes")
    return out


async def create_workshop(db: AsyncSession, unit: Unit, defn: WorkshopDef, user: User | None) -> Workshop:
    title = " ".join(defn.title.split())
    place = " ".join(defn.place.split())
    if not title:
        raise FieldError("title", "write a title")
    if not place:
        raise FieldError("place", "write where the workshop is held")
    if defn.neutral_place is not True:
        raise FieldError("neutral_place", "confirm that the place is neutral, not an authority's premises")
    comp = {f: getattr(defn.composition, f) for f in COMPOSITION_FIELDS} if defn.composition else {}
    if comp:
        gender_sum = comp["women"] + comp["men"] + comp["non_binary"] + comp["gender_undisclosed"]
        if gender_sum > MAX_PARTICIPANTS:
            raise FieldError("composition", f"at most {MAX_PARTICIPANTS} participants in total")
        if comp["age_16_19"] + comp["age_20_24"] > MAX_PARTICIPANTS:
            raise FieldError("composition", f"at most {MAX_PARTICIPANTS} participants in total")
    themes = _clean_themes(defn.themes)
    for _ in range(20):
        ws = Workshop(unit_id=unit.id, code=random_code(CODE_LEN), title=title, date=defn.date, place=place,
                      neutral_place=True, status="open", themes=themes, composition=comp, joined=0,
                      feedback_months=defn.feedback_months, version=0, next_seq=0)
        try:
            async with db.begin_nested():
                db.add(ws)
        except IntegrityError:
            continue
        await audit(db, user, "workshop.create", f"workshop {ws.id} unit {unit.slug}")
        await db.flush()
        return ws
    raise Conflict("code: could not find a free code, try again")


async def update_composition(db: AsyncSession, ws: Workshop, comp: dict[str, int]) -> None:
    ws.composition = comp
    await bump(db, ws)
    await db.flush()


# ---------- lookups ----------

async def staff_workshop(db: AsyncSession, workshop_id: int, unit_ids: set[int]) -> Workshop:
    # Ids outside the integer column's range cannot exist (and PostgreSQL would refuse them).
    ws = await db.get(Workshop, workshop_id) if 0 < workshop_id < 2**31 else None
    if ws is None or ws.unit_id not in unit_ids:
        raise NotFoundException("workshop: no workshop with this id that you can see")
    return ws


def feedback_until(ws: Workshop) -> dt.date | None:
    if ws.closed_on is None:
        return None
    # Shown through the whole last month: closed in October with 2 months -> until 1 January.
    y, m = divmod(ws.closed_on.year * 12 + ws.closed_on.month + ws.feedback_months, 12)
    return dt.date(y, m + 1, 1)


async def by_code(db: AsyncSession, code: str) -> Workshop:
    ws = (await db.execute(select(Workshop).where(Workshop.code == normalise_code(code)))).scalar_one_or_none()
    if ws is None:
        raise NotFoundException("code: no workshop with this code")
    until = feedback_until(ws)
    if until is not None and today() >= until:
        raise NotFoundException("code: this workshop's feedback is no longer shown")
    return ws


async def room_by_code(request, db: AsyncSession, code: str) -> Workshop:
    """`by_code` for a request from outside: wrong codes are counted per address and for all workshop
    codes together, answered more slowly, and refused with 429 once over the limit (youthvoice.http)."""
    return await request.app.state.limiter.guarded(
        request, "workshop", lambda: by_code(db, code), request.app.state.settings.code_miss_limit,
        WORKSHOP_CODE_MISSES)


async def limit_joins(request, code: str) -> None:
    """429 before a join when this address joined this room settings.join_burst times in the last
    JOIN_WINDOW seconds, or the room was joined JOINS_PER_ROOM times in ten minutes. Called before
    the request reads anything: on SQLite a count written on the limiter's connection after the
    request's first read would make the request's own write fail (its snapshot is then stale)."""
    limiter, room = request.app.state.limiter, normalise_code(code)
    if not await limiter.hit(request, "join", request.app.state.settings.join_burst, JOIN_WINDOW, room) or \
            not await limiter.hit_key("join-room", room, JOINS_PER_ROOM, 600):
        raise TooManyRequestsException("join: many are joining from here right now. Wait a few seconds and "
                                       "try again.", headers={"Retry-After": str(JOIN_WINDOW)})


async def statement_of(db: AsyncSession, ws: Workshop, sid: str) -> Statement:
    st = await db.get(Statement, sid) if len(sid) <= 32 else None
    if st is None or st.workshop_id != ws.id:
        raise NotFoundException("statement: no such statement in this workshop")
    return st


def bare_token(token: str | None) -> str | None:
    """The participant token alone: the room cookie carries ".<rejoin code>" after it."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    return token.split(".", 1)[0]


async def participant_for(db: AsyncSession, ws: Workshop, token: str | None) -> Participant | None:
    token = bare_token(token)
    if token is None:
        return None
    p = (await db.execute(select(Participant).where(Participant.token_hash == participant_digest(token))))\
        .scalar_one_or_none()
    return p if p is not None and p.workshop_id == ws.id else None


async def bump(db: AsyncSession, ws: Workshop) -> None:
    await db.execute(update(Workshop).where(Workshop.id == ws.id).values(version=Workshop.version + 1))


async def current_version(db: AsyncSession, workshop_id: int) -> tuple[int, str] | None:
    row = (await db.execute(select(Workshop.version, Workshop.status).where(Workshop.id == workshop_id))).first()
    return (row[0], row[1]) if row else None


# ---------- joining ----------

async def join(db: AsyncSession, ws: Workshop, nickname: str | None) -> str:
    token, _ = await _join(db, ws, nickname)
    return token


async def _join(db: AsyncSession, ws: Workshop, nickname: str | None) -> tuple[str, Participant]:
    if ws.status == "closed":
        raise Conflict("workshop: this workshop has ended")
    if nickname and "\x00" in nickname:
        raise FieldError("nickname", "contains a character that is not allowed (NUL)")
    nickname = clean_name(nickname or "") or None
    # One atomic statement, so two phones joining at once cannot make eleven.
    res = await db.execute(update(Workshop).where(Workshop.id == ws.id, Workshop.joined < MAX_PARTICIPANTS)
                           .values(joined=Workshop.joined + 1, version=Workshop.version + 1))
    if res.rowcount != 1:
        raise Full("workshop: the room is full – at most 10 people can take part")
    token = new_participant_token()
    p = Participant(workshop_id=ws.id, token_hash=participant_digest(token), nickname=nickname)
    db.add(p)
    await db.flush()
    return token, p


# ---------- getting back in as oneself ----------

def rejoin_digest(workshop_id: int, code: str) -> str:
    return hashlib.sha256(f"workshop-rejoin:{workshop_id}:{code}".encode()).hexdigest()


async def join_with_rejoin_code(db: AsyncSession, ws: Workshop, nickname: str | None) -> tuple[str, str]:
    """Joins and gives the phone a short personal code: typed in again on a phone that lost its
    cookie, it gets the same participant back (same count, own words, own votes).
    Returns (token, rejoin code); only the code's hash is stored, and it goes at close."""
    token, p = await _join(db, ws, nickname)
    taken = set((await db.execute(select(Participant.rejoin_hash).where(
        Participant.workshop_id == ws.id, Participant.rejoin_hash.is_not(None)))).scalars())
    while True:
        code = random_code(REJOIN_LEN)
        if rejoin_digest(ws.id, code) not in taken:
            break
    p.rejoin_hash = rejoin_digest(ws.id, code)
    await db.flush()
    return token, code


async def rejoin(db: AsyncSession, ws: Workshop, raw_code: str) -> tuple[str, str]:
    """A new token for the participant with this personal code (the old cookie stops working).
    Returns (token, code)."""
    if ws.status == "closed":
        raise Conflict("workshop: this workshop has ended")
    code = normalise_code(raw_code)
    if len(code) != REJOIN_LEN:
        raise FieldError("rejoin", "Write the personal code you got in the room (5 characters).")
    p = (await db.execute(select(Participant).where(Participant.workshop_id == ws.id,
                                                    Participant.rejoin_hash == rejoin_digest(ws.id, code))))\
        .scalar_one_or_none()
    if p is None:
        raise FieldError("rejoin", "We do not know this personal code in this room. Check the letters.")
    token = new_participant_token()
    p.token_hash = participant_digest(token)
    await db.flush()
    return token, code


def rejoin_code_in(ws: Workshop, me: Participant | None, cookie: str | None) -> str | None:
    """The personal code carried in the room cookie, if it is this participant's."""
    if me is None or not cookie or "." not in cookie or not me.rejoin_hash:
        return None
    code = cookie.split(".", 1)[1]
    return code if rejoin_digest(ws.id, code) == me.rejoin_hash else None


# ---------- co-writing ----------

def _clean_text(text: str) -> str:
    """A statement as it is kept: no invisible or direction-changing characters, and no personal
    details (the same scrubber as survey free text, youthvoice/text.py)."""
    if "\x00" in (text or ""):
        raise FieldError("text", "contains a character that is not allowed (NUL)")
    text = clean_user_text(text or "")
    if not text:
        raise FieldError("text", "write something first")
    return text


def _check_themes(ws: Workshop, themes: list[str]) -> list[str]:
    offered = {t.lower(): t for t in ws.themes}
    out = []
    for t in themes:
        t = " ".join(t.split())
        if not t:
            continue
        if t.lower() not in offered:
            raise FieldError("themes", f"'{t}' is not one of this workshop's themes")
        if offered[t.lower()] not in out:
            out.append(offered[t.lower()])
    return out


async def add_statement(db: AsyncSession, ws: Workshop, text: str, author_role: str,
                        author: Participant | None = None, themes: list[str] | None = None) -> Statement:
    if ws.status != "open":
        raise Conflict("workshop: new statements can only be written before the review")
    text = _clean_text(text)
    themes = _check_themes(ws, themes or [])
    await db.execute(update(Workshop).where(Workshop.id == ws.id)
                     .values(next_seq=Workshop.next_seq + 1, version=Workshop.version + 1))
    seq = (await db.execute(select(Workshop.next_seq).where(Workshop.id == ws.id))).scalar_one()
    held = author_role == "participant" and ws.hold_new
    st = Statement(workshop_id=ws.id, seq=seq, author_id=author.id if author else None, text=text,
                   themes=themes, released=False, screen="held" if held else "shown")
    db.add(st)
    await db.flush()
    db.add(Revision(statement_id=st.id, number=1, text=text, author_role=author_role))
    await db.flush()
    return st


async def revise(db: AsyncSession, ws: Workshop, st: Statement, text: str, author_role: str) -> bool:
    """A new wording is a new revision; votes on the old wording no longer count."""
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed; its words can no longer change")
    text = _clean_text(text)
    if text == st.text:
        return False
    last = (await db.execute(select(func.max(Revision.number)).where(Revision.statement_id == st.id))).scalar_one()
    db.add(Revision(statement_id=st.id, number=(last or 0) + 1, text=text, author_role=author_role))
    st.text = text
    await db.execute(delete(Vote).where(Vote.statement_id == st.id))
    await bump(db, ws)
    await db.flush()
    return True


# ---------- moderation: what the room and the projector show ----------

async def set_hold(db: AsyncSession, ws: Workshop, on: bool) -> None:
    """While on, a participant's new statement waits for the facilitator's OK."""
    ws.hold_new = bool(on)
    await bump(db, ws)
    await db.flush()


async def set_screen(db: AsyncSession, ws: Workshop, st: Statement, state: str) -> None:
    """'shown' (the OK for a held statement, or back on the projector), 'hidden' (off the projector)."""
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed")
    if state not in SCREEN_STATES or state == "held":
        raise FieldError("screen", "must be shown or hidden")
    st.screen = state
    await bump(db, ws)
    await db.flush()


async def set_themes(db: AsyncSession, ws: Workshop, st: Statement, themes: list[str]) -> None:
    st.themes = _check_themes(ws, themes)
    await bump(db, ws)
    await db.flush()


async def take_back(db: AsyncSession, ws: Workshop, st: Statement, who: Participant) -> bool:
    """The author gets their own latest wording back (as a new revision by a participant)."""
    if st.author_id != who.id:
        raise FieldError("statement", "only the person who wrote it can take the wording back")
    own = (await db.execute(select(Revision.text).where(Revision.statement_id == st.id,
                                                        Revision.author_role == "participant")
                            .order_by(Revision.number.desc()).limit(1))).scalar_one_or_none()
    if own is None:
        return False
    return await revise(db, ws, st, own, "participant")


async def toggle_support(db: AsyncSession, ws: Workshop, st: Statement, who: Participant) -> bool:
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed")
    existing = await db.get(Support, (st.id, who.id))
    if existing:
        await db.delete(existing)
    else:
        db.add(Support(statement_id=st.id, participant_id=who.id))
    await bump(db, ws)
    await db.flush()
    return existing is None


# ---------- review and close ----------

async def start_review(db: AsyncSession, ws: Workshop, user: User | None) -> None:
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed")
    if ws.status == "open":
        ws.status = "review"
        await bump(db, ws)
        await audit(db, user, "workshop.review", f"workshop {ws.id}")
        await db.flush()


async def reopen(db: AsyncSession, ws: Workshop) -> None:
    """Back to writing (votes stay; any changed wording resets its votes)."""
    if ws.status != "review":
        raise Conflict("workshop: only a workshop in review can go back to writing")
    ws.status = "open"
    await bump(db, ws)
    await db.flush()


async def cast_vote(db: AsyncSession, ws: Workshop, st: Statement, who: Participant, vote: str) -> None:
    if ws.status != "review":
        raise Conflict("vote: voting is only possible during the review")
    if vote not in ("approve", "object"):
        raise FieldError("vote", "must be approve or object")
    existing = await db.get(Vote, (st.id, who.id))
    if existing:
        existing.vote = vote
    else:
        db.add(Vote(statement_id=st.id, participant_id=who.id, vote=vote))
    await bump(db, ws)
    await db.flush()


def is_approved(approvals: int, objections: int, joined: int, min_share: float) -> bool:
    """The release rule: nobody objected and at least `min_share` of those who joined approved."""
    if objections > 0 or joined <= 0 or approvals <= 0:
        return False
    return approvals >= min_share * joined - 1e-9


def approvals_needed(joined: int, min_share: float) -> int:
    """How many approvals the release rule asks for (at least one)."""
    return max(1, math.ceil(min_share * joined - 1e-9))


def verdict(approvals: int, objections: int, joined: int, min_share: float) -> tuple[str, int]:
    """Whether a statement would pass if the workshop closed now: ('pass', 0), ('objected', n objections)
    or ('short', approvals still missing)."""
    if objections > 0:
        return "objected", objections
    if is_approved(approvals, objections, joined, min_share):
        return "pass", 0
    return "short", max(1, approvals_needed(joined, min_share) - approvals)


async def vote_counts(db: AsyncSession, ws: Workshop) -> dict[str, tuple[int, int]]:
    rows = (await db.execute(
        select(Vote.statement_id, Vote.vote, func.count()).join(Statement, Statement.id == Vote.statement_id)
        .where(Statement.workshop_id == ws.id).group_by(Vote.statement_id, Vote.vote))).all()
    out: dict[str, list[int]] = {}
    for sid, vote, n in rows:
        c = out.setdefault(sid, [0, 0])
        c[0 if vote == "approve" else 1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


async def close(db: AsyncSession, ws: Workshop, unit: Unit, user: User | None) -> list[str]:
    """Releases what the group approved; deletes everything else from the room:
    unapproved statements with their revisions, supports, votes, and every participant
    (tokens and nicknames). Once that is committed, the deleted bytes are removed from the
    database files too (`scrub_deleted`)."""
    if ws.status == "closed":
        raise Conflict("workshop: already closed")
    if ws.status != "review":
        raise Conflict("workshop: open the review first, so the group can approve what leaves the room")
    counts = await vote_counts(db, ws)
    ids = list((await db.execute(select(Statement.id).where(Statement.workshop_id == ws.id)
                                 .order_by(Statement.seq, Statement.id))).scalars())
    released = [sid for sid in ids if is_approved(*counts.get(sid, (0, 0)), ws.joined, unit.release_min_share)]
    dropped = [sid for sid in ids if sid not in released]
    if released:
        await db.execute(update(Statement).where(Statement.id.in_(released)).values(released=True, author_id=None))
    if ids:
        await db.execute(delete(Vote).where(Vote.statement_id.in_(ids)))
        await db.execute(delete(Support).where(Support.statement_id.in_(ids)))
    if dropped:
        await db.execute(delete(Revision).where(Revision.statement_id.in_(dropped)))
        await db.execute(delete(Statement).where(Statement.id.in_(dropped)))
    await db.execute(update(Statement).where(Statement.workshop_id == ws.id).values(author_id=None))
    await db.execute(delete(Participant).where(Participant.workshop_id == ws.id))
    ws.status = "closed"
    ws.closed_on = today()
    ws.deleted_at_close = len(dropped)
    await bump(db, ws)
    await audit(db, user, "workshop.close",
                f"workshop {ws.id}: {len(released)} released, {len(dropped)} deleted")
    await db.flush()
    after_commit(db, scrub_deleted)
    return released


# The tables close deletes from: after it, their files must not keep the deleted text or nicknames.
CLOSE_TABLES = ["workshop_statement", "workshop_revision", "workshop_vote", "workshop_support",
                "workshop_participant"]


async def scrub_deleted(engine) -> None:
    """After a close is committed: SQLite has zeroed the deleted rows (secure_delete) and the WAL is
    truncated; PostgreSQL rewrites the room's tables (VACUUM FULL). See docs/anonymity.md."""
    await vacuum_tables(engine, CLOSE_TABLES)


# ---------- staff: the people and the code of a room ----------

async def participants(db: AsyncSession, ws: Workshop) -> list[tuple[Participant, int]]:
    """Who is in the room (nickname, if any) with how many statements each wrote, for staff who
    need to find someone who joined twice."""
    counts = dict((await db.execute(select(Statement.author_id, func.count()).where(
        Statement.workshop_id == ws.id, Statement.author_id.is_not(None)).group_by(Statement.author_id))).all())
    people = (await db.execute(select(Participant).where(Participant.workshop_id == ws.id)
                               .order_by(Participant.nickname, Participant.id))).scalars()
    return [(p, counts.get(p.id, 0)) for p in people]


async def remove_participant(db: AsyncSession, ws: Workshop, participant_id: str, user: User | None) -> None:
    """Removes a participant (one who joined twice, a phone left behind): their token stops working,
    their supports and votes go, and they no longer count among those who joined — so the approval
    bar is right again. What they wrote stays in the room, as everyone's words do."""
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed; nobody is in the room any more")
    p = await db.get(Participant, participant_id) if len(participant_id) <= 32 else None
    if p is None or p.workshop_id != ws.id:
        raise FieldError("participant", "no such participant in this workshop")
    await db.execute(delete(Vote).where(Vote.participant_id == p.id))
    await db.execute(delete(Support).where(Support.participant_id == p.id))
    await db.execute(update(Statement).where(Statement.author_id == p.id).values(author_id=None))
    await db.delete(p)
    await db.execute(update(Workshop).where(Workshop.id == ws.id, Workshop.joined > 0)
                     .values(joined=Workshop.joined - 1))
    await bump(db, ws)
    await audit(db, user, "workshop.remove_participant", f"workshop {ws.id}")
    await db.flush()
    await db.refresh(ws)
    after_commit(db, scrub_deleted)  # the nickname goes from the files too


async def new_room_code(db: AsyncSession, ws: Workshop, user: User | None) -> str:
    """A new code for the room (the old one was shared outside it): the old code stops working at
    once. People already in the room stay in it (their cookie is kept for every room address)."""
    if ws.status == "closed":
        raise Conflict("workshop: the workshop is closed; its code shows the feedback")
    for _ in range(20):
        code = random_code(CODE_LEN)
        if (await db.execute(select(Workshop.id).where(Workshop.code == code))).first() is None:
            ws.code = code
            await bump(db, ws)
            await audit(db, user, "workshop.new_code", f"workshop {ws.id}")
            await db.flush()
            return code
    raise Conflict("code: could not find a free code, try again")


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


# ---------- e-mail nudges ----------

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\\\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
MAX_SUBSCRIPTIONS = 100  # per statement: enough for a room, not a mailing list


def unsubscribe_token(secret: str, sub_id: str) -> str:
    mac = hmac.new(secret.encode(), f"workshop-unsubscribe:{sub_id}".encode(), hashlib.sha256).hexdigest()
    return f"{sub_id}.{mac[:32]}"


def _sub_id_of(secret: str, token: str) -> str | None:
    sub_id, _, _mac = (token or "").partition(".")
    if len(sub_id) != 32 or not hmac.compare_digest(unsubscribe_token(secret, sub_id), token):
        return None
    return sub_id


def unsubscribe_link_ok(secret: str, token: str) -> bool:
    return _sub_id_of(secret, token) is not None


async def subscribe(db: AsyncSession, ws: Workshop, sid: str, secret: str, address: str, lang: str) -> str:
    """Keeps the address sealed, for this statement only; returns the unsubscribe token."""
    if ws.status != "closed":
        raise Conflict("email: you can follow a statement when the workshop has ended")
    st = await statement_of(db, ws, sid)
    if not st.released:
        raise NotFoundException("statement: no such statement in this workshop")
    address = (address or "").strip()
    if len(address) > 254 or not _ADDRESS.match(address):
        raise FieldError("email", "write an e-mail address like name@example.se")
    if st.response_status in FINAL_STATUSES:
        raise Conflict("email: this statement has its final answer; there will be no more news")
    n = (await db.execute(select(func.count()).select_from(Subscription)
                          .where(Subscription.statement_id == st.id))).scalar_one()
    if n >= MAX_SUBSCRIPTIONS:
        raise Conflict("email: too many addresses follow this statement already")
    sub = Subscription(statement_id=st.id, address=seal(secret, address),
                       lang=lang if lang in LANGUAGES else DEFAULT_LANG)
    db.add(sub)
    await db.flush()
    return unsubscribe_token(secret, sub.id)


async def _secure_delete(db: AsyncSession) -> None:
    # SQLite keeps deleted rows' bytes in free pages unless told to overwrite them; once committed,
    # the WAL's older frames (SQLite) or the table's old tuples (PostgreSQL) are cleared too.
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(sql_text("PRAGMA secure_delete=ON"))
    after_commit(db, _vacuum_subscriptions)


async def _vacuum_subscriptions(engine) -> None:
    await vacuum_tables(engine, ["workshop_subscription"])


async def unsubscribe(db: AsyncSession, secret: str, token: str) -> bool:
    sub_id = _sub_id_of(secret, token)
    if sub_id is None:
        return False
    await _secure_delete(db)
    res = await db.execute(delete(Subscription).where(Subscription.id == sub_id))
    await db.flush()
    return res.rowcount > 0


async def purge_subscriptions(db: AsyncSession, day: dt.date | None = None) -> int:
    """Deletes the addresses of statements that are final and whose reply window has passed."""
    day = day or today()
    done = select(Statement.id).where(Statement.replies_until.is_not(None), Statement.replies_until < day)
    if (await db.execute(select(func.count()).select_from(Subscription)
                         .where(Subscription.statement_id.in_(done)))).scalar_one() == 0:
        return 0
    await _secure_delete(db)
    res = await db.execute(delete(Subscription).where(Subscription.statement_id.in_(done)))
    await db.flush()
    return res.rowcount


async def subscribers(db: AsyncSession, sid: str, secret: str) -> list[tuple[str, str, str]]:
    """(address, language, unsubscribe token) of everyone following the statement."""
    out = []
    for sub in (await db.execute(select(Subscription).where(Subscription.statement_id == sid)
                                 .order_by(Subscription.id))).scalars():
        address = unseal(secret, sub.address)
        if address:
            out.append((address, sub.lang, unsubscribe_token(secret, sub.id)))
    return out


async def require_participant(db: AsyncSession, ws: Workshop, token: str | None) -> Participant:
    """Public JSON routes: the participant token as `Authorization: Bearer`. A staff token
    never matches (different prefix and hash domain)."""
    who = await participant_for(db, ws, token)
    if who is None:
        raise NotAuthorizedException("participant_token: join the workshop first")
    return who


def unit_of(staff, ws: Workshop) -> Unit:
    return next(u for u in staff.units if u.id == ws.unit_id)


def join_url(base: str, code: str) -> str:
    return f"{base}/w/{code}"


async def reload(db: AsyncSession, ws: Workshop) -> Workshop:
    """After a refused change: drop what the session holds and read the workshop again to show the page.
    Objects already loaded (the staff user and units) are detached first, so they stay readable; the
    request's transaction is rolled back at its end anyway, because the answer is a 4xx."""
    db.expunge_all()
    await db.rollback()
    return await db.get(Workshop, ws.id)
