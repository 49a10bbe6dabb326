"""`python -m bench.release [--units 300] [--responses 1000000] [--backend sqlite]`: how long one
release takes over many units and answers (issue 15: under a minute on 2 CPUs), and how long the
dashboard's read of a stored release takes. Prints a Markdown table for BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from analysis import read
from analysis.release import publish_due
from survey.demo import add_responses
from survey.models import Survey, SurveyVersion
from survey.standard import standard_questions
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


async def run(url: str, units: int, responses: int) -> list[tuple[str, str]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rows: list[tuple[str, str]] = []
    unit_ids = await seed(sessions, units)
    t = time.perf_counter()
    async with sessions() as db:
        await add_responses(db, responses, random.Random(7))
    rows.append((f"bulk load of {responses:,} answers over {units} units (setup, not measured against a target)",
                 f"{time.perf_counter() - t:.1f} s"))
    t = time.perf_counter()
    made = await publish_due(engine, sessions, 5)
    rows.append((f"release: {len(made)} releases (finals of the closed periods, today's preliminary totals, "
                 f"{units} surveys' /r/ tables)", f"{time.perf_counter() - t:.1f} s"))
    t = time.perf_counter()
    again = await publish_due(engine, sessions, 5)
    rows.append((f"publish again the same day ({len(again)} releases due)", f"{time.perf_counter() - t:.2f} s"))
    term = f"{dt.date.today().year}-{'VT' if dt.date.today().month <= 6 else 'HT'}"
    for label, view in (("one unit", {unit_ids[0]}), ("all units", set(unit_ids))):
        times = []
        async with sessions() as db:
            for _ in range(50):
                t = time.perf_counter()
                pub = await read.goals_of(db, view, term)
                times.append(time.perf_counter() - t)
        assert pub["goals"], "no stored release for the view"
        rows.append((f"dashboard's read of a stored release, {label} ({term}), median of 50",
                     f"{statistics.median(times) * 1000:.1f} ms"))
    async with sessions() as db:
        survey_id = (await db.execute(select(Survey.id).limit(1))).scalar_one()
        t = time.perf_counter()
        await read.survey_of(db, survey_id)
        rows.append(("/r/'s read of a stored release", f"{(time.perf_counter() - t) * 1000:.1f} ms"))
    await engine.dispose()
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=300)
    p.add_argument("--responses", type=int, default=1_000_000)
    p.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        rows = asyncio.run(run(url, args.units, args.responses))
    print("| measured | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
