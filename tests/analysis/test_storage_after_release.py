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
from tests.conftest import published_survey, raw_rows


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
    # Before the release the link is there (what the guarantee says an attacker can still see):
    # the commit that spent a code also holds its answer, in the intake.
    before = _commits(Path(f"{db}-wal").read_bytes(), page_size) if Path(f"{db}-wal").exists() else []
    assert _linked(before, pairs) >= 1
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
    assert not (answer_x & code_x) and not (count_x & code_x) and not (answer_x & nonce_x)
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
