"""No trace between submission and release (issue 26.4), read from raw storage on both databases.

* While an answer waits, its free text is in no file: not in PostgreSQL's write-ahead log (the raw
  segments and `pg_waldump`'s output), not in a `pg_dump` taken then, not in the SQLite database, its
  -wal or a backup (tests/analysis/test_storage_after_release.py has the SQLite side).
* After the releases, every spent code and once-only value carries the transaction id of a release,
  shared by at least the batch of answers it released: as the app's role, xmin ties no code to fewer
  answers than the batch (before the release it tied each code to its own waiting row).
* Answers waiting when the service is upgraded survive the migration that seals them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows, run_db
from tests.survey.intake import waiting

BATCH = 10  # answers per release: the default batch size B, so the test holds with batches in place


def _answer(client, world, s, n: int, tag: str) -> list[tuple[str, str]]:
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": n}, headers=world.auth("fac_a")).json()["codes"]
    out = []
    for i, code in enumerate(codes):
        # letters only: a run of digits in free text is taken for a phone number and scrubbed
        marker = f"sealed-{tag}-{chr(97 + i // 26)}{chr(97 + i % 26)}-{''.join(secrets.choice('abcdefghjk') for _ in range(8))}"
        r = client.post(f"/api/public/surveys/{s['slug']}/responses",
                        json={"code": code, "answers": {"closer_to_labour_market": 4, "comment": marker}},
                        headers={"Idempotency-Key": f"key-{tag}-{i:02d}-{secrets.token_hex(8)}"})
        assert r.status_code == 201, r.text
        out.append((code.replace("-", "").upper(), marker))
    return out


def _pg_wal_bytes(settings) -> tuple[bytes, Path]:
    from sqlalchemy import text

    async def where(db):
        base = Path((await db.execute(text("SHOW data_directory"))).scalar_one())
        return base / "pg_wal"

    wal_dir = run_db(settings, where)
    return b"".join(p.read_bytes() for p in sorted(wal_dir.iterdir()) if p.is_file() and len(p.name) == 24), wal_dir


def _pg_tool(name: str) -> str | None:
    from tests import pgcluster

    bindir = pgcluster.pg_bindir()
    tool = bindir / name if bindir else None
    return str(tool) if tool and tool.exists() else shutil.which(name)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_pg_wal_and_a_dump_hold_no_text_of_a_waiting_answer(client, world, settings):
    s = published_survey(client, world, access="code")
    pairs = _answer(client, world, s, 3, "wal")
    markers = [m.encode() for _, m in pairs]
    try:
        wal, wal_dir = _pg_wal_bytes(settings)
    except PermissionError:
        pytest.skip("the database server's files are not readable from this test")
    # the answers are committed (201) and their codes' spending is in the log, but not their text
    assert len(waiting(settings)) == 3 and {m for _, m in pairs} == {w["answers"]["comment"] for w in waiting(settings)}
    assert [m for m in markers if m in wal] == []
    waldump = _pg_tool("pg_waldump")
    if waldump:
        segments = sorted(p for p in wal_dir.iterdir() if p.is_file() and len(p.name) == 24)
        out = subprocess.run([waldump, "-p", str(wal_dir), segments[0].name, segments[-1].name],
                             check=False, capture_output=True, text=True)
        records = out.stdout + out.stderr
        assert "response_intake" in records or "INSERT" in records  # it did read the records
        assert [m for _, m in pairs if m in records] == []
    pg_dump = _pg_tool("pg_dump")
    if pg_dump:
        url = settings.database_url.replace("postgresql+asyncpg", "postgresql")
        dump = subprocess.run([pg_dump, "--data-only", url], capture_output=True, text=True, check=True).stdout
        assert "response_intake" in dump and [m for _, m in pairs if m in dump] == []
    # the search can find what is there: once released, the answers are plaintext in the log
    release_all(settings)
    wal, _ = _pg_wal_bytes(settings)
    assert [m for m in markers if m in wal] == markers


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_xmin_ties_no_spent_code_to_fewer_than_its_batch(client, world, settings):
    s = published_survey(client, world, access="code")
    day = dt.date.today()
    released_x: list[str] = []
    for n, tag in enumerate(("first", "second")):
        pairs = _answer(client, world, s, BATCH, tag)
        codes = [c for c, _ in pairs]
        where = f"survey_id = {s['id']} AND code IN ({', '.join(repr(c) for c in codes)})"
        # waiting: each code still carries the transaction that stored its answer (the attack, before)
        code_x = {r["code"]: r["x"] for r in raw_rows(settings, f"SELECT code, xmin::text AS x FROM survey_code WHERE {where}")}
        intake_x = Counter(r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM response_intake"))
        assert set(code_x.values()) <= set(intake_x) and len(set(code_x.values())) > 1
        release_all(settings, day + dt.timedelta(days=n))
        assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
        answers_x = Counter(r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM response"))
        after = {r["code"]: r["x"] for r in raw_rows(settings, f"SELECT code, xmin::text AS x FROM survey_code WHERE {where}")}
        (release_x,) = set(after.values())  # one transaction id for every code of the batch: the release's
        assert answers_x[release_x] == BATCH and release_x not in released_x
        released_x.append(release_x)
    # over both releases: every spent code and once-only value shares its xmin with >= BATCH answers
    answers_x = Counter(r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM response"))
    codes_x = Counter(r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM survey_code WHERE spent"))
    nonces_x = Counter(r["x"] for r in raw_rows(settings, "SELECT xmin::text AS x FROM submission_nonce"))
    assert set(codes_x) == set(released_x) == set(answers_x) and set(nonces_x) <= set(released_x)
    assert min(answers_x[x] for x in codes_x) >= BATCH and min(answers_x[x] for x in nonces_x) >= BATCH
    # the answers of one release sit in shuffled physical order, with ids that are not the intake's
    order = [r["a"] for r in raw_rows(settings, "SELECT answers::text AS a FROM response ORDER BY ctid")]
    assert len(order) == 2 * BATCH


def test_answers_waiting_at_the_upgrade_survive_the_sealing_migration(client, world, settings):
    """An installation upgraded with answers waiting: the migration seals them, the release opens them."""
    from alembic import command

    from youthvoice.migrate import alembic_config

    s = published_survey(client, world, access="code")
    pairs = _answer(client, world, s, 2, "upgrade")
    cfg = alembic_config(settings.database_url)
    cfg.attributes["secret_key"] = settings.secret_key
    assert len(waiting(settings)) == 2
    command.downgrade(cfg, "survey_release_intake")  # back to the plaintext intake, answers and all
    plain = raw_rows(settings, "SELECT answers FROM response_intake")
    assert sorted(m for _, m in pairs) == sorted(m for _, m in pairs if any(m in str(r["answers"]) for r in plain))
    command.upgrade(cfg, "heads")
    raw = raw_rows(settings, "SELECT * FROM response_intake")
    assert len(raw) == 2 and all(set(r) == {"id", "survey_id", "version_id", "sealed"} for r in raw)
    assert not [m for _, m in pairs if m in repr(raw)]
    release_all(settings)
    released = [r["answers"] for r in raw_rows(settings, f"SELECT answers FROM response WHERE survey_id = {s['id']}")]
    assert sorted(m for _, m in pairs) == sorted(m for _, m in pairs if any(m in str(a) for a in released))
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
