"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from litestar import Request, Response
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy import (
    DateTime,
    Integer,
    MetaData,
    String,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


def _request_session(scope: Scope | None) -> AsyncSession | None:
    return None if scope is None else scope.get("state", {}).get(SESSION_KEY)


def _holds_write_lock(session: AsyncSession | None) -> bool:
    """Is this request's own SQLite write transaction open (BEGIN IMMEDIATE taken, not yet ended)?"""
    return session is not None and bool(session.info.get(HOLDS_WRITE_LOCK)) and session.in_transaction()


async def when_unlocked(scope: Scope, fn: Callable[[], Awaitable[object]]) -> None:
    """Runs `fn` now, or — when this request's own SQLite write transaction is open — once it has
    ended, before the response starts. For writes on another connection in a request that fails
    (a wrong code's or password's count): they would wait for the write lock this request holds."""
    if _holds_write_lock(_request_session(scope)):
        scope["state"].setdefault(WHEN_UNLOCKED, []).append(fn)
    else:
        await fn()


class WriteLockHeld(RuntimeError):
    """This request holds SQLite's write lock and would wait for itself (see `check_not_holding`)."""


def check_not_holding() -> None:
    """Called before this process writes on another SQLite connection for the current request (the
    rate limits' counts): if the request's own write transaction is already open, that write would
    wait for the lock this very request holds, stalling every writer until the busy timeout. Fail
    at once instead, so a route that counts after reading is found by its tests (count first)."""
    if _holds_write_lock(_request_session(_REQUEST_SCOPE.get())):
        raise WriteLockHeld("a count on another connection after the request began writing: count before reading")


async def commit_request(response: Response) -> Response:
    """after_request hook: commits the request's session when the handler's answer is a success,
    before the response starts. A commit that fails (SQLite still locked after its busy timeout,
    a full disk) is raised here, so the exception handlers answer it (503 "try again") and the
    client and the access log see that status, never a 200 whose commit failed after it was sent."""
    session = _request_session(_REQUEST_SCOPE.get())
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


async def checkpoint_wal(engine: AsyncEngine, wait: float | None = None) -> tuple[int, int, int] | None:
    """SQLite: copies the write-ahead log into the database file and truncates the -wal file to
    zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), so no frame written before this moment stays in
    it. Called after each release of answers and after each workshop's close. Waits for readers
    (busy_timeout, or `wait` seconds: while it waits, writers wait too); returns SQLite's
    (busy, log frames, checkpointed frames), busy = 0 when the WAL was truncated. Other databases:
    nothing to do, returns None."""
    if engine.dialect.name != "sqlite":
        return None
    async with engine.connect() as conn:
        # Outside any transaction: a connection that holds a read snapshot cannot truncate the log.
        raw = await conn.get_raw_connection()
        dbapi = raw.driver_connection
        if wait is not None:
            await dbapi.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            cursor = await dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = await cursor.fetchone()
            await cursor.close()
        finally:
            if wait is not None:
                await dbapi.execute("PRAGMA busy_timeout=10000")
    busy, frames, done = row
    if busy:
        log.warning("WAL checkpoint could not truncate the log: a reader was busy (%s of %s frames)", done, frames)
    return busy, frames, done


# Seconds a cleanup waits for a busy reader (SQLite) or its lock (PostgreSQL) before it is left to the
# scheduler: while it waits, new writes wait behind it.
CLEANUP_WAIT = 2.0
# The scheduler's tries: short, as they may come often while a reader is busy. On SQLite it does not
# wait at all: a TRUNCATE checkpoint that waits for a reader holds every writer back meanwhile.
RETRY_WAIT = {"sqlite": 0.0}
RETRY_WAIT_OTHER = 0.5


async def vacuum_tables(engine: AsyncEngine, tables: list[str] | tuple[str, ...], kind: str = "close",
                        wait: float = CLEANUP_WAIT) -> bool:
    """Removes deleted rows' bytes from the storage of `tables` once a deletion has been committed.
    SQLite (secure_delete zeroed them in the pages): checkpoint the WAL with TRUNCATE, so no older
    frame holds them. PostgreSQL: VACUUM FULL rewrites the tables into new files and drops the old
    ones (plain VACUUM only marks the space free, the bytes stay in the page, so it is never used
    instead). A busy reader (SQLite) or a transaction holding one of the tables (PostgreSQL) can keep
    it from running now: then it is recorded in `storage_cleanup` and the scheduler retries it, with
    back-off, until it has run (`run_cleanups`); the staff start page says so meanwhile.
    Returns whether it ran now. What stays in pg_wal until PostgreSQL recycles it is described in
    docs/anonymity.md."""
    if await _scrub_now(engine, tables, wait):
        return True
    await note_cleanup(engine, kind, tables)
    return False


async def _scrub_now(engine: AsyncEngine, tables: list[str] | tuple[str, ...], wait: float) -> bool:
    if engine.dialect.name == "sqlite":
        busy = await checkpoint_wal(engine, wait)
        return busy is not None and not busy[0]
    names = ", ".join(engine.dialect.identifier_preparer.quote(t) for t in sorted(set(tables)))
    kept: list[int] = []

    def listen(_conn, message) -> None:
        # VERBOSE reports, per table, "N dead row versions cannot be removed yet" (the number first in
        # every language): rows deleted after the snapshot of a transaction still open somewhere, which
        # VACUUM FULL copies into the new file. Then the text is still on disk and it must run again.
        detail = (getattr(message, "detail", None) or "").splitlines()
        found = re.match(r"\s*(\d+)\b", detail[0]) if detail else None
        if found:
            kept.append(int(found.group(1)))

    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM refuses to run in a transaction
        raw = (await conn.get_raw_connection()).driver_connection
        listens = hasattr(raw, "add_log_listener")
        if listens:
            raw.add_log_listener(listen)
        await conn.execute(text(f"SET lock_timeout = '{max(int(wait * 1000), 100)}ms'"))  # 0 would wait for ever
        try:
            await conn.execute(text(f"VACUUM (FULL, VERBOSE) {names}"))
        except DBAPIError as e:  # lock_timeout: a long transaction holds one of the tables
            log.warning("VACUUM FULL of %s did not get its lock in time; retried later (%s)", names,
                        type(e.orig).__name__ if e.orig is not None else e)
            return False
        finally:
            await conn.execute(text("RESET lock_timeout"))
            if listens:
                raw.remove_log_listener(listen)
    if any(kept):
        log.warning("VACUUM FULL of %s had to keep %s deleted row versions that an open transaction can still "
                    "see; retried later", names, sum(kept))
        return False
    return True


class StorageCleanup(Base):
    """Deleted text still in the database's files: a checkpoint (SQLite) or VACUUM FULL (PostgreSQL)
    after a close or a release that could not run yet. Retried by the scheduler until it has run
    (`run_cleanups`), then deleted; the staff start page shows the oldest `since`. A failed try writes
    nothing (its back-off is kept in memory), so retries add no write to a database a reader holds."""

    __tablename__ = "storage_cleanup"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # close, release
    tables: Mapped[str] = mapped_column(String(500))  # comma-separated; VACUUM FULL on PostgreSQL
    since: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC: when the deleted text was committed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _cleanup_row(kind: str, tables: list[str] | tuple[str, ...]) -> dict:
    return {"kind": kind, "tables": ",".join(tables), "since": _now()}


def note_cleanup_now(conn, kind: str, tables: list[str] | tuple[str, ...]) -> None:
    """In the transaction that deletes (a Connection or Session, run_sync): records the cleanup that
    must follow its commit, so that it is retried even if the process stops before it ran."""
    conn.execute(insert(StorageCleanup), [_cleanup_row(kind, tables)])


def scrub_after_commit(session: AsyncSession, kind: str, tables: list[str] | tuple[str, ...]) -> None:
    """For a service that deletes text: records the cleanup in the session's own transaction (so it
    is retried even if the process stops right after the commit) and runs it after the commit."""
    session.add(StorageCleanup(**_cleanup_row(kind, tables)))
    after_commit(session, run_cleanups)


async def note_cleanup(engine: AsyncEngine, kind: str, tables: list[str] | tuple[str, ...]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(StorageCleanup), [_cleanup_row(kind, tables)])


def backoff(retry: float, attempts: int, most: float) -> float:
    """Seconds until the next try after `attempts` failed ones: retry, 2×, 4×, ... at most `most`."""
    return min(retry * 2 ** max(attempts - 1, 0), max(most, retry))


@dataclass
class Retries:
    """The scheduler's back-off, per process: failed tries so far and when the next is due."""

    attempts: int = 0
    due: float = 0.0  # time.monotonic()
    tried: int = 0  # tries made (for the log and the tests)


async def run_cleanups(engine: AsyncEngine, *, retries: Retries | None = None, retry: float = 30.0,
                       most: float = 600.0, wait: float = CLEANUP_WAIT) -> int:
    """Runs the recorded cleanups (with `retries`, only once its back-off has passed); when they ran
    they are deleted, else the back-off grows. Returns how many are left."""
    if retries is not None and time.monotonic() < retries.due:
        return -1
    async with engine.connect() as conn:
        rows = (await conn.execute(select(StorageCleanup.id, StorageCleanup.tables))).all()
    if not rows:
        if retries is not None:
            retries.attempts = 0
        return 0
    tables = sorted({t for r in rows for t in r.tables.split(",") if t})
    if retries is not None:
        retries.tried += 1
    if await _scrub_now(engine, tables, wait):
        async with engine.begin() as conn:
            await conn.execute(delete(StorageCleanup).where(StorageCleanup.id.in_([r.id for r in rows])))
        if engine.dialect.name == "sqlite":
            await checkpoint_wal(engine, wait)  # the delete's own frame: it holds no text, but leave the WAL empty
        if retries is not None:
            retries.attempts = 0
        return 0
    if retries is not None:
        retries.attempts += 1
        retries.due = time.monotonic() + backoff(retry, retries.attempts, most)
    return len(rows)


async def cleanup_on_schedule(engine: AsyncEngine, retry: float, most: float) -> None:
    """The background retry (every worker runs it; a cleanup that runs twice does no harm)."""
    retries = Retries()
    while True:
        await asyncio.sleep(min(retry, 5.0))
        try:
            await run_cleanups(engine, retries=retries, retry=retry, most=most,
                               wait=RETRY_WAIT.get(engine.dialect.name, RETRY_WAIT_OTHER))
        except Exception:
            log.exception("retrying the storage cleanup failed")


async def cleanup_pending_since(db: AsyncSession) -> dt.datetime | None:
    """Since when deleted text has been waiting for its cleanup (None: nothing waits)."""
    return (await db.execute(select(func.min(StorageCleanup.since)))).scalar_one_or_none()
