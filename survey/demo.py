"""Demo data, survey part: the effect-goal survey in both units, 20 one-time codes, synthetic answers;
`add_responses` also serves `youthvoice demo --responses N` and the benchmarks."""

from __future__ import annotations

import datetime as dt
import os
import random
import sys

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today
from youthvoice.demo import DemoContext

from .models import Survey, SurveyVersion
from .schemas import QuestionDef, SurveyDef
from .service import create_survey, make_codes, publish, stat_columns
from .standard import standard_questions
from .store import add_counts, count_rows

# In every shipped language, like the standard questions, so the demo survey is offered in all of them.
DEMO_TITLE = {"sv": "Vad tyckte du?", "lattlast": "Vad tycker du?", "en": "What did you think?", "ar": "ما رأيك؟",
              "prs": "نظر شما چه بود؟", "so": "Maxaad ka qabtay?", "ti": "እንታይ ተሰሚዑኩም?", "uk": "Що ти думаєш?"}


async def load(db: AsyncSession, ctx: DemoContext, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(2026)
    day = today()
    questions = [msgspec.convert(q, QuestionDef) for q in standard_questions()]
    for slug in ctx.units:
        survey = await create_survey(db, ctx.units[slug], SurveyDef(
            unit=slug, title=DEMO_TITLE,
            opens=dt.date(day.year - 1, 1, 1), closes=dt.date(day.year, 12, 31), access="open",
            questions=questions))
        await publish(db, survey)
        ctx.extra.setdefault("surveys", {})[slug] = survey
    await make_codes(db, ctx.extra["surveys"]["enter-alingsas"], 20)
    await add_responses(db, 160, rng=rng, months_back=11)


def _synthetic_answers(rng: random.Random, questions: list[dict]) -> dict:
    gender = rng.choices(["woman", "man", "non_binary", "undisclosed"], [46, 46, 3, 5])[0]
    lean = 0.5 if gender == "woman" else 0.0
    answers: dict = {}
    for q in questions:
        if q["kind"] == "likert5":
            answers[q["key"]] = None if rng.random() < 0.05 else min(5, max(1, round(rng.gauss(3.7 + lean, 1.0))))
        elif q.get("role") == "gender":
            answers[q["key"]] = gender
        elif q["kind"] == "choice":
            answers[q["key"]] = rng.choice(q["options"])
    return answers


COLUMNS = ("id", "survey_id", "version_id", "unit_id", "month", "language", "gender", "age_band", "newly_arrived",
           "disability", "closer", "useful", "answers", "record_key")


def _progress(done: int, count: int) -> None:
    width = 40
    filled = int(width * done / count) if count else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{count} answers")
    sys.stderr.flush()


async def add_responses(db: AsyncSession, count: int, rng: random.Random | None = None, months_back: int = 11,
                        batch: int = 50_000, progress: bool = False) -> None:
    """Synthetic answers spread over the last months, written in bulk: sqlite3 `executemany`
    in big transactions on SQLite, COPY (asyncpg `copy_records_to_table`) on PostgreSQL.
    A million answers take well under a minute."""
    rng = rng or random.Random()
    rows = (await db.execute(select(Survey, SurveyVersion).join(
        SurveyVersion, (SurveyVersion.survey_id == Survey.id) & (SurveyVersion.number == Survey.current_version)
    ).where(Survey.status == "published"))).all()
    if not rows:
        raise SystemExit("no published survey to answer: run `youthvoice demo` first")
    # A pool of realistic answers per survey, drawn from for each row: generating every
    # answer afresh costs more than writing it.
    # One pool per distinct question list (every survey with the standard questions shares one),
    # so 300 surveys cost no more to prepare than one; each row then draws a survey and an answer.
    encode = msgspec.json.Encoder().encode
    pools: dict[bytes, list[tuple]] = {}
    surveys = []
    for survey, version in rows:
        shape = encode(version.questions)
        if shape not in pools:
            pool = []
            for _ in range(min(count, 4000)):
                answers = _synthetic_answers(rng, version.questions)
                st = stat_columns(version.questions, answers)
                pool.append((st["gender"], st["age_band"], st["newly_arrived"], st["disability"], st["closer"],
                             st["useful"], encode(answers).decode()))
            pools[shape] = pool
        surveys.append(((survey.id, version.id, survey.unit_id), pools[shape]))
    await db.commit()
    day = today()
    months = []
    for back in range(months_back + 1):
        y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
        months.append(y * 100 + m + 1)
    conn = await db.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        # The driver's own connection: one executemany per batch, no per-row round trips.
        await raw.execute("PRAGMA cache_size=-1000000")  # up to 1 GB of pages: the random-key B-tree stays in memory
        sql = f"INSERT INTO response ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    # Random ids, written in key order: each batch then fills fresh B-tree pages instead of
    # dirtying pages all over the table (the ids stay random; only this bulk load is ordered).
    hexed = os.urandom(16 * count).hex()
    ids = sorted(hexed[i:i + 32] for i in range(0, 32 * count, 32))
    del hexed
    done = 0
    if progress:
        _progress(0, count)
    while done < count:
        n = min(batch, count - done)
        keys = os.urandom(n)  # secret record keys, uniform on 0..255 (analysis/cellkey.py)
        rnd = rng.random
        picked = [surveys[int(rnd() * len(surveys))] for _ in range(n)]
        chunk = [(i, *s, month, lang, *pool[int(rnd() * len(pool))], key)
                 for i, (s, pool), month, lang, key in zip(ids[done:done + n], picked, rng.choices(months, k=n),
                                                           rng.choices(LANGS, LANG_WEIGHTS, k=n), keys)]
        # Synthetic answers skip the intake (nobody gave them) and go straight in with their counts.
        counts = count_rows(dict(zip(COLUMNS[1:], row[1:])) for row in chunk)
        if sqlite:
            # The engine's SQLite connections begin nothing themselves (youthvoice/db.py): after the
            # first commit each row would be its own transaction (a million fsyncs), so every
            # batch begins its own.
            if not raw.in_transaction:
                await raw.execute("BEGIN")
            await raw.executemany(sql, chunk)
            await add_counts(conn, counts)
            await raw.commit()
        else:
            await raw.copy_records_to_table("response", records=chunk, columns=COLUMNS)
            await add_counts(conn, counts)
        done += n
        if progress:
            _progress(done, count)
    await db.commit()
    if progress:
        sys.stderr.write("\n")


LANGS = ("sv", "en", "ar")
LANG_WEIGHTS = (80, 10, 10)
