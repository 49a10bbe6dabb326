"""`python -m bench` (`make bench`): P1–P5 on SQLite and PostgreSQL against a real server.

Every figure that has a goal as a ratio is measured in the same run against the same
server or database, because the machines are shared and noisy; absolute times are context.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

from .load import build_request, fetch, run_load
from .server import ROOT, RssSampler, Server, cli, tree_rss_kb

HOST = "127.0.0.1"
SECRET = "bench-secret-key-not-for-production"
KB = 1024
P3_LIMIT = 180.0  # seconds for one dashboard round before the bench gives up on it

ADMIN = "admin@demo.youthvoice.se"


@dataclass
class Row:
    measure: str
    backend: str
    value: str
    goal: str
    ok: bool | None

    def cells(self) -> list[str]:
        verdict = {True: "met", False: "NOT MET", None: "info"}[self.ok]
        return [self.measure, self.backend, self.value, self.goal, verdict]


# ---------- databases ----------

class RawDB:
    """The database without the app: the driver alone (sqlite3 / asyncpg)."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")

    async def rows(self, sql: str, *args: object) -> list[tuple]:
        if self.sqlite:
            path = self.url.split(":///", 1)[1]
            con = sqlite3.connect(path)
            try:
                return con.execute(sql, args).fetchall()
            finally:
                con.close()
        import asyncpg

        con = await asyncpg.connect("postgresql://" + self.url.split("://", 1)[1])
        try:
            n = iter(range(1, 100))
            pg_sql = re.sub(r"\?", lambda _m: f"${next(n)}", sql)
            return [tuple(r) for r in await con.fetch(pg_sql, *args)]
        finally:
            await con.close()

    def q(self, sql: str, *args: object) -> list[tuple]:
        return asyncio.run(self.rows(sql, *args))


BREAKDOWN_SQL = """
SELECT gender, age_band, newly_arrived, disability,
       SUM(CASE WHEN closer >= 4 THEN 1 ELSE 0 END), COUNT(closer),
       SUM(CASE WHEN useful >= 4 THEN 1 ELSE 0 END), COUNT(useful)
FROM response WHERE unit_id IN ({units}) AND month BETWEEN ? AND ?
GROUP BY gender, age_band, newly_arrived, disability
"""


# The same figures from the counts table the app reads (survey/store.py), for comparison.
COUNTS_SQL = """
SELECT gender, age_band, newly_arrived, disability,
       SUM(closer_k), SUM(closer_n), SUM(useful_k), SUM(useful_n)
FROM response_count WHERE unit_id IN ({units}) AND month BETWEEN ? AND ?
GROUP BY gender, age_band, newly_arrived, disability
"""


async def bare_group_by(db: RawDB, unit_ids: list[int], ranges: list[tuple[int, int]],
                        sql: str = BREAKDOWN_SQL) -> float:
    """The same counts as the dashboard, straight from the driver: one GROUP BY per period."""
    sql = sql.format(units=",".join(str(int(u)) for u in unit_ids))
    if db.sqlite:
        con = sqlite3.connect(db.url.split(":///", 1)[1])
        t0 = time.perf_counter()
        for first, last in ranges:
            con.execute(sql, (first, last)).fetchall()
        took = time.perf_counter() - t0
        con.close()
        return took
    import asyncpg

    con = await asyncpg.connect("postgresql://" + db.url.split("://", 1)[1])
    pg_sql = sql.replace("BETWEEN ? AND ?", "BETWEEN $1 AND $2")
    t0 = time.perf_counter()
    for first, last in ranges:
        await con.fetch(pg_sql, first, last)
    took = time.perf_counter() - t0
    await con.close()
    return took


@contextlib.contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{work / 'bench.db'}"
        return
    from tests import pgcluster

    if not pgcluster.pg_available():
        raise RuntimeError("PostgreSQL server binaries missing: run scripts/ensure-system.sh")
    with pgcluster.temporary_cluster() as admin:
        pgcluster.create_database(admin, "bench")
        yield pgcluster.database_url(admin, "bench")


# ---------- the measures ----------

