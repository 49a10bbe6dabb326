"""E-mail nudges without HTTP: a young person may leave an address to hear when a statement gets an
answer; the address is sealed, removed on unsubscribe and purged after the feedback period."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from litestar.exceptions import NotFoundException
from sqlalchemy import delete, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today
from youthvoice.db import after_commit, is_read_only, vacuum_tables, write_apart
from youthvoice.errors import FieldError
from youthvoice.i18n import DEFAULT_LANG, LANGUAGES
from youthvoice.mail import seal, unseal

from .models import FINAL_STATUSES, Statement, Subscription, Workshop
from .service import Conflict, statement_of

# ---------- e-mail nudges ----------

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\\\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
MAX_SUBSCRIPTIONS = 100  # per statement: enough for a room, not a mailing list
# Per client address (an IPv4 address or an IPv6 /64) and statement, per day: a room of ten behind one
# school network fits, and filling a statement's MAX_SUBSCRIPTIONS takes ten addresses, not one phone
# pressing the button for seven seconds (issue 25).
FOLLOWS_PER_ADDRESS = 10
FOLLOW_WINDOW = 24 * 3600


class Full(Conflict):
    """The statement already has MAX_SUBSCRIPTIONS addresses."""


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
        raise Full("email: too many addresses follow this statement already")
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
    if is_read_only(db):  # a page that only reads found addresses due for deletion: delete them now, apart
        return await write_apart(db, lambda s: _delete_done(s, done))
    return await _delete_done(db, done)


async def _delete_done(db: AsyncSession, done) -> int:
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
