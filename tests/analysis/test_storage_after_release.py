"""Raw storage after a release holds no link between a spent code and the answer it unlocked
(issue 16): a replay of the SQLite WAL commit by commit, and PostgreSQL's xmin, ctid order and
pg_dump order of every survey table."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from analysis.publish import publish_now
from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows
from youthvoice.backup import backup


def _commits(wal: bytes, page_size: int) -> list[bytes]:
    """The WAL's frames grouped by commit (a frame with a non-zero 'database size' ends one)."""
    out, current, pos = [], [], 32
    salt = wal[16:24] if len(wal) >= 32 else b""
    while pos + 24 + page_size <= len(wal):
        header = wal[pos:pos + 24]
        if header[8:16] != salt:  # a stale frame from before the last restart of the WAL
            break
        current.append(wal[pos + 24:pos + 24 + page_size])
        if struct.unpack(">I", header[4:8])[0]:
            out.append(b"".join(current))
            current = []
        pos += 24 + page_size
    return out


def _answer_with_codes(client, world, n: int) -> tuple[dict, list[tuple[str, str]]]:
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": n}, headers=world.auth("fac_a")).json()["codes"]
    pairs = []
    for i, code in enumerate(codes):
        marker = f"wal-marker-{i:03d}-text"
        r = client.post(f"/api/public/surveys/{s['slug']}/responses",
                        json={"code": code, "answers": {"closer_to_labour_market": 4, "comment": marker}})
        assert r.status_code == 201, r.text
        pairs.append((code.replace("-", "").upper(), marker))
    return s, pairs


def _linked(commits: list[bytes], pairs) -> int:
    """Commits that hold both a code and the marker of the answer it unlocked."""
    return sum(any(c.encode() in blob for c, _ in pairs) and any(m.encode() in blob for _, m in pairs)
               for blob in commits)


def test_sqlite_wal_replay_finds_no_code_with_its_answer_after_release(client, world, settings, tmp_path):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the WAL is SQLite's")
    db = Path(settings.database_url.split("///", 1)[1])
    _s, pairs = _answer_with_codes(client, world, 10)  # a batch of B
    page_size = raw_rows(settings, "PRAGMA page_size")[0]["page_size"]
    # While the answers wait, the commit that spent a code holds the code and a sealed blob, never the
    # answer's text (issue 26.4; before sealing, every such commit held both): neither the WAL nor the
    # database file nor a backup taken now has a marker.
    wal_before = Path(f"{db}-wal").read_bytes()
    assert all(c.encode() in wal_before for c, _ in pairs)  # the spending commits are there to be read
    backup(settings, str(tmp_path / "before-release.db"))
    for blob in (wal_before, db.read_bytes(), (tmp_path / "before-release.db").read_bytes()):
        assert not [m for _, m in pairs if m.encode() in blob]
    assert _linked(_commits(wal_before, page_size), pairs) == 0
    asyncio.run(publish_now(settings))
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    wal = Path(f"{db}-wal")
    frames = wal.read_bytes() if wal.exists() else b""
    if frames:
        shutil.copy(wal, f"{copy}-wal")
    commits = _commits(frames, page_size)
    assert _linked(commits, pairs) == 0
    # No frame older than the release survives: the WAL was truncated after it.
    assert len(frames) <= 32 and commits == []
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
    assert raw_rows(settings, "SELECT count(*) AS n FROM survey_code WHERE spent")[0]["n"] == 10


def test_postgresql_xmin_ctid_and_dump_hold_no_arrival_order(client, world, settings, tmp_path):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("xmin and ctid are PostgreSQL's")
    _s, pairs = _answer_with_codes(client, world, 10)  # a batch of B
    asyncio.run(publish_now(settings))
    code_x = {r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM survey_code WHERE spent")}
    answer_x = {r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM response")}
    count_x = {r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM response_count")}
    nonce_x = {r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM submission_nonce")}
    assert len(answer_x) == 1  # every answer came in with the release's transaction
    # every spent code and once-only value was rewritten by the release (issue 26.4): they all carry its
    # transaction id, so none ties to the transaction of the answer it let in
    assert code_x == answer_x and nonce_x <= answer_x
    assert count_x == answer_x
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
    order = [str(r["a"]) for r in raw_rows(settings, "SELECT answers::text AS a FROM response ORDER BY ctid")]
    seen = [next(i for i, (_, m) in enumerate(pairs) if m in a) for a in order]
    assert seen != sorted(seen) or len(seen) < 2
    # pg_dump lists rows in physical order: the answers' order there is the shuffled one too.
    pg_dump = shutil.which("pg_dump") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    if pg_dump is None:
        pytest.skip("pg_dump not installed")
    url = settings.database_url.replace("postgresql+asyncpg", "postgresql")
    dump = subprocess.run([str(pg_dump), "--data-only", "--table=response", url], capture_output=True, text=True,
                          check=True).stdout
    dumped = [next(i for i, (_, m) in enumerate(pairs) if m in line) for line in dump.splitlines()
              if "wal-marker-" in line]
    assert dumped == seen


def test_release_under_a_busy_reader_is_cleaned_up_once_the_reader_is_done(settings, world):
    """A reader holds the database while answers are released: the cleanup after the release (WAL
    checkpoint; VACUUM FULL of the intake, codes and once-only values) cannot run then, so the old
    sealed rows and the spending commits stay in the files and the admin start page says so; the
    scheduler retries it until it has run, after which no file holds a waiting row's bytes."""
    import dataclasses
    import time

    from litestar.testing import TestClient

    from tests.conftest import app_for
    from tests.workshops.test_close_scrub import BANNER, _found, _reader, _storage_files
    from tests.youthvoice.test_auth import login

    fast = dataclasses.replace(settings, cleanup_retry=0.3, cleanup_retry_max=1.0)
    with TestClient(app_for(fast)) as client:
        _s, _pairs = _answer_with_codes(client, world, 3)
        # the sealed blobs as stored while waiting: after the release and its cleanup, in no file
        blobs = [bytes(r["sealed"])[-48:] for r in raw_rows(settings, "SELECT sealed FROM response_intake")]
        assert len(blobs) == 3
        try:
            before = _found(_storage_files(settings), blobs)
        except PermissionError:
            pytest.skip("the database server's files are not readable from this test")
        assert before  # stored, so the search can find them
        with _reader(settings, "survey_code"):
            release_all(settings)
            assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
            assert [r["kind"] for r in raw_rows(settings, "SELECT kind FROM storage_cleanup")] == ["release"]
            assert _found(_storage_files(settings), blobs)  # still in the files while the reader reads
            login(client, world.emails["admin"])
            assert BANNER in client.get("/").text
            time.sleep(2)
        deadline = time.monotonic() + 120
        while raw_rows(settings, "SELECT count(*) AS n FROM storage_cleanup")[0]["n"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert raw_rows(settings, "SELECT count(*) AS n FROM storage_cleanup")[0]["n"] == 0, "never cleaned up"
        assert _found(_storage_files(settings), blobs) == {}
        assert BANNER not in client.get("/").text
    assert raw_rows(settings, "SELECT count(*) AS n FROM response")[0]["n"] == 3
