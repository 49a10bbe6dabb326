"""Writing answers: the rows and their counts in one transaction.

Every path that stores answers goes through `store_responses` / `store_responses_now`
(the answer writer behind the phone form and the JSON API, the demo's bulk load, tests), so `response_count` always equals the
answers counted per cell; `tests/survey/test_counts_table.py` checks that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from .models import Response, ResponseCount

KEY = ("survey_id", "version_id", "month", "gender", "age_band", "newly_arrived", "disability")
SUMS = ("n", "closer_k", "closer_n", "useful_k", "useful_n")


def cell_of(row: Mapping[str, Any]) -> tuple:
    """(key..., unit_id) of one answer's count cell; unanswered background is ''."""
    return (row["survey_id"], row["version_id"], row["month"],
            *((row.get(c) or "") for c in KEY[3:]), row["unit_id"])


def sums_of(row: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    closer, useful = row.get("closer"), row.get("useful")
    return (1, int(closer is not None and closer >= 4), int(closer is not None),
            int(useful is not None and useful >= 4), int(useful is not None))


def count_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The count rows to add for some answers, one per cell, in key order
    (a fixed order keeps concurrent writers from deadlocking on PostgreSQL)."""
    cells: dict[tuple, list[int]] = {}
    for row in rows:
        acc = cells.setdefault(cell_of(row), [0, 0, 0, 0, 0])
        for i, v in enumerate(sums_of(row)):
            acc[i] += v
    return [{**dict(zip(KEY, cell[:-1])), "unit_id": cell[-1], **dict(zip(SUMS, acc))}
            for cell, acc in sorted(cells.items())]


def dialect_insert(dialect: str):
    """The INSERT with ON CONFLICT clauses for this database (PostgreSQL, else SQLite)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


@cache
def _upsert(dialect: str):
    stmt = dialect_insert(dialect)(ResponseCount)
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={s: getattr(ResponseCount, s) + getattr(stmt.excluded, s) for s in SUMS})


def add_counts_now(conn: Connection | Session, counts: list[dict[str, Any]]) -> None:
    """Synchronous: for code that runs on a plain connection (the answer writer, run_sync)."""
    if counts:
        bind = conn.get_bind() if isinstance(conn, Session) else conn
        conn.execute(_upsert(bind.dialect.name), counts)


def store_responses_now(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Synchronous `store_responses`."""
    if rows:
        conn.execute(insert(Response), rows)
        add_counts_now(conn, count_rows(rows))


async def add_counts(conn: AsyncConnection | AsyncSession, counts: list[dict[str, Any]]) -> None:
    await conn.run_sync(add_counts_now, counts)


async def store_responses(conn: AsyncConnection | AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Inserts answers (full `response` rows) and adds them to the counts; the caller commits."""
    await conn.run_sync(store_responses_now, rows)
