"""Writing answers: acknowledged into the intake, moved into the statistics at release.

The answer writer (survey/writer.py) puts each acknowledged answer into `response_intake`,
sealed (survey/sealing.py: one AES-GCM blob, only the survey and version in clear), in the
transaction that spends its code. Nothing reads the intake but the release
(`release_intake_now`, called by analysis' publish, which names the surveys whose batch of at
least B answers is due: analysis/calendar.py): it opens those waiting answers and moves them,
in a shuffled order and with a fresh random id and a secret record key, into `response` and adds
them to `response_count`, deletes them from the intake and rewrites the codes and once-only values
spent since the last release, all in one transaction. So the rows the statistics read and every
spent code share one transaction id (the release's), sit in an order that says nothing of arrival,
and the transaction that spent a code holds no row version that survives the release and its
cleanup (VACUUM FULL / WAL checkpoint, recorded in `storage_cleanup` until it has run).

Every path that releases answers goes through `store_responses_now` (the release, the demo's
bulk load, tests), so `response_count` always equals the released answers counted per cell;
`tests/survey/test_counts_table.py` checks that.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from youthvoice.db import note_cleanup_now, random_id

from .models import Response, ResponseCount, ResponseIntake, SubmissionNonce, SurveyCode
from .sealing import Sealer, Unreadable, sealer_of

log = logging.getLogger("youthvoice.release")
# What the release deletes or rewrites: their files are rewritten after it (VACUUM FULL on PostgreSQL).
RELEASE_TABLES = ("response_intake", "survey_code", "submission_nonce")

KEY = ("survey_id", "version_id", "month", "gender", "age_band", "newly_arrived", "disability")
SUMS = ("n", "closer_k", "closer_n", "closer_dk", "useful_k", "useful_n", "useful_dk")
KEY_SUMS = tuple(f"{s}_key" for s in SUMS)
KEY_RANGE = 256  # analysis/cellkey.py KEY_RANGE (survey does not import analysis)
COLUMNS = ("survey_id", "version_id", "unit_id", "month", "language", "gender", "age_band", "newly_arrived",
           "disability", "closer", "useful", "answers")
_random = secrets.SystemRandom()


def new_record_key() -> int:
    """A secret record key, uniform on 0..255 (the OS's generator: predictable keys would undo the noise)."""
    return secrets.randbelow(KEY_RANGE)


def cell_of(row: Mapping[str, Any]) -> tuple:
    """(key..., unit_id) of one answer's count cell; unanswered background is ''."""
    return (row["survey_id"], row["version_id"], row["month"],
            *((row.get(c) or "") for c in KEY[3:]), row["unit_id"])


def sums_of(row: Mapping[str, Any]) -> tuple[int, ...]:
    """The answer's 0/1 contribution to each of SUMS. 0 is "don't know" (survey/service.py stat_columns)."""
    closer, useful = row.get("closer"), row.get("useful")
    return (1, int(closer is not None and closer >= 4), int(closer is not None), int(closer == 0),
            int(useful is not None and useful >= 4), int(useful is not None), int(useful == 0))


def count_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The count rows to add for some answers (each with its `record_key`), one per cell, in key
    order (a fixed order keeps concurrent writers from deadlocking on PostgreSQL)."""
    cells: dict[tuple, list[int]] = {}
    width = len(SUMS)
    for row in rows:
        acc = cells.setdefault(cell_of(row), [0] * (2 * width))
        key = row.get("record_key") or 0
        for i, v in enumerate(sums_of(row)):
            if v:
                acc[i] += 1
                acc[width + i] += key
    return [{**dict(zip(KEY, cell[:-1])), "unit_id": cell[-1], **dict(zip(SUMS, acc[:width])),
             **{k: v % KEY_RANGE for k, v in zip(KEY_SUMS, acc[width:])}}
            for cell, acc in sorted(cells.items())]


def dialect_insert(dialect: str):
    """The INSERT with ON CONFLICT clauses for this database (PostgreSQL, else SQLite)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


@cache
def _upsert(dialect: str):
    stmt = dialect_insert(dialect)(ResponseCount)
    # Key sums are kept mod 256: the cell key is all that is ever read from them.
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={**{s: getattr(ResponseCount, s) + getattr(stmt.excluded, s) for s in SUMS},
              **{k: (getattr(ResponseCount, k) + getattr(stmt.excluded, k)) % KEY_RANGE for k in KEY_SUMS}})


def add_counts_now(conn: Connection | Session, counts: list[dict[str, Any]]) -> None:
    """Synchronous: for code that runs on a plain connection (run_sync)."""
    if counts:
        bind = conn.get_bind() if isinstance(conn, Session) else conn
        conn.execute(_upsert(bind.dialect.name), counts)


