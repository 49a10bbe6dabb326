"""`python -m bench.release [--units 300] [--responses 1000000] [--backend sqlite|postgresql]
[--url URL [--loaded]]`: how long one release takes over many units and answers (issue 15: under a
minute on 2 CPUs), and how long the dashboard's read of a stored release takes. Prints a Markdown
table for BENCHMARKS.md, with the process's CPU time beside the wall time and the load average
(the machine is shared: wall time alone says more about the neighbours than about the code).
`--loaded`: the database at --url already holds the units and answers (from an earlier run of
the bulk load), so only the release and the reads are measured."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from analysis import read
from analysis.release import publish_due
from survey.demo import add_responses
from survey.models import Response, Survey, SurveyVersion
from survey.standard import standard_questions
from tests import pgcluster
from youthvoice import clock
from youthvoice.db import make_engine, make_sessionmaker
from youthvoice.migrate import upgrade
from youthvoice.models import Agreement, Unit


async def seed(sessions, units: int) -> list[int]:
    async with sessions() as db:
        agreements = [Agreement(slug=f"agr-{i}", name=f"Agreement {i}") for i in range(max(1, units // 30))]
        db.add_all(agreements)
        await db.flush()
        made = [Unit(slug=f"unit-{i}", name=f"Unit {i}", agreement_id=agreements[i % len(agreements)].id)
                for i in range(units)]
        db.add_all(made)
        await db.flush()
        for u in made:
            s = Survey(unit_id=u.id, slug=f"s-{u.id}", title={"sv": "Enkät"}, opens=dt.date(2020, 1, 1),
                       closes=dt.date(2099, 12, 31), access="open", status="published", current_version=1, actions={})
            db.add(s)
            await db.flush()
            db.add(SurveyVersion(survey_id=s.id, number=1, questions=standard_questions()))
        await db.commit()
        return [u.id for u in made]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _timed(t: float, c: float) -> str:
    return f"{time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} s CPU ({_load()})"


async def run(url: str, units: int, responses: int, loaded: bool = False) -> list[tuple[str, str]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rows: list[tuple[str, str]] = []
    backend = engine.dialect.name
    if loaded:
        async with sessions() as db:
            unit_ids = list((await db.execute(select(Unit.id).order_by(Unit.id))).scalars())
            responses = (await db.execute(select(func.count()).select_from(Response))).scalar_one()
        units = len(unit_ids)
    else:
        unit_ids = await seed(sessions, units)
        t, c = time.perf_counter(), time.process_time()
        async with sessions() as db:
            await add_responses(db, responses, random.Random(7))
        rows.append((f"{backend}: bulk load of {responses:,} answers over {units} units (setup, no target)",
                     _timed(t, c)))
    t, c = time.perf_counter(), time.process_time()
    made = await publish_due(engine, sessions, 5)
    label = (f"{backend}: **one release, {units} units × {responses:,} answers** ({len(made)} releases: "
             f"finals of the closed periods, today's preliminary totals, {units} surveys' /r/ tables)")
    rows.append((label, _timed(t, c)))
    t, c = time.perf_counter(), time.process_time()
    again = await publish_due(engine, sessions, 5)
    rows.append((f"{backend}: publish again the same day ({len(again)} releases due)", _timed(t, c)))
    day = clock.today()
    term = f"{day.year}-{'VT' if day.month <= 6 else 'HT'}"
    for label, view in (("one unit", {unit_ids[0]}), ("all units", set(unit_ids))):
        times = []
        async with sessions() as db:
            for _ in range(200):
                t = time.perf_counter()
                pub = await read.goals_of(db, view, term)
                times.append(time.perf_counter() - t)
        assert pub["goals"], "no stored release for the view"
        rows.append((f"{backend}: dashboard's read of a stored release, {label} ({term}), median of 200",
                     f"{statistics.median(times) * 1000:.1f} ms (p90 {statistics.quantiles(times, n=10)[-1] * 1000:.1f} ms)"))
    times = []
    async with sessions() as db:
        survey_ids = list((await db.execute(select(Survey.id).limit(50))).scalars())
        for sid in survey_ids * 4:
            t = time.perf_counter()
            body, _ = await read.survey_of(db, sid)
            times.append(time.perf_counter() - t)
            assert body is not None, "no stored /r/ release"
    rows.append((f"{backend}: /r/'s read of a stored release, median of {len(times)}",
                 f"{statistics.median(times) * 1000:.1f} ms"))
    await engine.dispose()
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=300)
    p.add_argument("--responses", type=int, default=1_000_000)
    p.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                   help="a fresh database of this kind (PostgreSQL: a throwaway cluster, tests/pgcluster.py)")
    p.add_argument("--url", help="database URL instead of a fresh one")
    p.add_argument("--loaded", action="store_true", help="the database at --url already holds the answers")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = args.url
        if url is None and args.backend == "postgresql":
            admin = stack.enter_context(pgcluster.temporary_cluster())
            pgcluster.create_database(admin, "bench_release")
            url = pgcluster.database_url(admin, "bench_release")
        url = url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        if not args.loaded:
            upgrade(url)
        rows = asyncio.run(run(url, args.units, args.responses, args.loaded))
    print("| measured | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
