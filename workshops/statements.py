"""Co-writing in the room without HTTP: statements with revisions and their author role, themes, what the
room and the projector show, supports, and the votes of the review with the release rule."""

from __future__ import annotations

import math

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.errors import FieldError
from youthvoice.text import clean_user_text

from .models import SCREEN_STATES, Participant, Revision, Statement, Support, Vote, Workshop
from .service import Conflict, bump

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



# ---------- the review's votes and the release rule ----------

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