def periods(today: dt.date) -> list[str]:
    y = today.year
    return [f"{y}", f"{y}-VT", f"{y}-HT", f"{y}-Q1", f"{y}-Q2", f"{y}-Q3", f"{y}-Q4",
            f"{y - 1}", f"{y - 1}-VT", f"{y - 1}-HT", f"{y - 1}-Q3", f"{y - 1}-Q4"]


def synthetic_answers(questions: list[dict], i: int) -> dict:
    answers: dict = {}
    for q in questions:
        if q["kind"] == "likert5":
            answers[q["key"]] = 1 + i % 5
        elif q["kind"] == "choice":
            answers[q["key"]] = q["options"][i % len(q["options"])]
        elif q["kind"] == "yesno":
            answers[q["key"]] = i % 2 == 0
    return answers


def form_fields(questions: list[dict], answers: dict) -> dict:
    out = {}
    for q in questions:
        v = answers.get(q["key"])
        if v is None:
            continue
        if q["kind"] == "yesno":
            v = "yes" if v else "no"
        out[f"q_{q['key']}"] = str(v)
    return out


def p1(server: Server, db: RawDB, slug: str, questions: list[dict], total: int, out: list[Row],
       backend: str) -> None:
    from youthvoice.web import youth_form_token

    port = server.port
    goal_key = next(q["key"] for q in questions if q["kind"] == "likert5")
    health = build_request("GET", "/healthz", HOST, port)
    json_reqs, form_reqs, bad = [], [], set()
    for i in range(total):
        answers = synthetic_answers(questions, i)
        if i % 20 == 7:  # one in twenty is invalid: must be refused and never stored
            answers[goal_key] = 7
            bad.add(i)
        body = json.dumps({"answers": answers, "language": "sv"}).encode()
        json_reqs.append(build_request("POST", f"/api/public/surveys/{slug}/responses", HOST, port, body,
                                       {"Content-Type": "application/json"}))
        fields = {"_form": youth_form_token(SECRET, f"survey:{slug}"), "_screen": "99", "_go": "send",
                  **form_fields(questions, answers)}
        form_reqs.append(build_request("POST", f"/s/{slug}", HOST, port, urlencode(fields).encode(),
                                       {"Content-Type": "application/x-www-form-urlencoded"}))

    def count() -> int:  # acknowledged answers: released, or waiting in the intake for the next release
        return db.q("SELECT (SELECT COUNT(*) FROM response) + (SELECT COUNT(*) FROM response_intake)")[0][0]

    async def load(reqs, n):
        return await run_load(HOST, port, lambda i: reqs[i], total=n, concurrency=50, time_limit=30)

    # Warm up every path (connections, caches, JIT of templates).
    asyncio.run(load([health] * 200, 200))
    before = count()
    asyncio.run(load(json_reqs[-100:], 100))
    asyncio.run(load(form_reqs[-100:], 100))
    warm_stored = count() - before
    json_reqs, form_reqs = json_reqs[:-100], form_reqs[:-100]
    n = total - 100
    with RssSampler(server.pid) as rss:
        base = asyncio.run(load([health] * n, n))
        before = count()
        js = asyncio.run(load(json_reqs, n))
        mid = count()
        fm = asyncio.run(load(form_reqs, n))
        after = count()
    ok_json = js.statuses.get(201, 0)
    ok_form = fm.statuses.get(303, 0)  # Send answers with a redirect to the thank-you page (post/redirect/get)
    sent_bad = sum(1 for i in bad if i < js.requests)
    exact_json = (mid - before) == ok_json and js.statuses.get(422, 0) == sent_bad
    exact_form = (after - mid) == ok_form and fm.statuses.get(422, 0) == sum(1 for i in bad if i < fm.requests)
    print(f"  healthz {base.rps:.0f}/s  json {js.rps:.0f}/s {dict(js.statuses)}  form {fm.rps:.0f}/s "
          f"{dict(fm.statuses)}  stored {mid - before}+{after - mid} (warm-up {warm_stored})")
    for name, res, exact, stored in (("JSON", js, exact_json, mid - before),
                                     ("HTML form", fm, exact_form, after - mid)):
        ratio = res.rps / base.rps
        out.append(Row(f"P1 submit {name}: req/s vs /healthz", backend,
                       f"{ratio:.2f} ({res.rps:.0f} vs {base.rps:.0f}/s)", ">= 0.50", ratio >= 0.5))
        p99 = res.pct(99) * 1000
        out.append(Row(f"P1 submit {name}: p99 latency", backend,
                       f"{p99:.0f} ms (p50 {res.pct(50) * 1000:.0f} ms)", "<= 100 ms", p99 <= 100))
        out.append(Row(f"P1 submit {name}: stored = accepted", backend,
                       f"{stored} stored / {res.requests - sum(1 for i in bad if i < res.requests)} valid, "
                       f"{sum(v for k, v in res.statuses.items() if k >= 400)} refused", "exact", exact))
    out.append(Row("P4 server RSS under P1 load", backend, f"{rss.peak / 1024:.0f} MB", "<= 150 MB",
                   rss.peak / 1024 <= 150))
    # The statistics read the counts table, filled at the release: after one it counts exactly the stored answers.
    # Answers given today are released by tomorrow's release (the demo already made today's).
    from youthvoice.clock import today

    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    subprocess.run([sys.executable, "-m", "analysis.publish", "--today", tomorrow], env=server.env, check=True,
                   capture_output=True)
    counted = int(db.q("SELECT COALESCE(SUM(n), 0) FROM response_count")[0][0])
    rows = count()
    out.append(Row("P1 counts table (statistics) = stored answers", backend, f"{counted} counted / {rows} stored",
                   "exact", counted == rows))


