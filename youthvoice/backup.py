"""Consistent backups while serving: SQLite's online backup API, pg_dump for PostgreSQL."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import Settings
from .db import make_engine, make_sessionmaker, private_file
from .models import AuditEntry


def _sqlite_path(settings: Settings) -> str:
    return make_url(settings.database_url).database or ""


def _pg_args(settings: Settings) -> tuple[list[str], dict[str, str]]:
    u = make_url(settings.database_url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    args = ["-h", u.host or u.query.get("host", "localhost"), "-p", str(u.port or 5432)]
    if u.username:
        args += ["-U", u.username]
    return args + ["-d", u.database or "postgres"], env


def _pg_tool(name: str) -> str:
    """PostgreSQL's client tools: on PATH, or where Debian's postgresql package puts them."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: [int(x) for x in Path(p).parent.parent.name.split(".") if x.isdigit()])
    if not candidates:
        raise SystemExit(f"{name} not found: install PostgreSQL's client tools")
    return candidates[-1]


def _audit(settings: Settings, action: str, subject: str) -> None:
    """An audit entry for an operator's action on the data (no user: it ran from the shell)."""
    async def go() -> None:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as db:
                db.add(AuditEntry(user_id=None, action=action, subject=subject[:500]))
                await db.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())


def backup(settings: Settings, path: str) -> None:
    target = Path(path)
    # A backup holds everything the database does: readable by the service's user only. The file is
    # made (or its mode tightened) before anything is written into it; SQLite's journal for it and
    # pg_dump's output take that file's mode.
    private_file(target)
    # Written first, so the backup itself records that it was taken.
    _audit(settings, "backup", f"to {target.resolve()}")
    if settings.is_sqlite:
        src = sqlite3.connect(_sqlite_path(settings))
        dst = sqlite3.connect(str(target))
        try:
            # Deleted rows are zeroed in the copy too (the source's own setting covers only its pages).
            dst.execute("PRAGMA secure_delete=ON")
            src.backup(dst)  # page-by-page copy that sees one consistent snapshot, not the WAL's old frames
        finally:
            dst.close()
            src.close()
        print(f"Backed up to {target}.")
        return
    args, env = _pg_args(settings)
    subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "-f", str(target), *args], check=True, env=env)
    print(f"Backed up to {target}.")


def restore(settings: Settings, path: str) -> None:
    source = Path(path)
    if not source.exists():
        raise SystemExit(f"path: no backup at {source}")
    if settings.is_sqlite:
        src = sqlite3.connect(str(source))
        dst = sqlite3.connect(_sqlite_path(settings))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        _audit(settings, "restore", f"from {source.resolve()}")
        print(f"Restored from {source}.")
        return
    args, env = _pg_args(settings)
    subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
                    str(source)], check=True, env=env)
    _audit(settings, "restore", f"from {source.resolve()}")
    print(f"Restored from {source}.")
