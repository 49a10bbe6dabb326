"""Workshop rooms without HTTP: set-up, codes and tokens, lookups, joining and getting back in, and the
people and the code of a room for staff. Co-writing and votes are in statements.py, review and close in
close.py, answers and replies after close in feedback.py, e-mail nudges in subscriptions.py.

Every change bumps `workshop.version`; live views poll that counter in the
database, so updates reach phones connected to any app worker."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException, TooManyRequestsException
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import audit
from youthvoice.clock import today
from youthvoice.codes import normalise_code, random_code
from youthvoice.db import scrub_after_commit, vacuum_tables
from youthvoice.errors import FieldError
from youthvoice.models import Unit, User
from youthvoice.text import clean_name

from .models import MAX_PARTICIPANTS, Participant, Statement, Support, Vote, Workshop
from .schemas import COMPOSITION_FIELDS, WorkshopDef

# Room codes in the shared alphabet (youthvoice/codes.py). 24^8 ≈ 1.1·10^11 codes. With 20 live codes
# (open rooms and a year of feedback) and at most WORKSHOP_CODE_MISSES wrong codes in ten minutes from
# all addresses together (and code_miss_limit from any one), a guess succeeds about once in 170 years
# (RELIABILITY.md).
CODE_LEN = 8
WORKSHOP_CODE_MISSES = 600
# Seats of one room taken from one address: settings.join_burst (10) every 20 seconds, so ten phones on
# a venue's Wi-Fi (one address behind NAT) pressing "Join" together all get in at once (issue 27).
# Taking seats needs the room's code, which only guessing past the limits above could find; a room
# taken by someone who saw the code is emptied by staff (remove, new code).
JOIN_WINDOW = 20
# Per ten minutes, from all addresses: ten seats many times over (presses again, rejoins after staff
# removed someone); it bounds the writes one room's joins can cause, the seats are bounded anyway.
JOINS_PER_ROOM = 100
TOKEN_PREFIX = "yvp_"
# Personal rejoin codes: 24^8 ≈ 1.1·10^11 per room, of which at most 10 are valid. Wrong ones are counted
# per address (with every other wrong code) and per room: after ROOM_REJOIN_MISSES in ten minutes the
# room takes no more tries from anyone, so a pool of addresses gets ~30 tries per ten minutes, about
# 4 300 in a whole day, and a seat is found with a chance below 1 in 2 million.
REJOIN_LEN = 8
OLD_REJOIN_LEN = 5  # codes handed out before: they keep working for the rooms still open
ROOM_REJOIN_MISSES = 30
MAX_THEMES = 20


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
    codes together, answered more slowly, and refused with 429 once over the limit (youthvoice.ratelimit)."""
    return await request.app.state.limiter.guarded(
        request, "workshop", lambda: by_code(db, code), request.app.state.settings.code_miss_limit,
        WORKSHOP_CODE_MISSES)


def _join_keys(request, code: str) -> list[tuple[str, str, int]]:
    limiter, room = request.app.state.limiter, normalise_code(code)
    return [("join", limiter.digest("join", limiter.address(request), room), JOIN_WINDOW),
            ("join-room", limiter.digest("join-room", room), 600)]


async def limit_joins(request, ws: Workshop, code: str) -> None:
    """429 before a join when seats of this room were taken from this address settings.join_burst
    times in the last JOIN_WINDOW seconds, or JOINS_PER_ROOM times in ten minutes from anywhere.
    Only seats taken count (`count_join`, in the join's own transaction): ten phones pressing together
    on one address, a press again after "try again", a phone already in the room cost nothing
    (issue 27: a room could not fill from a venue's Wi-Fi). Only read here, so it may come after the
    request's own reads (a count written then on another connection would make the request's own
    write fail on SQLite: its snapshot would be stale)."""
    if ws.joined >= MAX_PARTICIPANTS:
        return  # no seat to take: the phone is told the room is full, not to wait
    keys, limits = _join_keys(request, code), (request.app.state.settings.join_burst, JOINS_PER_ROOM)
    limiter = request.app.state.limiter
    for (bucket, key, window), most in zip(keys, limits, strict=True):
        if (await limiter.counts(bucket, [key], window)).get(key, (0, 0))[0] >= most:
            raise TooManyRequestsException("join: many are joining from here right now. Wait a few seconds and "
                                           "try again.", headers={"Retry-After": str(JOIN_WINDOW)})


async def count_join(request, db: AsyncSession, code: str) -> None:
    """A seat was taken: counted in the same transaction as the seat (see limit_joins)."""
    await request.app.state.limiter.add_in(db, _join_keys(request, code))


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
    if len(code) not in (REJOIN_LEN, OLD_REJOIN_LEN):
        raise FieldError("rejoin", "Write the personal code you got in the room (8 characters).")
    p = (await db.execute(select(Participant).where(Participant.workshop_id == ws.id,
                                                    Participant.rejoin_hash == rejoin_digest(ws.id, code))))\
        .scalar_one_or_none()
    if p is None:
        raise FieldError("rejoin", "We do not know this personal code in this room. Check the letters.")
    token = new_participant_token()
    p.token_hash = participant_digest(token)
    await db.flush()
    return token, code


async def rejoin_guarded(request, db: AsyncSession, ws: Workshop, raw_code: str) -> tuple[str, str]:
    """`rejoin` for a request from outside: a wrong personal code is a miss of this address (with all
    its wrong codes) and of this room; 429 before the lookup once either is over its limit."""
    limiter, scope = request.app.state.limiter, f"rejoin:{ws.id}"
    await limiter.refuse_guessing(request, scope, request.app.state.settings.code_miss_limit, ROOM_REJOIN_MISSES,
                                  hard=True)
    try:
        return await rejoin(db, ws, raw_code)
    except FieldError:
        await limiter.missed(request, scope)
        raise


def rejoin_code_in(ws: Workshop, me: Participant | None, cookie: str | None) -> str | None:
    """The personal code carried in the room cookie, if it is this participant's."""
    if me is None or not cookie or "." not in cookie or not me.rejoin_hash:
        return None
    code = cookie.split(".", 1)[1]
    return code if rejoin_digest(ws.id, code) == me.rejoin_hash else None




# ---------- deleted means gone from the files (close, removing someone) ----------

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
    scrub_after_commit(db, "close", CLOSE_TABLES)  # the nickname goes from the files too


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
