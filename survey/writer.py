"""Group commit for anonymous answers.

Answers that arrive while a transaction is being written wait for the next one and
are all written together: one check of their surveys, one insert of the answers into
the intake (survey/store.py; sealed under the service's key, survey/sealing.py; the next release opens
them and moves them, shuffled, into the tables the statistics read, and rewrites the spent codes and
once-only values, so this transaction leaves no row version that outlives the release) and one
commit for the lot. Each request is answered only
after the transaction holding its answer committed, so a 201 still means stored.
One answer's problem (a spent code, a form sent twice) touches only that answer;
an unexpected database error makes the batch retry answer by answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from youthvoice.db import sync_sqlite_engine

from .models import SubmissionNonce, Survey, SurveyCode
from .sealing import Sealer
from .store import dialect_insert, store_intake_now


class CodeSpent(Exception):
    """The one-time code is unknown or was already used (the same outcome for both)."""


class AlreadyReceived(Exception):
    """The same form was sent twice (double tap, back and resend)."""


class Stale(Exception):
    """The survey was closed or changed since the snapshot the answer was checked against."""


@dataclass
class Pending:
    """One checked answer waiting for its transaction."""

    row: dict[str, Any]  # the full `response` row
    version_number: int
    day: dt.date
    code: str = ""  # normalised; "" for open surveys
    nonce: str | None = None  # the form's once-only value
    outcome: BaseException | None = None
    done: asyncio.Future | None = field(default=None, repr=False)


_SPEND = (update(SurveyCode).where(SurveyCode.survey_id == bindparam("sid"), SurveyCode.code == bindparam("c"),
                                   SurveyCode.spent.is_(False)).values(spent=True, pending=True))
_UNSPEND = (update(SurveyCode).where(SurveyCode.survey_id == bindparam("sid"), SurveyCode.code == bindparam("c"))
            .values(spent=False, pending=False))


@cache
def _mark_nonce(dialect: str):
    return dialect_insert(dialect)(SubmissionNonce).on_conflict_do_nothing(index_elements=["nonce_hash"])


def nonce_hash(survey_id: int, nonce: str) -> str:
    return hashlib.sha256(f"{survey_id}|{nonce}".encode()).hexdigest()


def _apply(conn: Connection, batch: list[Pending], *, one_by_one: bool, sealer: Sealer | None = None) -> None:
    """Sets each item's outcome (None = stored) and writes the stored ones; the caller commits.

    A batch looks up its once-only values (the form's, an app's Idempotency-Key) in one query
    before any code is spent, so an answer sent again is AlreadyReceived, not a spent code; it
    inserts them in one statement: a value that another worker stored in between makes that
    insert fail, and the caller then writes the batch one by one, where each value is inserted
    on its own and checked.
    """
    ids = {p.row["survey_id"] for p in batch}
    surveys = {r.id: r for r in (conn.execute(
        select(Survey.id, Survey.status, Survey.current_version, Survey.opens, Survey.closes)
        .where(Survey.id.in_(ids)))).all()}
    hashes = {id(p): nonce_hash(p.row["survey_id"], p.nonce) for p in batch if p.nonce}
    seen: set[str] = set()
    if hashes:
        seen = set((conn.execute(select(SubmissionNonce.nonce_hash).where(
            SubmissionNonce.nonce_hash.in_(set(hashes.values()))))).scalars())
    keep, marks = [], []
    for p in batch:
        s, sid = surveys.get(p.row["survey_id"]), p.row["survey_id"]
        if (s is None or s.status != "published" or s.current_version != p.version_number
                or not s.opens <= p.day <= s.closes):
            p.outcome = Stale()
            continue
        digest = hashes.get(id(p))
        if digest is not None and digest in seen:  # this form was already sent (before, or in this batch)
            p.outcome = AlreadyReceived()
            continue
        if p.code and (conn.execute(_SPEND, {"sid": sid, "c": p.code})).rowcount != 1:
            # Unknown or already used: one outcome for both, so trying a code tells nobody which.
            p.outcome = CodeSpent()
            continue
        if digest is not None:
            if one_by_one:
                marked = conn.execute(_mark_nonce(conn.dialect.name),
                                            {"nonce_hash": digest, "month": p.row["month"], "pending": True})
                if marked.rowcount != 1:  # stored meanwhile by another worker
                    if p.code:
                        conn.execute(_UNSPEND, {"sid": sid, "c": p.code})
                    p.outcome = AlreadyReceived()
                    continue
            else:
                marks.append({"nonce_hash": digest, "month": p.row["month"], "pending": True})
            seen.add(digest)
        keep.append(p.row)
    if marks:
        conn.execute(insert(SubmissionNonce), marks)
    store_intake_now(conn, keep, sealer)


class AnswerWriter:
    """One per application (per engine); see the module docstring.

    A short-lived task writes while answers are waiting and ends when none are: the
    answers that queue up during one transaction form the next. Requests only wait
    for their own answer, so none is kept waiting for a stream of later ones.
    """

    def __init__(self, engine: AsyncEngine, sealer: Sealer | None = None):
        self.engine = engine
        self.sealer = sealer
        self._queue: list[Pending] = []
        self._task: asyncio.Task | None = None
        self._sync: Engine | None = None

    async def write(self, item: Pending) -> None:
        """Returns once the answer is committed; raises the item's own problem."""
        item.done = asyncio.get_running_loop().create_future()
        self._queue.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        # Shielded: a phone that hangs up cancels its request, not the transaction others wait for.
        await asyncio.shield(item.done)
        if item.outcome is not None:
            raise item.outcome

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            await self._flush(batch)

    async def _flush(self, batch: list[Pending]) -> None:
        one_by_one = len(batch) == 1
        try:
            if self.engine.dialect.name == "sqlite":
                # The whole transaction in one worker thread on a plain sqlite3 connection: one
                # hand-over per batch instead of one per statement (aiosqlite).
                await asyncio.to_thread(self._write_sqlite, batch, one_by_one)
            else:
                async with self.engine.begin() as conn:
                    await conn.run_sync(_apply, batch, one_by_one=one_by_one, sealer=self.sealer)
        except Exception as e:  # noqa: BLE001  (told to each request below)
            if len(batch) > 1:
                for p in batch:  # one by one: a single bad answer must not sink the others
                    p.outcome = None
                    await self._flush([p])
                return
            batch[0].outcome = e
        for p in batch:
            if not p.done.done():
                p.done.set_result(None)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()
            self._sync = None

    def _write_sqlite(self, batch: list[Pending], one_by_one: bool) -> None:
        if self._sync is None:
            self._sync = sync_sqlite_engine(self.engine)
        with self._sync.begin() as conn:
            # The driver would begin only at the first write, leaving the survey and nonce
            # checks outside the transaction; take the write lock first instead.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            _apply(conn, batch, one_by_one=one_by_one, sealer=self.sealer)


def writer_of(state: Any) -> AnswerWriter:
    """The application's writer, made on first use (after start-up made the engine)."""
    writer = getattr(state, "answer_writer", None)
    if writer is None or writer.engine is not state.engine:
        settings = getattr(state, "settings", None)
        sealer = Sealer(settings.secret_key) if settings is not None else None
        writer = state.answer_writer = AnswerWriter(state.engine, sealer)
        if not hasattr(state, "closers"):
            state.closers = []
        state.closers.append(writer.close)
    return writer
