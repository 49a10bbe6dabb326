"""Demo data: an agreement like Alingsås ENTER, staff, a survey with answers.
Other domains add their part through a `demo.load(db, ctx)` of their own."""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..survey.models import Survey, SurveyVersion
from ..survey.schemas import QuestionDef, SurveyDef
from ..survey.service import create_survey, make_codes, publish, stat_columns
from ..survey.standard import standard_questions
from ..survey.store import add_counts, count_rows
from .auth import hash_password
from .clock import today
from .models import Agreement, Organisation, Unit, User
from .models_registry import import_optional

DEMO_USERS = [
    ("admin@demo.youthvoice.se", "admin", "demo-admin-2026", []),
    ("processledare@demo.youthvoice.se", "process_leader", "demo-process-2026", ["enter-alingsas"]),
    ("handledare@demo.youthvoice.se", "facilitator", "demo-handledare-2026", ["enter-alingsas"]),
    ("handledare.tyreso@demo.youthvoice.se", "facilitator", "demo-tyreso-2026", ["ung-i-tyreso"]),
]

DOMAIN_DEMOS = ("youthvoice.workshops.demo", "youthvoice.analysis.demo")


@dataclass
class DemoContext:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    surveys: dict[str, Survey] = field(default_factory=dict)


async def is_empty(db: AsyncSession) -> bool:
    return (await db.execute(select(func.count()).select_from(Unit))).scalar_one() == 0


async def load(db: AsyncSession, seed: int = 2026) -> DemoContext:
    rng = random.Random(seed)
    ctx = DemoContext()
    alingsas = Agreement(slug="alingsas-dua", name="Lokal överenskommelse Alingsås (DUA)")
    tyreso = Agreement(slug="tyreso-dua", name="Lokal överenskommelse Tyresö (DUA)")
    db.add_all([alingsas, tyreso])
    await db.flush()
    kommun = Organisation(agreement_id=alingsas.id, name="Alingsås kommun", kind="municipality")
    af = Organisation(agreement_id=alingsas.id, name="Arbetsförmedlingen", kind="employment_service")
    tkommun = Organisation(agreement_id=tyreso.id, name="Tyresö kommun", kind="municipality")
    db.add_all([kommun, af, tkommun])
    await db.flush()
    for slug, name, agr, org in [("enter-alingsas", "ENTER Alingsås", alingsas, kommun),
                                 ("ung-i-tyreso", "Ung i Tyresö", tyreso, tkommun)]:
        unit = Unit(slug=slug, name=name, agreement_id=agr.id, organisation_id=org.id)
        db.add(unit)
        ctx.units[slug] = unit
    await db.flush()
    for email, role, password, units in DEMO_USERS:
        user = User(email=email, role=role, password_hash=hash_password(password),
                    units=[ctx.units[u] for u in units])
        db.add(user)
        ctx.users[email] = user
    await db.commit()
    for unit in ctx.units.values():
        await db.refresh(unit, ["agreement"])

    day = today()
    questions = [msgspec.convert(q, QuestionDef) for q in standard_questions()]
    for slug in ctx.units:
        survey = await create_survey(db, ctx.units[slug], SurveyDef(
            unit=slug, title={"sv": "Vad tyckte du?", "en": "What did you think?", "ar": "ما رأيك؟"},
            opens=dt.date(day.year - 1, 1, 1), closes=dt.date(day.year, 12, 31), access="open",
            questions=questions))
        await publish(db, survey)
        ctx.surveys[slug] = survey
    await make_codes(db, ctx.surveys["enter-alingsas"], 20)
    await add_responses(db, 160, rng=rng, months_back=11)
    for name in DOMAIN_DEMOS:
        module = import_optional(name)
        if module is not None:
            await module.load(db, ctx)
    return ctx


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
           "disability", "closer", "useful", "answers")


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
    encode = msgspec.json.Encoder().encode
    templates = []
    for survey, version in rows:
        for _ in range(min(count, 4000)):
            answers = _synthetic_answers(rng, version.questions)
            st = stat_columns(version.questions, answers)
            templates.append((survey.id, version.id, survey.unit_id, st["gender"], st["age_band"],
                              st["newly_arrived"], st["disability"], st["closer"], st["useful"],
                              encode(answers).decode()))
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
        chunk = [(i, t[0], t[1], t[2], month, lang, *t[3:])
                 for i, t, month, lang in zip(ids[done:done + n], rng.choices(templates, k=n),
                                              rng.choices(months, k=n), rng.choices(LANGS, LANG_WEIGHTS, k=n))]
        # The statistics' counts go in the same transaction as the answers (survey/store.py).
        counts = count_rows(dict(zip(COLUMNS[1:12], row[1:12])) for row in chunk)
        if sqlite:
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
