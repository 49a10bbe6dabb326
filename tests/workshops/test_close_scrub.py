"""A workshop's close deletes for real (issue 16.5): afterwards neither the SQLite database file nor its
WAL nor a backup taken after the close holds an unapproved statement, its revisions, a nickname, or the
participants' ids and token hashes that votes and supports were made of. On PostgreSQL the room's table
files hold none of it after the close (VACUUM FULL). The raw bytes are searched, not the rows."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
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
        hits = [n.decode() for n in needles if n in data]
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
