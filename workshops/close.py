"""Review and close without HTTP: the review starts and can go back to writing; close releases what the
group approved and deletes everything else, from the database files too."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.auth import audit
from youthvoice.clock import today
from youthvoice.db import scrub_after_commit
from youthvoice.models import Unit, User

from .models import Participant, Revision, Statement, Support, Vote, Workshop
from .service import CLOSE_TABLES, Conflict, bump
from .statements import is_approved, vote_counts

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



async def close(db: AsyncSession, ws: Workshop, unit: Unit, user: User | None) -> list[str]:
    """Releases what the group approved; deletes everything else from the room:
    unapproved statements with their revisions, supports, votes, and every participant
    (tokens and nicknames). Once that is committed, the deleted bytes are removed from the
    database files too (`scrub_after_commit`: recorded in this transaction, run after the commit and
    retried by the scheduler until it has run)."""
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
    scrub_after_commit(db, "close", CLOSE_TABLES)
    return released
