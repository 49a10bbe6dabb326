"""A workshop's close deletes for real (issue 16.5): afterwards neither the SQLite database file nor its
WAL nor a backup taken after the close holds an unapproved statement, its revisions, a nickname, or the
participants' ids and token hashes that votes and supports were made of. On PostgreSQL the room's table
files hold none of it after the close (VACUUM FULL). The raw bytes are searched, not the rows."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy.engine import make_url

from tests.conftest import raw_rows
from tests.workshops.helpers import join, vote, workshop, write
from tests.youthvoice.test_auth import csrf_of, login
from youthvoice.backup import backup

SECRETS = ["Skolan ska börja senare xq7", "Mer fritidsgårdar zk4", "Ingen röstar på detta wv9",
           "Skolan ska börja klockan tio xq7"]  # the last: a staff rewording, a revision of a deleted statement
NICKS = ["Nickelodeon5", "Zlatanfan9", "Majsan3", "Tindra8"]
KEPT = "Vi vill ha gratis busskort"


def _room(client, world):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    people = [join(client, code, nickname=n) for n in NICKS]
    ok = write(client, code, people[0], KEPT)
    objected = write(client, code, people[1], SECRETS[0])
    too_few = write(client, code, people[2], SECRETS[1])
    write(client, code, people[3], SECRETS[2])
    r = client.put(f"/api/workshops/{wid}/statements/{objected}", json={"text": SECRETS[3]},
                   headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    assert client.post(f"/api/workshops/{wid}/review", headers=world.auth("fac_a")).status_code == 200
    for p in people[:3]:
        vote(client, code, p, ok, "approve")
        vote(client, code, p, objected, "approve")
    vote(client, code, people[3], objected, "object")
    vote(client, code, people[0], too_few, "approve")
    return ws


def _needles(settings) -> list[bytes]:
    """Everything close must delete: texts, nicknames, and the random ids and token hashes that the
    participants, their votes and supports and the deleted statements' revisions are keyed by."""
    ids = [r["id"] for r in raw_rows(settings, "SELECT id FROM workshop_participant")]
    hashes = [r["token_hash"] for r in raw_rows(settings, "SELECT token_hash FROM workshop_participant")]
    dropped = [r["id"] for r in raw_rows(settings, f"SELECT id FROM workshop_statement WHERE text <> '{KEPT}'")]
    assert len(ids) == 4 and len(dropped) == 3
    return [s.encode() for s in SECRETS + NICKS + ids + hashes + dropped]


