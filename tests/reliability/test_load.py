"""Guarantees 1 and 2: no answer lost or doubled under load, and none lost when the
server process is killed with SIGKILL mid-load. Real server process, real sockets."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import make_url

from tests.analysis.batches import release_all
from tests.conftest import raw_rows
from tests.reliability.load import MARK, drive, drive_many, make_survey, mixed_plan, plan
from tests.reliability.server import EXE, LiveServer
from tests.survey.intake import rows_of

pytestmark = pytest.mark.slow  # heavy: `make test-fast` leaves it out, `make test` runs it

SUBMISSIONS = int(os.environ.get("YOUTHVOICE_LOAD_SUBMISSIONS", "2000"))
CLIENTS = int(os.environ.get("YOUTHVOICE_LOAD_CLIENTS", "100"))
KILL_ANSWERS = int(os.environ.get("YOUTHVOICE_KILL_ANSWERS", "600"))
KILLS = int(os.environ.get("YOUTHVOICE_KILLS", "5"))


def stored(settings, survey_id: int) -> list[dict]:
    """Every stored answer of the survey, released (`response`) or still waiting (`response_intake`)."""
    out = []
    for table in ("response", "response_intake"):
        for r in rows_of(settings, table, f"WHERE survey_id = {int(survey_id)}"):
            answers = r["answers"]
            out.append(json.loads(answers) if isinstance(answers, str) else answers)
    return out


def spent_codes(settings, survey_id: int) -> set[str]:
    rows = raw_rows(settings, f"SELECT code FROM survey_code WHERE survey_id = {int(survey_id)} AND spent = true")
    return {r["code"] for r in rows}


def norm(code: str) -> str:
    return code.replace("-", "")


def check_ledger(settings, survey, jobs, *, cuts_allowed: bool) -> dict:
    """Every 201 stored exactly once with the very answer sent; every refusal absent;
    codes spent = answers stored; no 5xx."""
    rows = stored(settings, survey["id"])
    statuses = collections.Counter(s for j in jobs for s, _ in j.outcomes)
    assert not [s for s in statuses if isinstance(s, int) and s >= 500], statuses
    if not cuts_allowed:
        assert statuses["cut"] == 0, (statuses, [e for j in jobs for e in j.errors])
    receipts = [r for j in jobs for r in j.receipts]
    assert len(set(receipts)) == len(receipts), "a receipt was handed out twice"
    # Receipts are random values stored nowhere, so answers are found by the job's free-text marker.
    per_job = collections.Counter(int(re.match(rf"{MARK}(\d+)", a["comment"]).group(1)) for a in rows)
    lost = [j.n for j in jobs if j.receipts and per_job[j.n] == 0]
    assert not lost, f"{len(lost)} acknowledged answers are missing"
    assert not [n for n, c in per_job.items() if c > 1], "an answer was stored twice"
    # Nothing stored that was not sent by a job that either got its 201 or lost its connection.
    by_n = {j.n: j for j in jobs}
    for n in per_job:
        job = by_n[n]
        assert job.valid, "an invalid answer was stored"
        assert job.receipts or ("cut", None) in job.outcomes, "a refused answer was stored"
    # One code, one answer: spent codes equal stored answers, and a code never won twice.
    per_code = collections.Counter(norm(j.code) for j in jobs for _ in j.receipts)
    assert max(per_code.values(), default=0) <= 1
    spent = spent_codes(settings, survey["id"])
    assert len(spent) == len(rows)
    assert {norm(j.code) for j in jobs if j.receipts} <= spent
    invalid_only = {norm(j.code) for j in jobs if not j.valid} - {norm(j.code) for j in jobs if j.valid}
    assert not (invalid_only & spent), "a refused answer spent its code"
    # At the release every waiting answer moves into the statistics, counted exactly once.
    release_all(settings)  # every waiting answer, whatever the batch size (the batches: tests/analysis/test_calendar.py)
    assert raw_rows(settings, f"SELECT count(*) AS n FROM response_intake WHERE survey_id = {int(survey['id'])}")[0]["n"] == 0
    counted = raw_rows(settings, f"SELECT SUM(n) AS n FROM response_count WHERE survey_id = {int(survey['id'])}")
    assert int(counted[0]["n"] or 0) == len(rows) == len(stored(settings, survey["id"]))
    for j in jobs:
        for s, _ in j.outcomes:
            assert s in (201, 409, 422, "cut"), s
            if s == 422:
                assert not j.valid
    return {"sent": sum(len(j.outcomes) for j in jobs), "acknowledged": len(receipts), "stored": len(rows),
            "statuses": dict(statuses), "lost": len(lost)}


def test_no_answer_lost_or_doubled_under_load(live, world, settings):
    jobs_codes = SUBMISSIONS
    survey, codes = make_survey(live.url, world.auth("fac_a"), jobs_codes)
    jobs = plan(codes, SUBMISSIONS)
    t0 = time.perf_counter()
    asyncio.run(drive(live.url, survey["slug"], jobs, clients=CLIENTS, retry_cut=True))
    elapsed = time.perf_counter() - t0
    figures = check_ledger(settings, survey, jobs, cuts_allowed=True)
    # Without crashes a cut connection is rare (a loaded box may drop one); its retry settled it.
    assert figures["statuses"].get("cut", 0) <= SUBMISSIONS // 200, figures
    assert figures["acknowledged"] >= SUBMISSIONS * 0.8
    assert figures["statuses"].get(409, 0) > 0 and figures["statuses"].get(422, 0) > 0
    print(f"\nLOAD {settings.database_url.split(':')[0]}: {figures} in {elapsed:.1f}s "
          f"({figures['sent'] / elapsed:.0f} req/s, {CLIENTS} clients)")

    # The real server's log: staff requests only (no line for a young person's answer, issue 16), never an
    # IP address, never free text.
    live.stop()
    log = live.log()
    access = [line for line in log.splitlines() if "youthvoice.access" in line]
    assert access and not [line for line in access if "/api/public/" in line or " /s/" in line]
    for line in log.splitlines():
        if "Uvicorn running on" in line:
            continue  # the server's own listening address, not a client's
        assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", line), line
        assert MARK not in line and "<script>" not in line, line
    assert not any(norm(c) in log or c in log for c in codes[:200]), "a one-time code reached the log"


def test_two_workers_on_one_database_lose_and_double_nothing(world, settings, tmp_path):
    """Several stateless workers (README, deploying): each keeps its own copy of the open survey
    and its own group commit, and they write to the same database at the same time."""
    server = LiveServer(settings, tmp_path / "var", workers=2)
    server.var_dir.mkdir()
    server.start()
    try:
        survey, codes = make_survey(server.url, world.auth("fac_a"), 600)
        jobs = plan(codes, 600, seed=11)
        asyncio.run(drive(server.url, survey["slug"], jobs, clients=50, retry_cut=True))
        figures = check_ledger(settings, survey, jobs, cuts_allowed=True)
        assert figures["acknowledged"] >= 600 * 0.8, figures
    finally:
        server.stop()
    assert " ERROR " not in server.log(), server.log()[-3000:]


def integrity_ok(settings) -> None:
    url = make_url(settings.database_url)
    if settings.is_sqlite:
        con = sqlite3.connect(url.database)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            con.close()
        return
    from tests import pgcluster

    tool = os.path.join(pgcluster.pg_bindir() or "", "pg_amcheck")
    if os.path.exists(tool):
        r = subprocess.run([tool, "--install-missing", "--heapallindexed", "-h", url.host, "-p", str(url.port),
                            "-U", url.username or "postgres", url.database], capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
    # and the counts agree across the tables a submission to a code survey touches
    coded = "survey_id IN (SELECT id FROM survey WHERE access = 'code')"
    rows = raw_rows(settings, f"SELECT (SELECT count(*) FROM response WHERE {coded}) + "
                              f"(SELECT count(*) FROM response_intake WHERE {coded}) AS r, "
                              "(SELECT count(*) FROM survey_code WHERE spent) AS c")
    assert rows[0]["r"] == rows[0]["c"]


def per_marker(settings, table: str, survey_ids) -> collections.Counter:
    """How often each answer (by its free-text marker) is in `table`."""
    ids = ", ".join(str(int(i)) for i in survey_ids)
    out: collections.Counter = collections.Counter()
    for r in rows_of(settings, table, f"WHERE survey_id IN ({ids})"):
        answers = r["answers"] if not isinstance(r["answers"], str) else json.loads(r["answers"])
        out[int(re.match(rf"{MARK}(\d+)", answers["comment"]).group(1))] += 1
    return out


def youthvoice_publish(server) -> str:
    """The release as an operator (or the schedule) makes it: `youthvoice publish`, its own process."""
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "youthvoice.cli"]
    r = subprocess.run([*cmd, "publish"], env=server.env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


# Every status a young person may get: a receipt or the thank-you page; a used or unknown code (code
# survey only); an invalid answer. Anything else (a 5xx above all) fails the test; a kill shows as a
# cut connection.
ALLOWED = {("json", True): {201, 409, 422}, ("form", True): {303, 409, 422}, ("form", False): {303, 422}}


def test_workers_killed_under_load_lose_and_double_nothing(world, settings, tmp_path):
    """Issue 16: stateless workers on one database (two on PostgreSQL; one on SQLite, its single
    writer) take answers from 100 phones to a code survey and an open survey, over JSON and the
    HTML form, while a worker is killed with SIGKILL five times at random moments and started
    again each time; phones resend after a cut. Then the release (`youthvoice publish`): every answer that was
    thanked for is counted exactly once, no code let two answers in, nothing else was stored."""
    seed = int(os.environ.get("YOUTHVOICE_KILL_SEED") or random.randrange(1 << 30))
    rnd = random.Random(seed)
    print(f"\nseed {seed} (YOUTHVOICE_KILL_SEED={seed} repeats this run's plan and kill moments)")
    started = time.perf_counter()
    servers = [LiveServer(settings, tmp_path / f"var{i}") for i in range(1 if settings.is_sqlite else 2)]
    for server in servers:
        server.var_dir.mkdir()
    try:
        with ThreadPoolExecutor() as pool:  # started side by side: each start is mostly imports
            list(pool.map(LiveServer.start, servers))
        code_survey, codes = make_survey(servers[0].url, world.auth("fac_a"), KILL_ANSWERS)
        open_survey, _ = make_survey(servers[-1].url, world.auth("fac_a"), 0, access="open")
        answers = mixed_plan(code_survey["slug"], open_survey["slug"], codes, KILL_ANSWERS, seed)
        # One kill in each fifth of the run's first three quarters, at a random point of it, of a
        # worker picked at random among those up (on PostgreSQL the other may still be restarting:
        # then both are down for a while, and the phones wait).
        moments = [int(KILL_ANSWERS * (0.05 + 0.7 * (i + rnd.random()) / KILLS)) for i in range(KILLS)]
        done, up, restarts, downtime = [0], [True] * len(servers), [], []

        def restart(i: int, down: float) -> None:
            servers[i].start(timeout=180)
            downtime.append(round(time.perf_counter() - down, 1))
            up[i] = True

        async def killer() -> None:
            for moment in moments:
                while done[0] < moment or not any(up):
                    await asyncio.sleep(0.02)
                await asyncio.sleep(rnd.uniform(0, 0.25))  # inside the requests in flight, not at an answer's end
                i = rnd.choice([i for i, u in enumerate(up) if u])
                up[i] = False
                down = time.perf_counter()
                await asyncio.to_thread(servers[i].kill9)
                restarts.append(asyncio.ensure_future(asyncio.to_thread(restart, i, down)))

        async def on_done():
            done[0] += 1

        async def run():
            kills = asyncio.ensure_future(killer())
            try:
                stats = await drive_many([s.url for s in servers], answers, clients=CLIENTS, on_done=on_done)
            finally:
                finished = kills.done()
                kills.cancel()
                await asyncio.gather(*restarts)  # no server may start after the test has stopped them
            assert finished and not kills.cancelled(), f"the load ended before every kill ({len(restarts)} of {KILLS})"
            kills.result()
            return stats

        t0, cpu0 = time.perf_counter(), time.process_time()
        setup = t0 - started
        stats = asyncio.run(run())
        elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        assert sum(s.kills for s in servers) == KILLS, "the load ended before every kill"
        for server in servers:
            server.kill9()  # and once more at the very end, before anyone looks: acknowledged means on disk
    finally:
        for server in servers:
            server.stop()

    statuses = collections.Counter((a.via, s) for a in answers for s, _ in a.outcomes)
    for a in answers:
        for s, detail in a.outcomes:
            assert s == "cut" or s in ALLOWED[(a.via, bool(a.code))], (a.via, a.code, s, detail)
    assert any(a.cut for a in answers), "no request was in flight at a kill: the test proved nothing"
    survey_ids = (code_survey["id"], open_survey["id"])
    waiting = per_marker(settings, "response_intake", survey_ids)
    assert not per_marker(settings, "response", survey_ids), "answers were released before the release"
    by_n = {a.n: a for a in answers}
    # Before the release: every thanked answer waits in the intake exactly once; an answer that was
    # never thanked is there only if a cut hid its success (at most once); a refused one is absent.
    lost = [a.n for a in answers if a.acked and waiting[a.n] == 0]
    assert not lost, f"{len(lost)} acknowledged answers are missing: {lost[:10]}"
    assert not [n for n, c in waiting.items() if c > 1], "an answer was stored twice"
    for n in waiting:
        assert by_n[n].valid, "an invalid answer was stored"
        assert by_n[n].acked or by_n[n].cut, "a refused answer was stored"
    # One code, one answer: no code thanked for two answers; the spent codes are exactly the stored
    # code answers: those thanked for, and those whose thanks a cut connection swallowed.
    thanked = collections.Counter(norm(a.code) for a in answers if a.code and a.acked)
    assert max(thanked.values(), default=0) <= 1, "a code let two answers in"
    spent = spent_codes(settings, code_survey["id"])
    code_rows = sum(c for n, c in waiting.items() if by_n[n].code)
    assert len(spent) == code_rows, (len(spent), code_rows)
    assert set(thanked) <= spent
    assert spent - set(thanked) <= {norm(a.code) for a in answers if a.code and a.cut}
    refused_only = {norm(a.code) for a in answers if a.code and not a.valid} - {norm(a.code) for a in answers
                                                                                if a.code and a.valid}
    assert not (refused_only & spent), "a refused answer spent its code"
    integrity_ok(settings)

    out = youthvoice_publish(servers[0])
    assert "answers:" in out, out
    # After it: the intake is empty and the released table holds the very same answers, each once, and
    # the counts the statistics read agree with them.
    assert not per_marker(settings, "response_intake", survey_ids)
    assert per_marker(settings, "response", survey_ids) == waiting
    for sid in survey_ids:
        counted = raw_rows(settings, f"SELECT SUM(n) AS n FROM response_count WHERE survey_id = {int(sid)}")
        rows = raw_rows(settings, f"SELECT count(*) AS n FROM response WHERE survey_id = {int(sid)}")
        assert int(counted[0]["n"] or 0) == rows[0]["n"]
    assert len(spent_codes(settings, code_survey["id"])) == len(spent)

    # No worker logged an error (a 500 would have: "database is locked" did, before the fix in http.py).
    for server in servers:
        errors = [line for line in server.log().splitlines() if " ERROR " in line or "Traceback" in line]
        assert not errors, errors[:5]
    figures = {"answers": len(answers), **stats, "thanked": sum(1 for a in answers if a.acked),
               "stored": sum(waiting.values()), "cut_then_stored_unthanked":
               dict(collections.Counter(f"{a.via}:{a.outcomes[-1][0]}" for a in answers if not a.acked and waiting[a.n])),
               "kills": sum(s.kills for s in servers) - len(servers), "down_s": downtime, "workers": len(servers),
               "statuses": {f"{v}:{s}": c for (v, s), c in sorted(statuses.items(), key=str)}}
    print(f"KILL {settings.database_url.split(':')[0]}: {figures}; setup {setup:.1f}s, load {elapsed:.1f}s "
          f"(the phones' CPU {client_cpu:.1f}s), "
          f"whole test {time.perf_counter() - started:.1f}s")