def p2(server: Server, slug: str, out: list[Row], backend: str) -> None:
    """A phone's first visit: the page plus everything it loads, gzip on the wire."""
    port = server.port
    hdrs = {"Accept-Encoding": "gzip", "User-Agent": "bench-phone", "Accept": "text/html"}
    page = asyncio.run(fetch(HOST, port, build_request("GET", f"/s/{slug}", HOST, port, headers=hdrs)))
    assert page.status == 200, page.status
    import gzip

    html = gzip.decompress(page.body).decode() if page.headers.get("content-encoding") == "gzip" \
        else page.body.decode()
    assets = re.findall(r'<link[^>]+rel="(?:stylesheet|icon|preload)"[^>]*href="([^"]+)"', html)
    assets += re.findall(r'<(?:script|img)[^>]+src="([^"]+)"', html)
    assets = [a for a in assets if a.startswith("/")]
    if not re.search(r'<link[^>]+rel="[^"]*icon', html):
        assets.append("/favicon.ico")  # browsers ask for it when the page names no icon
    total = page.wire_bytes
    detail = [f"page {page.wire_bytes} B"]
    for a in assets:
        r = asyncio.run(fetch(HOST, port, build_request("GET", a, HOST, port, headers=hdrs)))
        total += r.wire_bytes
        detail.append(f"{a} {r.wire_bytes} B ({r.status}{', gzip' if r.headers.get('content-encoding') else ''})")
    requests = 1 + len(assets)
    print("  P2 " + "; ".join(detail))
    out.append(Row("P2 phone survey page: bytes on the wire (gzip, headers included)", backend,
                   f"{total / KB:.1f} KB ({'; '.join(detail)})", "<= 14 KB", total <= 14 * KB))
    scripts = len(re.findall(r"<script", html))
    out.append(Row("P2 phone survey page: requests", backend, f"{requests} ({scripts} script)", "1 (paints after one round trip)",
                   requests == 1))


