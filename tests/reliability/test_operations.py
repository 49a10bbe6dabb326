"""Guarantee 6: backup while serving, restore, round trip identical; purge keeps the
counts the reports need and drops the raw answers; both leave an audit entry."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading

import httpx
import pytest
from sqlalchemy import select, text

from analysis.publish import publish_now
from survey.purge import stat_rows
from tests.conftest import published_survey, raw_rows, run_db
from tests.reliability.dbsnap import snapshot
from tests.reliability.load import MARK, drive, make_survey, plan
from tests.reliability.server import EXE
from tests.survey.intake import waiting
from youthvoice.clock import today

pytestmark = pytest.mark.slow  # heavy: `make test-fast` leaves it out, `make test` runs it


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "YOUTHVOICE_DATABASE_URL": settings.database_url,
           "YOUTHVOICE_SECRET_KEY": settings.secret_key, "YOUTHVOICE_VAR_DIR": str(settings.var_dir)}
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "youthvoice.cli"]
    r = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def execute(settings, sql: str) -> None:
    async def go(db):
        await db.execute(text(sql))
        await db.commit()

    run_db(settings, go)


def test_backup_while_serving_and_restore_round_trip(live, world, settings, tmp_path):
    survey, codes = make_survey(live.url, world.auth("fac_a"), 300)
    jobs = plan(codes, 300, seed=3)
    # 1) a backup taken in the middle of load is a consistent snapshot
    mid = tmp_path / "mid.backup"
    started = threading.Event()

    done = [0]

    async def on_done():
        done[0] += 1
        if done[0] >= 30:
            started.set()

    loader = threading.Thread(target=lambda: asyncio.run(
        drive(live.url, survey["slug"], jobs, clients=50, retry_cut=True, on_done=on_done)))
    loader.start()
    started.wait(60)
    acked_before = {j.n for j in jobs if j.receipts}  # receipts are stored nowhere: find answers by marker
    cli(settings, "backup", str(mid))
    loader.join()
    assert acked_before, "the load had not started when the backup ran"

    # 2) with the server still up, a second backup; then damage; restore; compare
    full = tmp_path / "full.backup"
    cli(settings, "backup", str(full))
    before = snapshot(settings)
    assert len(before["response"]) + len(before["response_intake"]) > 150
    audit = raw_rows(settings, "SELECT action FROM audit_entry ORDER BY id")
    assert [a["action"] for a in audit][-2:] == ["backup", "backup"]
    live.stop()
    execute(settings, "DELETE FROM response")
    execute(settings, "DELETE FROM response_intake")
    execute(settings, "UPDATE survey_code SET spent = false")
    assert snapshot(settings)["response"] == [] and snapshot(settings)["response_intake"] == []
    cli(settings, "restore", str(full))
    after = snapshot(settings)
    restored_audit = after.pop("audit_entry")
    assert len(restored_audit) == len(before["audit_entry"]) + 1  # plus the restore entry
    assert set(before.pop("audit_entry")) < set(restored_audit)
    assert after == before, "the restored database differs from the one backed up"

    # 3) the mid-load backup: every answer acknowledged before it started is in it,
    # and every spent code has its answer (no half-written submission)
    cli(settings, "restore", str(mid))
    answers = ([r["answers"] for r in raw_rows(settings, f"SELECT answers FROM response WHERE survey_id = {survey['id']}")]
               + [r["answers"] for r in waiting(settings, f"WHERE survey_id = {survey['id']}")])
    ids = {int(re.match(rf"{MARK}(\d+)", (json.loads(a) if isinstance(a, str) else a)["comment"]).group(1))
           for a in answers}
    assert acked_before <= ids
    spent = raw_rows(settings, f"SELECT count(*) AS c FROM survey_code WHERE survey_id = {survey['id']} AND spent = true")
    assert spent[0]["c"] == len(answers)
    assert len(answers) <= len(after["response"]) + len(after["response_intake"])
    live.start()  # and the server runs on the restored data
    assert httpx.get(f"{live.url}/s/{survey['slug']}").status_code == 200


def _seed_old_answers(settings, world, client):
    survey = published_survey(client, world, who="fac_a")
    survey_b = published_survey(client, world, who="fac_b", unit="unit-b")
    from survey.models import SurveyVersion
    from survey.store import store_responses

    async def go(db):
        rows = []
        for s, unit in ((survey, "unit-a"), (survey_b, "unit-b")):
            version = (await db.execute(select(SurveyVersion.id).where(SurveyVersion.survey_id == s["id"]))).scalar()
            unit_id = (await db.execute(text("SELECT id FROM unit WHERE slug = :s"), {"s": unit})).scalar()
            for i in range(240):
                month = [202301, 202306, 202312, 202406, 202511, 202610][i % 6]
                rows.append(dict(survey_id=s["id"], version_id=version, unit_id=unit_id, month=month,
                                 language="sv", gender=["woman", "man", "non_binary", None][i % 4],
                                 age_band=["16-19", "20-24"][i % 2], newly_arrived=None, disability=None,
                                 closer=[0, 2, 4, 5, None][i % 5], useful=(i * 7) % 6,
                                 answers={"comment": f"text {i}"}))
        await store_responses(db, rows)
        await db.execute(text("UPDATE unit SET retention_months = 12 WHERE slug = 'unit-a'"))
        await db.commit()

    run_db(settings, go)
    return survey, survey_b


def _figures(settings):
    """What a report counts: per unit, month, gender: answers and achieved, per goal."""
    from sqlalchemy import case, func

    async def go(db):
        s = stat_rows()
        q = select(s.c.unit_id, s.c.month, s.c.gender, s.c.age_band,
                   func.sum(case((s.c.closer.is_not(None), s.c.n), else_=0)).label("closer_n"),
                   func.sum(case((s.c.closer >= 4, s.c.n), else_=0)).label("closer_k"),
                   func.sum(case((s.c.useful.is_not(None), s.c.n), else_=0)).label("useful_n"),
                   func.sum(case((s.c.useful >= 4, s.c.n), else_=0)).label("useful_k"),
                   ).group_by(s.c.unit_id, s.c.month, s.c.gender, s.c.age_band)
        return sorted((tuple(v if v is None or isinstance(v, str) else int(v) for v in r)
                       for r in (await db.execute(q)).all()), key=repr)

    return run_db(settings, go)


def test_purge_keeps_report_counts_and_drops_old_raw_answers(client, world, settings):
    survey, survey_b = _seed_old_answers(settings, world, client)
    figures = _figures(settings)
    asyncio.run(publish_now(settings))  # the closed years' final figures
    dashboards = {p: client.get(f"/api/stats/breakdowns?period={p}", headers=world.auth("admin")).json()
                  for p in ("2023", "2024-VT", "2025")}
    # 2023: three months x 40 answers x 2 units, 4 in 5 answered the closer question (adjusted by at most 2)
    assert abs(dashboards["2023"]["goals"][1]["n"] - 192) <= 2
    assert abs(dashboards["2025"]["goals"][2]["n"] - 2 * 40) <= 2
    r = cli(settings, "purge", "--today", "2026-11-23")  # unit-a keeps 12 months: from 2025-11
    assert "unit-a: removed 160 answers from before 2025-11" in r.stdout
    months = raw_rows(settings, f"SELECT DISTINCT month FROM response WHERE survey_id = {survey['id']} ORDER BY month")
    assert [m["month"] for m in months] == [202511, 202610]
    # unit-b keeps the default 36 months: from 2023-11, so 2023-01 and 2023-06 go
    months_b = raw_rows(settings, f"SELECT DISTINCT month FROM response WHERE survey_id = {survey_b['id']}")
    assert sorted(m["month"] for m in months_b) == [202312, 202406, 202511, 202610]
    # every figure a report needs is unchanged, now partly served from the aggregate table
    assert _figures(settings) == figures
    # and the dashboard, which reads the stored final releases, shows the purged months exactly as before
    asyncio.run(publish_now(settings, today() + dt.timedelta(days=1)))
    for p, before in dashboards.items():
        assert client.get(f"/api/stats/breakdowns?period={p}", headers=world.auth("admin")).json() == before, p
    agg = raw_rows(settings, "SELECT sum(n) AS n FROM response_aggregate")
    assert agg[0]["n"] == 160 + 80
    # free text of purged answers is gone, not archived
    assert not raw_rows(settings, "SELECT * FROM response WHERE month < 202311")
    audit = raw_rows(settings, "SELECT action, subject, user_id FROM audit_entry WHERE action = 'purge'")
    assert sorted(a["subject"] for a in audit) == ["unit unit-a: 160 answers before 2025-11",
                                                  "unit unit-b: 80 answers before 2023-11"]
    # a second run finds nothing more and changes nothing
    r = cli(settings, "purge", "--today", "2026-11-23")
    assert "Nothing older" in r.stdout
    assert _figures(settings) == figures


def test_cutoff_month_counts_back_whole_months():
    from survey.purge import cutoff_month

    assert cutoff_month(dt.date(2026, 11, 23), 36) == 202311
    assert cutoff_month(dt.date(2026, 1, 1), 1) == 202512
    assert cutoff_month(dt.date(2026, 12, 31), 12) == 202512
    assert cutoff_month(dt.date(2026, 3, 1), 0) == 202603
