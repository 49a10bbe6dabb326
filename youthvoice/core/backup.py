"""Consistent backups while serving: SQLite's online backup API, pg_dump for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import Settings


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


def backup(settings: Settings, path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        src = sqlite3.connect(_sqlite_path(settings))
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)  # page-by-page copy that sees one consistent snapshot
        finally:
            dst.close()
            src.close()
        print(f"Backed up to {target}.")
        return
    if not shutil.which("pg_dump"):
        raise SystemExit("pg_dump not found: install PostgreSQL's client tools")
    args, env = _pg_args(settings)
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "-f", str(target), *args], check=True, env=env)
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
        print(f"Restored from {source}.")
        return
    args, env = _pg_args(settings)
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
                    str(source)], check=True, env=env)
    print(f"Restored from {source}.")