def p3(server: Server, db: RawDB, token: str, rounds: int, out: list[Row], backend: str) -> None:
    from youthvoice.clock import today
    from youthvoice.periods import current_term, parse_period

    port = server.port
    auth = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    plist = periods(today())
    # The full dashboard: every goal with every breakdown (the JSON the /analysis page is built from).
    reqs = [build_request("GET", f"/api/stats/breakdowns?period={p}", HOST, port, headers=auth) for p in plist]
    reqs.append(build_request("GET", "/analysis", HOST, port, headers=auth))
    ranges = [parse_period(p) for p in plist] + [parse_period(current_term(today()))]
    unit_ids = [r[0] for r in db.q("SELECT id FROM unit")]
    # The dashboard reads stored releases: make the day's release first (bench/release.py times it).
    # Answers given today are released by tomorrow's release (the demo already made today's).
    from youthvoice.clock import today

    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    subprocess.run([sys.executable, "-m", "analysis.publish", "--today", tomorrow], env=server.env, check=True,
                   capture_output=True)
    n_answers = db.q("SELECT COUNT(*) FROM response")[0][0]

    async def one_round() -> float:
        reader, writer = await asyncio.open_connection(HOST, port)
        from .load import read_reply

        t0 = time.perf_counter()
        for r in reqs:
            writer.write(r)
            reply = await read_reply(reader)
            if reply.status != 200:
                raise RuntimeError(f"dashboard answered {reply.status}: {reply.body[:300]!r}")
        took = time.perf_counter() - t0
        writer.close()
        return took

    async def bounded() -> float:
        try:
            return await asyncio.wait_for(one_round(), P3_LIMIT)
        except TimeoutError:
            return float("inf")

    cold = asyncio.run(bounded())
    if cold == float("inf"):
        bare = asyncio.run(bare_group_by(db, unit_ids, ranges))
        print(f"  P3 dashboard did not finish within {P3_LIMIT:.0f} s; bare GROUP BY {bare * 1000:.0f} ms")
        out.append(Row(f"P3 dashboard, 12 periods + /analysis over {n_answers:,} answers: time vs bare GROUP BY",
                       backend, f"> {P3_LIMIT / bare:.0f} (> {P3_LIMIT:.0f} s vs {bare * 1000:.0f} ms)", "<= 2", False))
        out.append(Row("P3 dashboard: absolute time", backend, f"> {P3_LIMIT:.0f} s", "<= 1 s", False))
        return
    if cold > 20:
        rounds = 1
    app_times = [asyncio.run(bounded()) for _ in range(rounds)]
    bare_times = [asyncio.run(bare_group_by(db, unit_ids, ranges)) for _ in range(rounds)]
    table_times = [asyncio.run(bare_group_by(db, unit_ids, ranges, COUNTS_SQL)) for _ in range(rounds)]
    app, bare, counts = statistics.median(app_times), statistics.median(bare_times), statistics.median(table_times)
    ratio = app / bare
    print(f"  P3 dashboard {app * 1000:.0f} ms (cold {cold * 1000:.0f} ms), bare GROUP BY {bare * 1000:.0f} ms")
    out.append(Row(f"P3 dashboard, 12 periods + /analysis over {n_answers:,} answers: time vs bare GROUP BY",
                   backend, f"{ratio:.2f} ({app * 1000:.0f} ms vs {bare * 1000:.0f} ms)", "<= 2", ratio <= 2))
    out.append(Row("P3 dashboard: absolute time, warm (median of the later rounds)", backend,
                   f"{app * 1000:.0f} ms", "<= 1 s", app <= 1.0))
    out.append(Row("P3 dashboard: absolute time, first call after a restart (cold)", backend,
                   f"{cold * 1000:.0f} ms ({cold / bare:.2f}x bare)", "<= 1 s", cold <= 1.0))
    out.append(Row("P3 for comparison: the same GROUP BYs over the counts table the app reads", backend,
                   f"{counts * 1000:.1f} ms (dashboard {app / counts:.0f}x: 13 HTTP requests, disclosure "
                   "audit, intervals, JSON)", "-", None))
    out.append(Row("P4 server RSS after the dashboard rounds (scipy.special and numpy loaded)", backend,
                   f"{tree_rss_kb(server.pid) / 1024:.0f} MB", "-", None))


# ---------- the run ----------