def store_responses_now(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Releases answers: gives each a record key if it has none, inserts them in a shuffled
    order and adds them to the counts; the caller commits."""
    if rows:
        rows = [{**r, "record_key": r["record_key"] if r.get("record_key") is not None else new_record_key()}
                for r in rows]
        _random.shuffle(rows)
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Response), rows[i:i + 5000])
        add_counts_now(conn, count_rows(rows))


SEALED = tuple(c for c in COLUMNS if c not in ("survey_id", "version_id"))  # what the intake keeps encrypted


def store_intake_now(conn: Connection | Session, rows: list[dict[str, Any]], sealer: Sealer | None = None) -> None:
    """The writer's part: acknowledged answers wait in the intake, sealed (survey/sealing.py); no
    count moves."""
    if rows:
        sealer = sealer or sealer_of(conn)
        conn.execute(insert(ResponseIntake), [
            {"id": r["id"], "survey_id": r["survey_id"], "version_id": r["version_id"],
             "sealed": sealer.seal(r["id"], r["survey_id"], r["version_id"], {c: r.get(c) for c in SEALED})}
            for r in rows])


def open_intake_now(conn: Connection | Session, rows: Iterable[Mapping[str, Any]]) -> tuple[list[dict], list[str]]:
    """The waiting answers (id, survey_id, version_id, sealed) opened as full rows, and the ids of
    any this installation's key cannot open (left waiting, never dropped)."""
    sealer = sealer_of(conn)
    opened, unreadable = [], []
    for r in rows:
        try:
            fields = sealer.open(r["id"], r["survey_id"], r["version_id"], r["sealed"])
        except Unreadable:
            unreadable.append(r["id"])
            continue
        opened.append({"id": r["id"], "survey_id": r["survey_id"], "version_id": r["version_id"],
                       **{c: fields.get(c) for c in SEALED}})
    return opened, unreadable


def settle_spent_now(conn: Connection | Session) -> None:
    """In the release's transaction: rewrites every code spent and every once-only value stored since
    the last release, so on PostgreSQL their row versions carry the release's transaction id (one for
    all of them) instead of the one that stored an answer (docs/anonymity.md)."""
    conn.execute(update(SurveyCode).where(SurveyCode.pending.is_(True)).values(pending=False))
    conn.execute(update(SubmissionNonce).where(SubmissionNonce.pending.is_(True)).values(pending=False))


DELETE_CHUNK = 500  # ids per DELETE ... WHERE id IN (...): well under any database's parameter limit


class IntakeChanged(RuntimeError):
    """The release could not remove exactly the answers it read: it is rolled back, nothing moves."""


def waiting_counts_now(conn: Connection | Session) -> dict[int, int]:
    """{survey id: answers waiting in the intake}: the release moves a survey's answers only in
    batches of at least B (analysis/calendar.py), so it must know how many wait."""
    q = select(ResponseIntake.survey_id, func.count()).group_by(ResponseIntake.survey_id)
    return {int(sid): int(n) for sid, n in conn.execute(q).all()}


def release_intake_now(conn: Connection | Session, surveys: Iterable[int] | None = None) -> set[int]:
    """Moves the waiting answers it reads (of `surveys` only, when given: the surveys whose batch is
    due) into `response` and `response_count` (shuffled, new random ids, secret record keys) and
    deletes exactly those from the intake; returns the surveys that got answers. The caller commits, then checkpoints (SQLite) or vacuums the intake (PostgreSQL).

    Answers acknowledged while the release runs stay in the intake for the next one: the delete names
    the ids read, never the whole table (under PostgreSQL's READ COMMITTED a bare DELETE sees rows
    committed after the SELECT and removed answers that were never moved). The rows read are locked
    (FOR UPDATE; SQLite's write transaction already excludes other writers), so two releases cannot
    both move one answer; if the delete does not remove exactly what was read, the release fails."""
    query = select(ResponseIntake.id, ResponseIntake.survey_id, ResponseIntake.version_id,
                   ResponseIntake.sealed).with_for_update()
    if surveys is not None:
        surveys = list(surveys)
        if not surveys:
            return set()
        query = query.where(ResponseIntake.survey_id.in_(surveys))
    waiting, unreadable = open_intake_now(conn, conn.execute(query).mappings())
    if unreadable:
        log.error("%s waiting answers cannot be opened with this installation's secret key; they stay waiting",
                  len(unreadable))
    if not waiting:
        return set()
    ids = [r.pop("id") for r in waiting]
    store_responses_now(conn, [{**r, "id": random_id()} for r in waiting])
    removed = 0
    for i in range(0, len(ids), DELETE_CHUNK):
        removed += conn.execute(delete(ResponseIntake).where(ResponseIntake.id.in_(ids[i:i + DELETE_CHUNK]))).rowcount
    if removed != len(ids):
        raise IntakeChanged(f"read {len(ids)} waiting answers, deleted {removed}")
    settle_spent_now(conn)
    # The deleted sealed rows and the codes' old row versions are removed from the files after the
    # commit (analysis/release.py scrub_storage); until that has run, the start page says so.
    note_cleanup_now(conn, "release", RELEASE_TABLES)
    return {r["survey_id"] for r in waiting}


def discard_intake_now(conn: Connection | Session, surveys: Iterable[int]) -> int:
    """Deletes what still waits for closed surveys: a rest smaller than a batch is never released
    (docs/statistics.md, "release calendar"), so that no published figure moves by fewer than B."""
    surveys = list(surveys)
    if not surveys:
        return 0
    n = conn.execute(delete(ResponseIntake).where(ResponseIntake.survey_id.in_(surveys))).rowcount or 0
    if n:
        note_cleanup_now(conn, "release", RELEASE_TABLES)
    return n


async def add_counts(conn: AsyncConnection | AsyncSession, counts: list[dict[str, Any]]) -> None:
    await conn.run_sync(add_counts_now, counts)


async def store_responses(conn: AsyncConnection | AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Inserts released answers (full `response` rows) and adds them to the counts; the caller commits."""
    await conn.run_sync(store_responses_now, rows)


async def release_intake(conn: AsyncConnection | AsyncSession, surveys: Iterable[int] | None = None) -> set[int]:
    return await conn.run_sync(release_intake_now, surveys)


async def waiting_counts(conn: AsyncConnection | AsyncSession) -> dict[int, int]:
    return await conn.run_sync(waiting_counts_now)


async def discard_intake(conn: AsyncConnection | AsyncSession, surveys: Iterable[int]) -> int:
    return await conn.run_sync(discard_intake_now, surveys)
