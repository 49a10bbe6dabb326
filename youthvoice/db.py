"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from litestar import Request, Response
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
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


log = logging.getLogger("youthvoice.db")
T = TypeVar("T")

# After a checkpoint has copied the WAL back, SQLite cuts the -wal file down to this size, so old frames
# (answers, workshop text) do not pile up in it between the TRUNCATE checkpoints (docs/anonymity.md).
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros in the page, not just unlinked: text deleted at a
    # workshop's close must not stay readable in the file (not every SQLite build has it on).
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    cur.close()


PRIVATE_FILE = 0o600


def private_file(path: str | Path) -> None:
    """Creates `path` (if missing) readable and writable by this user only, or takes group and
    others' access away from an existing one. SQLite gives its -wal and -shm files the mode of the
    database file, so a private database file makes them private too."""
    p = Path(path)
    p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        if stat.S_IMODE(p.stat().st_mode) & 0o077:
            os.chmod(p, PRIVATE_FILE)


def _sqlite_no_implicit_begin(dbapi_conn, _record) -> None:
    # pysqlite starts transactions on its own and not before a SAVEPOINT, so a savepoint's RELEASE
    # committed half a request on SQLite. SQLAlchemy's recipe: the driver begins nothing, we do.
    dbapi_conn.isolation_level = None


# Execution option naming how a SQLite transaction begins. "IMMEDIATE" takes the write lock at BEGIN,
# waiting for it up to the busy timeout. A deferred transaction that has read and then writes cannot
# wait: once another connection has committed since its read, SQLite answers SQLITE_BUSY at once
# (its snapshot is stale), so ten phones writing in one room were refused with 503 although the
# busy timeout is 10 s. Every session that may write therefore begins IMMEDIATE; only sessions
# that read (GET pages, live updates) stay deferred, and readers in WAL mode never wait.
SQLITE_BEGIN = "yv_sqlite_begin"
# Execution option on the read-only request sessions: a write through them is a programming mistake
# (the route must be marked `opt={"writes": True}`), caught by `_refuse_write_in_read`.
READ_ONLY = "yv_read_only"
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _sqlite_begin(conn) -> None:
    immediate = conn.get_execution_options().get(SQLITE_BEGIN) == "IMMEDIATE"
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WriteInReadSession(RuntimeError):
    """A GET handler wrote through a read session (see READ_ONLY)."""


def _refuse_write_in_read(conn, _cursor, statement, _params, _context, _executemany) -> None:
    if conn.get_execution_options().get(READ_ONLY) and _WRITE.match(statement):
        raise WriteInReadSession("a write in a read-only request: mark the route opt={'writes': True}")


def make_engine(url: str, **kw: object) -> AsyncEngine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                if suffix == "" or Path(u.database + suffix).exists():
                    private_file(u.database + suffix)
        engine = create_async_engine(url, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine, "before_cursor_execute", _refuse_write_in_read)
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


def make_sessionmaker(engine: AsyncEngine, *, write: bool = True) -> async_sessionmaker[AsyncSession]:
    """Sessions that may write begin as write transactions on SQLite (SQLITE_BEGIN); `write=False`
    gives sessions that only read (and refuse to write)."""
    opts = {SQLITE_BEGIN: "IMMEDIATE"} if write else {SQLITE_BEGIN: "DEFERRED", READ_ONLY: True}
    return async_sessionmaker(engine.execution_options(**opts), expire_on_commit=False)


def is_read_only(db: AsyncSession) -> bool:
    return bool(db.bind.get_execution_options().get(READ_ONLY))  # type: ignore[union-attr]


