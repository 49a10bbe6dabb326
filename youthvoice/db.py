"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Request
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def random_id() -> str:
    """Random, non-sequential primary keys: ids must not reveal insertion order."""
    return secrets.token_hex(16)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_no_implicit_begin(dbapi_conn, _record) -> None:
    # pysqlite starts transactions on its own and not before a SAVEPOINT, so a savepoint's RELEASE
    # committed half a request on SQLite. SQLAlchemy's recipe: the driver begins nothing, we do.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kw: object) -> AsyncEngine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kw)


def sync_sqlite_engine(engine: AsyncEngine) -> Engine:
    """A plain (pysqlite) engine on the same SQLite file, with the same settings, for work done
    in a thread. One connection, handed between threads but used by one at a time."""
    url = engine.url.set(drivername="sqlite")
    sync = create_engine(url, connect_args={"check_same_thread": False}, pool_size=1, max_overflow=0)
    event.listen(sync, "connect", _sqlite_pragmas)
    return sync


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


SESSION_KEY = "_yv_db"


async def provide_db(state: State, request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one session. Services only flush; `finish_request` commits once when the
    answer is a success, or rolls back, so a handler that calls two services never leaves half."""
    session = state.sessionmaker()
    request.scope.setdefault("state", {})[SESSION_KEY] = session
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise


async def finish_request(message: Message, scope: Scope) -> None:
    """before_send hook: at the start of the response, commit on 1xx-3xx, roll back on 4xx/5xx."""
    if message["type"] != "http.response.start":
        return
    session = scope.get("state", {}).pop(SESSION_KEY, None)
    if session is None:
        return
    try:
        if message["status"] < 400:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()