def _found(files: list[Path], needles: list[bytes]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in files:
        data = f.read_bytes() if f.exists() else b""
        hits = [n.decode(errors="backslashreplace") for n in needles if n in data]
        if hits:
            out[f.name] = hits
    return out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_close_leaves_no_deleted_text_in_the_sqlite_files_or_a_backup(client, world, settings, tmp_path):
    ws = _room(client, world)
    db = Path(make_url(settings.database_url).database)
    files = [db, Path(f"{db}-wal")]
    needles = _needles(settings)
    # before the close the room's words are in the files (else this test could not fail)
    before = _found(files, needles)
    assert set(SECRETS) <= {h for hits in before.values() for h in hits}, before

    r = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    assert r.status_code == 200 and len(r.json()["released"]) == 1

    assert _found(files, needles) == {}
    assert Path(f"{db}-wal").stat().st_size == 0  # checkpointed with TRUNCATE after the close
    out = tmp_path / "after-close.db"
    backup(settings, str(out))
    assert _found([out], needles) == {}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # what the group approved is still there, as written
    assert KEPT.encode() in db.read_bytes() and KEPT.encode() in out.read_bytes()
    assert [r["text"] for r in raw_rows(settings, "SELECT text FROM workshop_statement")] == [KEPT]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_close_through_the_staff_page_scrubs_too(client, world, settings):
    """The HTML close button runs the same steps after its commit."""
    ws = _room(client, world)
    db = Path(make_url(settings.database_url).database)
    needles = _needles(settings)
    login(client, world.emails["fac_a"])
    control = client.get(f"/workshops/{ws['id']}")
    r = client.post(f"/workshops/{ws['id']}/close", data={"_csrf": csrf_of(control.text), "confirm": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert raw_rows(settings, f"SELECT status FROM workshop WHERE id = {ws['id']}")[0]["status"] == "closed"
    assert _found([db, Path(f"{db}-wal")], needles) == {}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_close_leaves_no_deleted_text_in_the_postgresql_table_files(client, world, settings):
    from sqlalchemy import text

    from tests.conftest import run_db

    ws = _room(client, world)
    needles = _needles(settings)

    async def files(db) -> list[Path]:
        await db.execute(text("CHECKPOINT"))  # the pages on disk, not only in shared buffers
        base = Path((await db.execute(text("SHOW data_directory"))).scalar_one())
        oid = (await db.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()"))).scalar_one()
        return sorted((base / "base" / str(oid)).iterdir())

    try:
        before = _found(run_db(settings, files), needles)
    except PermissionError:
        pytest.skip("the database server's files are not readable from this test")
    assert set(SECRETS) <= {h for hits in before.values() for h in hits}, before
    r = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
    assert r.status_code == 200 and len(r.json()["released"]) == 1
    # every file of this database (tables, indexes, TOAST): none holds the deleted bytes
    assert _found(run_db(settings, files), needles) == {}
    assert [r["text"] for r in raw_rows(settings, "SELECT text FROM workshop_statement")] == [KEPT]


# ---------- a close while another connection reads (issue 26.5) ----------

BANNER = "Raderad text finns kvar på disken sedan"


@contextlib.contextmanager
def _reader(settings, table: str = "workshop_statement"):
    """Another connection in a read transaction on `table`, as a long report or a backup tool would
    hold it, until the block ends."""
    if settings.database_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(settings.database_url).database, isolation_level=None)
        conn.execute("BEGIN")
        conn.execute(f"SELECT count(*) FROM {table}").fetchall()
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import asyncpg

    held, done = threading.Event(), threading.Event()

    async def hold():
        dsn = settings.database_url.replace("postgresql+asyncpg", "postgresql")
        c = await asyncpg.connect(dsn)
        tr = c.transaction()
        await tr.start()
        await c.fetch(f"SELECT count(*) FROM {table}")
        held.set()
        while not done.is_set():
            await asyncio.sleep(0.05)
        await tr.rollback()
        await c.close()

    t = threading.Thread(target=asyncio.run, args=(hold(),))
    t.start()
    assert held.wait(30)
    try:
        yield
    finally:
        done.set()
        t.join(30)


def _storage_files(settings) -> list[Path]:
    if settings.database_url.startswith("sqlite"):
        db = Path(make_url(settings.database_url).database)
        return [db, Path(f"{db}-wal")]
    from sqlalchemy import text

    from tests.conftest import run_db

    async def files(db) -> list[Path]:
        await db.execute(text("CHECKPOINT"))  # the pages on disk, not only in shared buffers
        base = Path((await db.execute(text("SHOW data_directory"))).scalar_one())
        oid = (await db.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()"))).scalar_one()
        return sorted((base / "base" / str(oid)).iterdir())

    return run_db(settings, files)


def test_close_under_a_busy_reader_is_cleaned_up_once_the_reader_is_done(settings, world, caplog):
    """A reader holds the database while the room closes: the WAL checkpoint (SQLite) or VACUUM FULL
    (PostgreSQL) cannot run then. It is not given up nor replaced by a plain VACUUM: the admin start
    page says deleted text is still on disk, and the scheduler retries it until it has run, after
    which no file holds a deleted text or nickname."""
    from tests.conftest import app_for

    fast = dataclasses.replace(settings, cleanup_retry=0.3, cleanup_retry_max=1.0)
    with TestClient(app_for(fast)) as client:
        ws = _room(client, world)
        needles = _needles(settings)
        try:
            _storage_files(settings)
        except PermissionError:
            pytest.skip("the database server's files are not readable from this test")
        with _reader(settings):
            started = time.monotonic()
            r = client.post(f"/api/workshops/{ws['id']}/close", headers=world.auth("fac_a"))
            assert r.status_code == 200 and len(r.json()["released"]) == 1
            assert time.monotonic() - started < 15  # the close does not wait for the reader
            # the reader holds the cleanup back: the deleted words are still in the files, and it says so
            time.sleep(2)
            found = {h for hits in _found(_storage_files(settings), needles).values() for h in hits}
            assert set(SECRETS) & found, found
            pending = raw_rows(settings, "SELECT kind FROM storage_cleanup")
            assert [p["kind"] for p in pending] == ["close"]
            login(client, world.emails["admin"])
            home = client.get("/")
            assert BANNER in home.text
            client.cookies.clear()
            login(client, world.emails["fac_a"])
            assert BANNER not in client.get("/").text  # admins only
            client.cookies.clear()
            time.sleep(3)  # the reader keeps reading a while longer
            assert [p["kind"] for p in raw_rows(settings, "SELECT kind FROM storage_cleanup")] == ["close"]
            tries = [r for r in caplog.records if r.name == "youthvoice.db" and r.levelno == logging.WARNING]
            assert len(tries) >= 3, tries  # the close's own try, then the scheduler's, again and again
            assert _found(_storage_files(settings), needles)  # and never given up for a plain VACUUM
        released = time.monotonic()
        deadline = released + 120
        while raw_rows(settings, "SELECT count(*) AS n FROM storage_cleanup")[0]["n"] and time.monotonic() < deadline:
            time.sleep(0.2)
        took = time.monotonic() - released
        assert raw_rows(settings, "SELECT count(*) AS n FROM storage_cleanup")[0]["n"] == 0, "never cleaned up"
        print(f"cleanup ran {took:.1f} s after the reader ended")
        left = _found(_storage_files(settings), needles)
        if left and not settings.database_url.startswith("sqlite"):
            print(raw_rows(settings, "SELECT relname, relfilenode FROM pg_class WHERE relfilenode::text = ANY(ARRAY["
                           + ",".join(f"'{k}'" for k in left) + "])"))
        assert left == {}
        login(client, world.emails["admin"])
        assert BANNER not in client.get("/").text
    assert [r["text"] for r in raw_rows(settings, "SELECT text FROM workshop_statement")] == [KEPT]
