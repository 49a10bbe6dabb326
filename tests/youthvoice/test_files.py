"""Files the service writes are readable by its own user only (issue 16.4): the SQLite database with its
-wal and -shm, backups (SQLite and pg_dump), and the generated secret key — even when the process was
started with a permissive umask (022), as a shell or systemd gives it."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from youthvoice.backup import backup
from youthvoice.config import Settings
from youthvoice.db import make_engine

EXE = Path(sys.executable).with_name("youthvoice")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _write_something(url: str) -> None:
    async def go():
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('hello')"))
        # keep a connection open so the -wal and -shm files exist while we look
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM t"))
            files = {p.name: mode(p) for p in Path(make_url(url).database).parent.iterdir()}
        await engine.dispose()
        return files

    return asyncio.run(go())


def test_new_sqlite_database_wal_and_shm_are_private(tmp_path, loose_umask):
    db = tmp_path / "var" / "youthvoice.db"
    files = _write_something(f"sqlite+aiosqlite:///{db}")
    assert set(files) == {"youthvoice.db", "youthvoice.db-wal", "youthvoice.db-shm"}, files
    assert set(files.values()) == {0o600}, {k: oct(v) for k, v in files.items()}
    assert mode(db.parent) == 0o700


def test_an_existing_world_readable_database_is_made_private(tmp_path, loose_umask):
    db = tmp_path / "old.db"
    _write_something(f"sqlite+aiosqlite:///{db}")
    for p in tmp_path.iterdir():
        os.chmod(p, 0o644)

    async def reopen():
        engine = make_engine(f"sqlite+aiosqlite:///{db}")
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM t"))
        await engine.dispose()

    asyncio.run(reopen())
    assert mode(db) == 0o600
    for suffix in ("-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            assert mode(Path(f"{db}{suffix}")) == 0o600


def test_generated_secret_key_is_private(tmp_path, loose_umask, monkeypatch):
    monkeypatch.delenv("YOUTHVOICE_SECRET_KEY", raising=False)
    var = tmp_path / "var"
    Settings.from_env(database_url="sqlite+aiosqlite:///x.db", var_dir=var)
    assert mode(var / "secret_key") == 0o600 and mode(var) == 0o700
    os.chmod(var / "secret_key", 0o644)  # e.g. copied in by hand
    Settings.from_env(database_url="sqlite+aiosqlite:///x.db", var_dir=var)
    assert mode(var / "secret_key") == 0o600


def test_backups_are_private(settings, tmp_path, loose_umask):
    """`youthvoice backup` on both databases: SQLite's copy and pg_dump's file, and an existing
    world-readable target is tightened before anything is written into it."""
    out = tmp_path / "backups" / "yv.dump"
    backup(settings, str(out))
    assert out.stat().st_size > 0 and mode(out) == 0o600
    os.chmod(out, 0o644)
    backup(settings, str(out))
    assert mode(out) == 0o600
    assert not [p for p in out.parent.iterdir() if mode(p) & 0o077]


@pytest.mark.slow  # two real processes
def test_the_command_line_creates_private_files(tmp_path, loose_umask):
    """A real `youthvoice migrate` and `youthvoice backup`, started from a shell with umask 022."""
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUTHVOICE_")}
    env["YOUTHVOICE_VAR_DIR"] = str(var)
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "youthvoice.cli"]
    subprocess.run([*cmd, "migrate"], env=env, check=True, capture_output=True, cwd=tmp_path)
    subprocess.run([*cmd, "backup", str(tmp_path / "out" / "b.db")], env=env, check=True, capture_output=True,
                   cwd=tmp_path)
    made = [var / "youthvoice.db", var / "secret_key", tmp_path / "out" / "b.db"]
    made += [p for p in var.iterdir() if p.name.startswith("youthvoice.db-")]
    assert {p.name: oct(mode(p)) for p in made} == {p.name: oct(0o600) for p in made}