def run_backend(backend: str, responses: int, p1_total: int, rounds: int, out: list[Row]) -> None:
    print(f"== {backend}")
    with tempfile.TemporaryDirectory(prefix=f"yv-bench-{backend}-") as tmp:
        work = Path(tmp)
        with database(backend, work) as url:
            env = {**os.environ, "YOUTHVOICE_DATABASE_URL": url, "YOUTHVOICE_VAR_DIR": str(work / "var"),
                   "YOUTHVOICE_SECRET_KEY": SECRET, "YOUTHVOICE_SUBMIT_RATE": "1000000000",
                   "YOUTHVOICE_LOGIN_RATE": "1000000000"}
            env.pop("YOUTHVOICE_TEST_PG_URL", None)
            cli(env, "demo")
            token = cli(env, "token", "create", "--email", ADMIN).strip().splitlines()[-1].strip()
            db = RawDB(url)
            slug, qjson = db.q(
                "SELECT s.slug, v.questions FROM survey s JOIN unit u ON u.id = s.unit_id "
                "JOIN survey_version v ON v.survey_id = s.id AND v.number = s.current_version "
                "WHERE u.slug = 'enter-alingsas' AND s.status = 'published' AND s.access = 'open'")[0]
            questions = json.loads(qjson) if isinstance(qjson, str) else qjson
            log = ROOT / "var" / f"bench-{backend}-server.log"  # kept after the run, for a look at errors
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("")
            with Server(env, log) as server:
                first_start = server.started_in
                print(f"  first start {first_start:.2f} s")
                p1(server, db, slug, questions, p1_total, out, backend)
                p2(server, slug, out, backend)
            t0 = time.perf_counter()
            cli(env, "demo", "--responses", str(responses), show=True)
            took = time.perf_counter() - t0
            out.append(Row(f"P3 `youthvoice demo --responses {responses:,}`", backend, f"{took:.1f} s",
                           "< 60 s", took < 60))
            with Server(env, log) as server:
                start = server.started_in
                out.append(Row("P5 `youthvoice serve` answering after start (fresh DB; with the answers)",
                               backend, f"{max(first_start, start):.2f} s ({first_start:.2f} s; {start:.2f} s)",
                               "<= 2 s", max(first_start, start) <= 2.0))
                p3(server, db, token, rounds, out, backend)
            errors = [ln for ln in log.read_text(errors="replace").splitlines() if " ERROR " in ln]
            if errors:
                print(f"  server logged {len(errors)} errors (see {log}), first: {errors[0][:300]}")
                out.append(Row("server errors during the run", backend, str(len(errors)), "0", False))


def machine() -> list[str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    pg = "n/a"
    with contextlib.suppress(Exception):
        from tests.pgcluster import pg_bindir

        pg = subprocess.run([str(pg_bindir() / "postgres"), "--version"], capture_output=True,
                            text=True, check=False).stdout.strip()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in
                         ("litestar", "uvicorn", "sqlalchemy", "aiosqlite", "asyncpg", "msgspec", "uvloop"))
    return [f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {cpu}, {os.cpu_count()} CPUs{mem}; {platform.platform()}",
            f"- Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; {pg}",
            f"- {versions}",
            f"- Git commit: {_git_head()}"]


def _git_head() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=False,
                              text=True).stdout.strip()
    return "unknown"


def table(rows: list[Row]) -> str:
    head = ["measure", "database", "measured", "goal", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def kept_sections(path: Path, notes: str) -> list[str]:
    """The `## ` sections of the present report that this bench does not write (bench.release's
    "Releases", written by hand from its output): kept as they are, after the main table."""
    if not path.exists():
        return []
    ours = {line for line in notes.splitlines() if line.startswith("## ")}
    parts = re.split(r"(?m)^(?=## )", path.read_text())[1:]
    return [p.rstrip() + "\n" for p in parts if p.splitlines()[0] not in ours]


def write_report(rows: list[Row], path: Path, args: argparse.Namespace) -> None:
    notes = (ROOT / "bench" / "NOTES.md").read_text() if (ROOT / "bench" / "NOTES.md").exists() else ""
    text = "\n".join([
        "# Benchmarks", "",
        ("Written by `make bench` (`python -m bench`). A real `youthvoice serve` process on loopback "
         "(production server and settings, one worker), a fresh database per backend, a bounded asyncio "
         f"load generator on the same machine ({args.p1} requests per P1 phase, 50 connections, 30 s cap)."),
        "",
        *machine(), "",
        table(rows), "",
        *kept_sections(path, notes),
        notes,
    ])
    path.write_text(text.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--responses", type=int, default=1_000_000)
    ap.add_argument("--p1", type=int, default=3000, help="requests per P1 phase")
    ap.add_argument("--rounds", type=int, default=5, help="P3 rounds (median)")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args()
    rows: list[Row] = []
    t0 = time.perf_counter()
    for backend in args.backend or ["sqlite", "postgresql"]:
        run_backend(backend, args.responses, args.p1, args.rounds, rows)
    print()
    print(table(rows))
    print(f"\n{sum(r.ok is False for r in rows)} goals not met; bench took {time.perf_counter() - t0:.0f} s")
    write_report(rows, Path(args.out), args)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
