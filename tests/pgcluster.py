"""Throwaway PostgreSQL server for the test session.

Usage::

    from tests.pgcluster import pg_available, temporary_cluster, create_database

    if pg_available():
        with temporary_cluster() as admin_url:
            # admin_url == "postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres"
            create_database(admin_url, "tpl")
            ...  # migrate "tpl" once, dispose every engine connected to it
            create_database(admin_url, "t1", template="tpl")
            url = database_url(admin_url, "t1")
            ...
            drop_database(admin_url, "t1")

The server binaries come from Debian's ``postgresql`` package
(``/usr/lib/postgresql/<version>/bin``, highest version wins; ``PG_BINDIR``
overrides).  ``initdb`` refuses to run as root, so as root the cluster is
created and run as the ``postgres`` system user via ``runuser``.  The cluster
is tuned for speed, not durability (fsync off, trust authentication) and
lives in a temporary directory that is removed when the context exits.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "acreate_database",
    "adrop_database",
    "create_database",
    "database_url",
    "drop_database",
    "pg_available",
    "pg_bindir",
    "temporary_cluster",
]

SUPERUSER = "postgres"
_START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections


def _version_key(path: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); "9.6" -> (9, 6)
    version = Path(path).parent.name
    return tuple(int(p) for p in re.findall(r"\d+", version)) or (0,)


def pg_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl (highest installed version), or None."""
    override = os.environ.get("PG_BINDIR")
    candidates = [override] if override else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True
    )
    for cand in candidates:
        if cand and all(os.access(os.path.join(cand, exe), os.X_OK) for exe in ("initdb", "pg_ctl")):
            return Path(cand)
    # Non-Debian layouts: initdb on PATH.
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _postgres_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def pg_available() -> bool:
    """True if a throwaway cluster can be started on this machine."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return False
    if pg_bindir() is None:
        return False
    if _is_root():
        return _postgres_user() is not None and shutil.which("runuser") is not None
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


class _Cluster:
    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found (install Debian's 'postgresql' "
                "package, e.g. via scripts/ensure-system.sh)"
            )
        self.bindir = bindir
        self.prefix: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="youthvoice-pg-"))
        if _is_root():
            pw = _postgres_user()
            if pw is None:
                raise RuntimeError("running as root but there is no 'postgres' system user")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)
        self.datadir = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port: int | None = None
        self.running = False

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *args],
            cwd=self.root,  # the postgres user may not be able to read our cwd
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=check,
        )

    def initdb(self) -> None:
        base = [
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-U", SUPERUSER,
            "-A", "trust",
            "-E", "UTF8",
            "--no-sync",
            "--no-instructions",
        ]
        for locale in ("C.UTF-8", "C"):
            proc = self._run(*base, f"--locale={locale}", check=False)
            if proc.returncode == 0:
                return
            shutil.rmtree(self.datadir, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{proc.stdout}")

    def start(self) -> None:
        last = ""
        for _attempt in range(3):  # a picked port can be taken before we bind it
            port = _free_port()
            options = " ".join(
                [
                    f"-p {port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories='{self.datadir}'",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=300",
                    "-c shared_buffers=32MB",
                    "-c max_wal_size=1GB",
                    "-c checkpoint_timeout=1h",
                    "-c log_min_messages=warning",
                ]
            )
            proc = self._run(
                str(self.bindir / "pg_ctl"),
                "start",
                "-D", str(self.datadir),
                "-w", "-t", str(_START_TIMEOUT),
                "-l", str(self.logfile),
                "-o", options,
                check=False,
            )
            if proc.returncode == 0:
                self.port = port
                self.running = True
                return
            last = proc.stdout + self._log_tail()
        raise RuntimeError(f"pg_ctl start failed:\n{last}")

    def _log_tail(self) -> str:
        try:
            return "\n" + self.logfile.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._run(
                str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate", "-w",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"


@contextlib.contextmanager
def temporary_cluster() -> Iterator[str]:
    """Start a throwaway PostgreSQL server; yield its superuser SQLAlchemy URL.

    The URL is ``postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres``
    (trust authentication, no password).  The server is stopped
    (``pg_ctl stop -m immediate``) and its data removed on exit, and also at
    interpreter exit should the context never be closed.
    """
    cluster = _Cluster()
    atexit.register(cluster.stop)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


# --------------------------------------------------------------------------
# database helpers


def database_url(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (query string kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _asyncpg_dsn(url: str) -> str:
    """SQLAlchemy URL (``postgresql+asyncpg://``) -> libpq-style DSN for asyncpg."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def acreate_database(admin_url: str, name: str, template: str | None = None) -> None:
    """CREATE DATABASE ``name`` [TEMPLATE ``template``] (async version).

    PostgreSQL refuses to copy a template that has open connections; close
    (dispose) every engine connected to the template first.  Short-lived
    connections still closing are waited for up to a few seconds.
    """
    import asyncpg

    sql = f"CREATE DATABASE {_ident(name)}"
    if template:
        sql += f" TEMPLATE {_ident(template)}"
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        if conn.get_server_version().major >= 15:
            # With fsync off, copying files is several times faster than the
            # default WAL_LOG strategy (~70 ms vs ~280 ms for a 60-table schema).
            sql += " STRATEGY FILE_COPY"
        deadline = time.monotonic() + 5.0
        while True:
            try:
                await conn.execute(sql)
                return
            except asyncpg.exceptions.ObjectInUseError:
                if not template or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def adrop_database(admin_url: str, name: str) -> None:
    """DROP DATABASE IF EXISTS ``name``, disconnecting its sessions (async version)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    """Synchronous :func:`acreate_database` (not for use inside a running loop)."""
    asyncio.run(acreate_database(admin_url, name, template))


def drop_database(admin_url: str, name: str) -> None:
    """Synchronous :func:`adrop_database` (not for use inside a running loop)."""
    asyncio.run(adrop_database(admin_url, name))


async def areset_database(url: str, expected: dict) -> bool:
    """Empties a used test database back to its template's state, in place: every table that ever
    held a row (its file is not empty) is truncated with its sequences restarted, and every other
    session on it is ended. A fresh copy of the template costs ~5x more (CREATE DATABASE writes a
    checkpoint). `expected` is :func:`shape` of the template; a database whose tables or migration
    state differ from it (a test changed the schema) is refused (False), so the caller drops it."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute("SET lock_timeout = '2s'")
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if await _shape(conn) != expected:
            return False
        used = [r[0] for r in await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version' "
            "AND pg_relation_size(c.oid) > 0")]
        if used:
            await conn.execute(f"TRUNCATE {', '.join(_ident(t) for t in used)} RESTART IDENTITY CASCADE")
        for (seq,) in await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' "
                                       "AND last_value IS NOT NULL"):
            await conn.execute(f"ALTER SEQUENCE {_ident(seq)} RESTART")
        return True
    except (asyncpg.PostgresError, OSError):
        return False
    finally:
        await conn.close()


async def _shape(conn) -> dict:
    tables = sorted(r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    versions = sorted(r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version"))
    return {"tables": tables, "versions": versions}


async def ashape(url: str) -> dict:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return await _shape(conn)
    finally:
        await conn.close()