async def write_apart(db: AsyncSession, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`await fn(session)` in a write transaction of its own on `db`'s database, committed now: for
    the one write of a request that otherwise only reads (an export's audit row, a page that finds
    addresses due for deletion)."""
    engine = db.bind.execution_options(**{SQLITE_BEGIN: "IMMEDIATE", READ_ONLY: False})  # type: ignore[union-attr]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await fn(session)
        await session.commit()
    # Its after-commit steps (a checkpoint) run when `db` ends: its read would hold them back now.
    db.info.setdefault(AFTER_COMMIT, []).extend(session.info.pop(AFTER_COMMIT, []))
    return result


SESSION_KEY = "_yv_db"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The request's scope, for the after_request hook (which is given only the response). Set by the
# before_request hook in the request's own task: dependencies may be resolved in other tasks, whose
# context variables do not come back.
_REQUEST_SCOPE: ContextVar[Scope | None] = ContextVar("yv_request_scope", default=None)


async def note_request(request: Request) -> None:
    """before_request hook: remembers the scope for `commit_request`."""
    _REQUEST_SCOPE.set(request.scope)


def writes(request: Request) -> bool:
    """Does this request's transaction write? Every method but GET/HEAD/OPTIONS, and a GET whose
    route says so (`opt={"writes": True}`, e.g. an export that writes its audit row)."""
    return request.method not in READ_METHODS or bool(request.route_handler.opt.get("writes"))


async def provide_db(state: State, request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one session. Services only flush; `commit_request` commits once when the
    handler's answer is a success, before a byte of it is sent, or `finish_request` rolls back, so
    a handler that calls two services never leaves half."""
    write = writes(request)
    session = (state.sessionmaker if write else state.read_sessionmaker)()
    session.info[HOLDS_WRITE_LOCK] = write and state.engine.dialect.name == "sqlite"
    request.scope.setdefault("state", {})[SESSION_KEY] = session
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise


HOLDS_WRITE_LOCK = "yv_holds_write_lock"
WHEN_UNLOCKED = "_yv_when_unlocked"


async def when_unlocked(scope: Scope, fn: Callable[[], Awaitable[object]]) -> None:
    """Runs `fn` now, or — when this request's own SQLite write transaction is open — once it has
    ended, before the response starts. For writes on another connection in a request that fails
    (a wrong code's or password's count): they would wait for the write lock this request holds."""
    state = scope.get("state", {})
    session = state.get(SESSION_KEY)
    if session is not None and session.info.get(HOLDS_WRITE_LOCK) and session.in_transaction():
        state.setdefault(WHEN_UNLOCKED, []).append(fn)
    else:
        await fn()


async def commit_request(response: Response) -> Response:
    """after_request hook: commits the request's session when the handler's answer is a success,
    before the response starts. A commit that fails (SQLite still locked after its busy timeout,
    a full disk) is raised here, so the exception handlers answer it (503 "try again") and the
    client and the access log see that status, never a 200 whose commit failed after it was sent."""
    scope = _REQUEST_SCOPE.get()
    session = None if scope is None else scope.get("state", {}).get(SESSION_KEY)
    status = getattr(response, "status_code", None)
    if session is None or status is None or status >= 400:
        return response
    try:
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    session.info[COMMITTED] = True
    return response


AFTER_COMMIT = "yv_after_commit"
COMMITTED = "yv_committed"
AfterCommit = Callable[[AsyncEngine], Awaitable[object]]


def after_commit(session: AsyncSession, fn: AfterCommit) -> None:
    """Runs `fn(engine)` once the session's transaction has been committed (never after a rollback):
    for work that must see the committed state and cannot run inside a transaction, e.g. the WAL
    checkpoint or VACUUM after a workshop's close. Services register it; `finish_request` (or
    `run_after_commit` for a command that commits itself) runs it."""
    session.info.setdefault(AFTER_COMMIT, []).append(fn)


async def run_after_commit(session: AsyncSession) -> None:
    """Runs (and forgets) what was registered with `after_commit`; a failure is logged, not raised:
    the request's change is committed and stays so."""
    engine = session.bind
    for fn in session.info.pop(AFTER_COMMIT, []):
        try:
            await fn(engine)  # type: ignore[arg-type]
        except Exception:
            log.exception("after-commit step %s failed", getattr(fn, "__name__", fn))


async def finish_request(message: Message, scope: Scope) -> None:
    """before_send hook: at the start of the response, commit on 1xx-3xx, roll back on 4xx/5xx;
    after a commit, the steps registered with `after_commit` run."""
    if message["type"] != "http.response.start":
        return
    session = scope.get("state", {}).pop(SESSION_KEY, None)
    if session is None:
        return
    committed = bool(session.info.pop(COMMITTED, False))
    try:
        if committed:
            pass  # commit_request committed before the response started
        elif message["status"] < 400:
            await session.commit()
            committed = True
        else:
            await session.rollback()
    finally:
        if not committed:
            session.info.pop(AFTER_COMMIT, None)
        await session.close()
        for fn in scope.get("state", {}).pop(WHEN_UNLOCKED, []):
            await fn()
    if committed:
        await run_after_commit(session)


async def checkpoint_wal(engine: AsyncEngine) -> tuple[int, int, int] | None:
    """SQLite: copies the write-ahead log into the database file and truncates the -wal file to
    zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), so no frame written before this moment stays in
    it. Called after each release of answers and after each workshop's close. Waits for readers
    (busy_timeout); returns SQLite's (busy, log frames, checkpointed frames), busy = 0 when the WAL
    was truncated. Other databases: nothing to do, returns None."""
    if engine.dialect.name != "sqlite":
        return None
    async with engine.connect() as conn:
        # Outside any transaction: a connection that holds a read snapshot cannot truncate the log.
        raw = await conn.get_raw_connection()
        dbapi = raw.driver_connection
        cursor = await dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = await cursor.fetchone()
        await cursor.close()
    busy, frames, done = row
    if busy:
        log.warning("WAL checkpoint could not truncate the log: a reader was busy (%s of %s frames)", done, frames)
    return busy, frames, done


async def vacuum_tables(engine: AsyncEngine, tables: list[str]) -> None:
    """Removes deleted rows' bytes from the storage of `tables` once a deletion has been committed.
    SQLite (secure_delete zeroed them in the pages): checkpoint the WAL with TRUNCATE, so no older
    frame holds them. PostgreSQL: VACUUM FULL rewrites the tables into new files and drops the old
    ones (plain VACUUM only marks the space free, the bytes stay in the page); it takes a short
    exclusive lock, so it gives up after a few seconds and falls back to a plain VACUUM.
    What stays in pg_wal until PostgreSQL recycles it is described in docs/anonymity.md."""
    if engine.dialect.name == "sqlite":
        await checkpoint_wal(engine)
        return
    names = ", ".join(engine.dialect.identifier_preparer.quote(t) for t in tables)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM refuses to run in a transaction
        await conn.execute(text("SET lock_timeout = '5s'"))
        try:
            await conn.execute(text(f"VACUUM FULL {names}"))
        except DBAPIError:  # lock_timeout: a long transaction holds one of the tables
            log.warning("VACUUM FULL of %s did not get its lock in time; plain VACUUM instead", names)
            await conn.execute(text(f"VACUUM {names}"))
