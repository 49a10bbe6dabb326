"""Writing answers: acknowledged into the intake, moved into the statistics at release.

The answer writer (survey/writer.py) puts each acknowledged answer into `response_intake`,
in the transaction that spends its code. Nothing reads the intake but the release
(`release_intake_now`, called by analysis' publish, which names the surveys whose batch of at
least B answers is due: analysis/calendar.py): it moves those waiting answers, in a
shuffled order and with a fresh random id and a secret record key, into `response` and adds
them to `response_count`, then empties the intake, all in one transaction. So the rows the
statistics read share one transaction id (the release's), sit in an order that says nothing
of arrival, and the transaction that spent a code holds no row that survives the release.

Every path that releases answers goes through `store_responses_now` (the release, the demo's
bulk load, tests), so `response_count` always equals the released answers counted per cell;
`tests/survey/test_counts_table.py` checks that.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from youthvoice.db import random_id

from .models import Response, ResponseCount, ResponseIntake

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


def store_intake_now(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """The writer's part: acknowledged answers wait in the intake; no count moves."""
    if rows:
        conn.execute(insert(ResponseIntake), [{c: r.get(c) for c in ("id", *COLUMNS)} for r in rows])


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
    due) into `response` and `response_count` (shuffled, new random ids, secret record keys) and deletes exactly those from the intake; returns the surveys that got
    answers. The caller commits, then checkpoints (SQLite) or vacuums the intake (PostgreSQL).

    Answers acknowledged while the release runs stay in the intake for the next one: the delete names
    the ids read, never the whole table (under PostgreSQL's READ COMMITTED a bare DELETE sees rows
    committed after the SELECT and removed answers that were never moved). The rows read are locked
    (FOR UPDATE; SQLite's write transaction already excludes other writers), so two releases cannot
    both move one answer; if the delete does not remove exactly what was read, the release fails."""
    query = select(ResponseIntake.id, *(getattr(ResponseIntake, c) for c in COLUMNS)).with_for_update()
    if surveys is not None:
        surveys = list(surveys)
        if not surveys:
            return set()
        query = query.where(ResponseIntake.survey_id.in_(surveys))
    waiting = [dict(r) for r in conn.execute(query).mappings()]
    if not waiting:
        return set()
    ids = [r.pop("id") for r in waiting]
    store_responses_now(conn, [{**r, "id": random_id()} for r in waiting])
    removed = 0
    for i in range(0, len(ids), DELETE_CHUNK):
        removed += conn.execute(delete(ResponseIntake).where(ResponseIntake.id.in_(ids[i:i + DELETE_CHUNK]))).rowcount
    if removed != len(ids):
        raise IntakeChanged(f"read {len(ids)} waiting answers, deleted {removed}")
    return {r["survey_id"] for r in waiting}


def discard_intake_now(conn: Connection | Session, surveys: Iterable[int]) -> int:
    """Deletes what still waits for closed surveys: a rest smaller than a batch is never released
    (docs/statistics.md, "release calendar"), so that no published figure moves by fewer than B."""
    surveys = list(surveys)
    if not surveys:
        return 0
    return conn.execute(delete(ResponseIntake).where(ResponseIntake.survey_id.in_(surveys))).rowcount or 0


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
