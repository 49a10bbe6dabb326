"""Releases: the one place that makes every published table, and stores it.

Figures change only here, on the release calendar (analysis/calendar.py, docs/statistics.md §8):

* on each agreement's release days (the first weekday of each month, its steering-group dates)
  a survey's waiting answers are moved, shuffled, into the tables the statistics read
  (survey/store.py) only if at least B wait; a closed survey's last batch moves at once and a
  rest under B is deleted unreleased; then the SQLite WAL is truncated (or the PostgreSQL intake
  vacuumed), so nothing stored ties a code or a moment to an answer;
* `preliminary` figures for the open periods (year, term, quarter) once per release day (slot),
  totals only; a release day that changed nothing makes no new release;
* `final` figures for every closed period with data, with every breakdown, on the first monthly
  release day after it closed: stored once and then served unchanged (exits for such a period
  are locked, analysis/service.py add_exit);
* each survey's /r/ tables: preliminary (no background question) while it is open, final
  (with background questions) once closed;
* views of several units are built from the units shown on their own (shown_units).

Every count is protected with the cell key method (analysis/cellkey.py): a cell's key is the
sum of its records' secret keys, kept mod 256 beside the count in `response_count` (answers)
and summed from `exit_record` (exits). Verdicts, intervals and outlooks are computed from the
published counts (analysis/figures.py). Every page, export and API answer reads the stored
tables (analysis/read.py); none counts for itself.

Two workers cannot publish the same release twice: each release row has a unique key, and the
tables are stored in the transaction that marks it complete.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from survey.models import ResponseCount as Count
from survey.models import Survey, SurveyCode, SurveyVersion
from survey.store import discard_intake, release_intake, waiting_counts
from youthvoice.clock import today
from youthvoice.db import CLEANUP_WAIT, checkpoint_wal, run_cleanups
from youthvoice.models import DEFAULT_TARGETS, Unit
from youthvoice.periods import parse_period

from . import calendar, crossed, figures
from .cells import Cells, count_cells, pub, published
from .models import AGE_BANDS, Release, ReleaseTable
from .read import survey_scope, view_key
from .service import DIMENSIONS, GENDER_KEYS, GOAL_DIMENSIONS, GOALS, SURVEY_GOALS, unit_sets
from .tallies import survey_tables

log = logging.getLogger("youthvoice.release")
TERMS_PER = {"year": 2.0, "term": 1.0, "quarter": 0.5}  # a period's intake in terms, for the outlook
PERIOD_KIND = {v: k for k, v in TERMS_PER.items()}


def periods_containing(month: int) -> list[str]:
    y, m = divmod(month, 100)
    return [str(y), f"{y}-{'VT' if m <= 6 else 'HT'}", f"{y}-Q{(m + 2) // 3}"]


def period_kind(period: str) -> str:
    return "year" if len(period) == 4 else "term" if period[5:] in ("VT", "HT") else "quarter"


def period_closed(period: str, day: dt.date) -> bool:
    return parse_period(period)[1] < day.year * 100 + day.month


# ---------- one goal object ----------

def shown_units(goal: str, cells: Cells, units: set[int], first: int, last: int, min_cell: int) -> set[int]:
    """The units a view of several units is built from, for one goal: those whose own figure is shown
    (published n at least min_cell). A unit hidden on its own page is left out of every agreement
    and all-unit view, so that no view minus the others, release after release with fresh noise,
    averages to its hidden counts (issue 26: a 2-answer unit was recovered that way)."""
    if len(units) <= 1:
        return set(units)
    return {u for u in units if published(cells.total(goal, None, {u}, first, last).get("all", [0] * 6))[1] >= min_cell}


def goal_object(goal: str, cells: Cells, units: set[int], first: int, last: int, targets: dict, band: tuple,
                min_cell: int, terms: float, breakdowns: bool) -> dict:
    target = float(targets[goal])
    all_units = set(units)
    units = shown_units(goal, cells, all_units, first, last, min_cell)
    out = _goal_object(goal, cells, units, first, last, target, band, min_cell, terms, breakdowns)
    if len(all_units) > 1:
        out["units_left_out"] = len(all_units) - len(units)
    return out


def _goal_object(goal: str, cells: Cells, units: set[int], first: int, last: int, target: float, band: tuple,
                 min_cell: int, terms: float, breakdowns: bool) -> dict:
    tot = cells.total(goal, None, units, first, last).get("all", [0] * 6)
    k, n, dk = published(tot)
    # only a final release judges (figures.py): the 2.5 % promise then holds over all releases of a period
    kind = "final" if breakdowns else "preliminary"
    out = {"goal": goal, **figures.goal(k, n, target, min_cell, kind)}
    if out["verdict"] != "suppressed":
        out["dont_know"] = dk if dk >= min_cell or dk == 0 else None  # a small "don't know" is not shown
        next_intake = max(1, round(n / terms))
        out["outlook"] = dict(figures.outlook(out["achieved"], out["n"], target, next_intake, out["verdict"],
                                              kind, PERIOD_KIND[terms]))
    if not breakdowns:
        return out
    gen = cells.total(goal, "gender", units, first, last)
    by_gender = {}
    pubs = {}
    for g in GENDER_KEYS:
        gk, gn, gdk = published(gen.get(g, [0] * 6))
        pubs[g] = (gk, gn)
        fig = figures.goal(gk, gn, target, min_cell)
        if out["verdict"] == "suppressed":
            fig = {"target": target, "verdict": "suppressed"}
        elif fig["verdict"] != "suppressed":
            fig = {**fig, "dont_know": gdk if gdk >= min_cell or gdk == 0 else None}
        by_gender[g] = fig
    out["by_gender"] = by_gender
    (kw, nw), (km, nm) = pubs["woman"], pubs["man"]
    if out["verdict"] == "suppressed":
        out["parity"] = {"band": list(band), "verdict": "suppressed"}
        out["women_vs_men"] = {"difference": None, "ci95": None}
    else:
        out["parity"] = dict(figures.parity(min(kw, nw), min(km, nm), band, min_cell))
        out["women_vs_men"] = dict(figures.women_vs_men(kw, nw, km, nm, min_cell))
    out["breakdowns"] = {}
    for dim in GOAL_DIMENSIONS[goal]:
        if dim == "gender":
            out["breakdowns"][dim] = by_gender
            continue
        cats = AGE_BANDS if dim == "age_band" and goal == "work_or_studies" else DIMENSIONS[dim]
        part = cells.total(goal, dim, units, first, last)
        out["breakdowns"][dim] = {
            c: ({"target": target, "verdict": "suppressed"} if out["verdict"] == "suppressed"
                else figures.goal(*published(part.get(c, [0] * 6))[:2], target, min_cell)) for c in cats}
    return out


def _figure_requests(goal: str, cells: Cells, units: set[int], first: int, last: int, targets: dict, min_cell: int,
                     breakdowns: bool):
    """The (achieved, n, target, min_cell) of every cell goal_object() will judge, so that
    figures.prime() can compute them together first."""
    target = float(targets[goal])
    units = shown_units(goal, cells, units, first, last, min_cell)
    for dim in ((None, "gender", *GOAL_DIMENSIONS[goal]) if breakdowns else (None,)):
        for v in cells.total(goal, dim, units, first, last).values():
            k, n, _ = published(v)
            yield k, n, target, min_cell


def _targets(units: list[Unit]) -> tuple[dict, tuple[float, float]]:
    agreements = {u.agreement_id: u.agreement for u in units}
    targets = dict(DEFAULT_TARGETS)
    if len(agreements) == 1:
        targets.update(next(iter(agreements.values())).targets or {})
    # The agreement's parity setting is the women's share of an even split; the band is 10 points
    # either side (the Swedish government's 40-60 % for the default 50).
    mid = float(targets.get("parity", 0.5))
    return targets, (round(max(0.0, mid - 0.1), 3), round(min(1.0, mid + 0.1), 3))


async def response_rates(db: AsyncSession, first: int, last: int) -> dict[int, tuple[int, list[int]]]:
    """{unit: (codes handed out, [answers given with a code: count, key sum])} for code surveys that
    were open in the period. Codes used are counted as the released answers of those surveys in the
    period, protected like any count (each spent code is one answer)."""
    start = dt.date(first // 100, first % 100, 1)
    end = dt.date(last // 100 + (last % 100 == 12), last % 100 % 12 + 1, 1)
    surveys = {sid: uid for sid, uid in (await db.execute(
        select(Survey.id, Survey.unit_id).where(Survey.access == "code", Survey.opens < end, Survey.closes >= start)))}
    if not surveys:
        return {}
    issued = dict((await db.execute(select(SurveyCode.survey_id, func.count()).where(
        SurveyCode.survey_id.in_(surveys)).group_by(SurveyCode.survey_id))).all())
    used = (await db.execute(select(Count.survey_id, func.sum(Count.n), func.sum(Count.n_key)).where(
        Count.survey_id.in_(surveys), Count.month.between(first, last)).group_by(Count.survey_id))).all()
    out: dict[int, tuple[int, list[int]]] = {}
    for sid, uid in surveys.items():
        c, acc = out.get(uid, (0, [0, 0]))
        out[uid] = (c + int(issued.get(sid, 0)), acc)
    for sid, n, key in used:
        out[surveys[sid]][1][0] += int(n or 0)
        out[surveys[sid]][1][1] += int(key or 0)
    return out


def rate_of(rates: dict, units: set[int], min_cell: int = 0) -> dict | None:
    """A view's response rate; a view of several units counts only the units whose own codes used
    are shown (shown_units, for the same reason)."""
    if len(units) > 1:
        units = {u for u in units if u in rates and pub(*rates[u][1]) >= min_cell}
    mine = [rates[u] for u in units if u in rates]
    if not mine:
        return None  # open surveys only: no rate can be given
    issued = sum(i for i, _ in mine)
    used = pub(sum(a[0] for _, a in mine), sum(a[1] for _, a in mine))
    return {"codes_issued": issued, "codes_used": min(used, issued)}


async def _series_of(db: AsyncSession, first: int, last: int) -> tuple[dict, dict]:
    """({(unit, goal): {version ids with answers}}, {version id: {goal: (kind, Swedish text)}})."""
    used: dict[tuple[int, str], set[int]] = defaultdict(set)
    q = (select(Count.unit_id, Count.version_id, *(func.sum(getattr(Count, f"{g}_n")) for g in SURVEY_GOALS))
         .where(Count.month.between(first, last)).group_by(Count.unit_id, Count.version_id))
    for unit_id, version_id, *ns in (await db.execute(q)).all():
        for g, n in zip(SURVEY_GOALS, ns):
            if n:
                used[(unit_id, g)].add(version_id)
    ids = set().union(*used.values()) if used else set()
    wording: dict[int, dict[str, tuple]] = {}
    if ids:
        for vid, qs in (await db.execute(select(SurveyVersion.id, SurveyVersion.questions)
                                         .where(SurveyVersion.id.in_(ids)))).all():
            wording[vid] = {qd["goal"]: (qd["kind"], (qd.get("text") or {}).get("sv", "")) for qd in qs if qd.get("goal")}
    return used, wording


def _series_note(goal: str, view, used: dict, wording: dict) -> dict | None:
    """A goal whose answers in the view come from differently worded questions is flagged, never mixed silently."""
    series = {wording.get(v, {}).get(goal) for u in view for v in used.get((u, goal), ())} - {None}
    return {"mixed": True, "texts": sorted(t for _, t in series)} if len(series) > 1 else None


async def period_tables(db: AsyncSession, cells: Cells, period: str, min_cell: int, final: bool) -> dict[str, dict]:
    """{view: body} for every unit set anyone can ask for."""
    first, last = parse_period(period)
    used, wording = await _series_of(db, first, last)
    units = {u.id: u for u in (await db.execute(select(Unit))).scalars()}
    rates = await response_rates(db, first, last)
    terms = TERMS_PER[period_kind(period)]
    out = {}
    views = [(view, *_targets([units[u] for u in view if u in units])) for view in await unit_sets(db)]
    figures.prime(r for view, targets, _ in views for g in GOALS
                  for r in _figure_requests(g, cells, set(view), first, last, targets, min_cell, final))
    for view, targets, band in views:
        goals = [goal_object(g, cells, set(view), first, last, targets, band, min_cell, terms, final) for g in GOALS]
        for goal in goals:
            note = _series_note(goal["goal"], view, used, wording)
            if note:
                goal["series"] = note
        out[view_key(view)] = {"goals": goals, "response_rate": rate_of(rates, set(view), min_cell), "min_cell": min_cell}
    return out


# ---------- /r/ tables of one survey ----------

# ---------- publishing ----------

async def _claim(sessions: async_sessionmaker, key: str, kind: str, scope: str, day: dt.date,
                 next_day: dt.date | None) -> int | None:
    """Inserts the release row; None if another worker (or an earlier run) already has it complete."""
    async with sessions() as db:
        old = (await db.execute(select(Release).where(Release.key == key))).scalar_one_or_none()
        if old is not None:
            return None if old.complete else old.id  # an interrupted release is made again
        db.add(Release(key=key, kind=kind, scope=scope, published=day, next=next_day, complete=False))
        try:
            await db.commit()
        except IntegrityError:
            return None
        return (await db.execute(select(Release.id).where(Release.key == key))).scalar_one()


async def _store(sessions: async_sessionmaker, release_id: int, tables: dict[str, dict]) -> bool:
    async with sessions() as db:
        rel = await db.get(Release, release_id)
        if rel is None or rel.complete:
            return False
        await db.execute(ReleaseTable.__table__.delete().where(ReleaseTable.release_id == release_id))
        rows = [{"release_id": release_id, "view": v, "body": b} for v, b in tables.items()]
        for i in range(0, len(rows), 500):
            await db.execute(ReleaseTable.__table__.insert(), rows[i:i + 500])
        rel.complete = True
        try:
            await db.commit()
        except IntegrityError:  # another worker stored it first
            return False
        return True


async def scrub_storage(engine: AsyncEngine) -> None:
    """After the intake was emptied: no WAL frame (SQLite) and no dead intake row or old version of a
    spent code (PostgreSQL: VACUUM FULL) older than the release may keep what the intake held. The
    release recorded this cleanup in its own transaction (survey/store.py); when a busy reader keeps
    it from running now, the scheduler retries it until it has run (youthvoice/db.py run_cleanups)."""
    left = await run_cleanups(engine)
    if left:
        log.warning("storage cleanup after the release could not run yet (%s waiting); retried later", left)
    elif engine.dialect.name == "sqlite":
        await checkpoint_wal(engine, CLEANUP_WAIT)  # leaves the WAL empty after what was written since


async def _survey_agreements(db: AsyncSession, day: dt.date) -> dict[int, tuple[int, bool]]:
    """{survey id: (agreement id, closed on `day`)} for every survey."""
    q = select(Survey.id, Unit.agreement_id, Survey.status, Survey.closes).join(Unit, Unit.id == Survey.unit_id)
    return {sid: (aid, status == "closed" or closes < day) for sid, aid, status, closes in (await db.execute(q)).all()}


async def release_answers(engine: AsyncEngine, sessions: async_sessionmaker, day: dt.date, cal: calendar.Calendar,
                          min_cell: int) -> set[int] | None:
    """Moves waiting answers into the statistics, a survey's only in a batch of at least B:

    * on each agreement's release day (its slot, analysis/calendar.py; once per slot, key
      `answers:<agreement>:<slot>`), the surveys of its units with at least B waiting;
    * a closed survey at once, whatever the day: its last batch if at least B wait, else the rest
      is deleted unreleased (docs/statistics.md), and its final /r/ is made in the same run.

    Returns the surveys that got answers, or None when nothing was due."""
    async with sessions() as db:
        done = set((await db.execute(select(Release.key).where(Release.kind == "answers"))).scalars())
        due = {a: cal.slot_of(a, day) for a in cal.steering}
        due = {a: s for a, s in due.items() if f"answers:{a}:{s}" not in done}
        waiting = await waiting_counts(db)
        surveys = await _survey_agreements(db, day) if waiting else {}
        closing = {sid for sid in waiting if sid in surveys and surveys[sid][1]}
        if not due and not closing:
            return None
        for a, s in sorted(due.items()):
            db.add(Release(key=f"answers:{a}:{s}", kind="answers", scope="answers", published=day,
                           next=cal.next_for_units({u for u, ua in cal.agreement_of.items() if ua == a}, day),
                           complete=True))
        try:
            await db.flush()
        except IntegrityError:
            return None  # another worker is making this release
        batch, rest = set(), set()
        for sid, n in waiting.items():
            if sid not in surveys:
                continue
            agreement, closed = surveys[sid]
            big_enough = n >= cal.batch_of(agreement, min_cell)
            if big_enough and (closed or agreement in due):
                batch.add(sid)
            elif closed:
                rest.add(sid)
        touched = await release_intake(db, batch)
        await discard_intake(db, rest)
        try:
            await db.commit()
        except IntegrityError:
            return None
    if touched or rest:
        await scrub_storage(engine)
    return touched


def _slot_of_key(key: str) -> dt.date:
    return dt.date.fromisoformat(key.rsplit(":", 1)[1])


async def _previous_bodies(db: AsyncSession, period: str) -> tuple[dt.date | None, dict[str, dict]]:
    """The newest preliminary release of a period (its slot, {view: body}), to keep the views whose
    agreements had no release day since unchanged."""
    keys = list((await db.execute(select(Release.key, Release.id).where(
        Release.scope == period, Release.kind == "preliminary", Release.complete.is_(True)))).all())
    if not keys:
        return None, {}
    key, rid = max(keys, key=lambda kr: (_slot_of_key(kr[0]), kr[1]))
    bodies = dict((await db.execute(select(ReleaseTable.view, ReleaseTable.body)
                                    .where(ReleaseTable.release_id == rid))).all())
    return _slot_of_key(key), bodies


async def publish_due(engine: AsyncEngine, sessions: async_sessionmaker, min_cell: int,
                      day: dt.date | None = None) -> list[str]:
    """Makes every release due on `day` (default today) under the calendar (analysis/calendar.py);
    returns the keys it made. Nothing is made between release days but what a closing survey needs."""
    day = day or today()
    made: list[str] = []
    async with sessions() as db:
        cal = await calendar.load(db)
    touched = await release_answers(engine, sessions, day, cal, min_cell)
    if touched:
        made.append(f"answers:{day}")
    slot = cal.global_slot(day)
    next_day = cal.next_for_units(set(), day)
    async with sessions() as db:
        done = set((await db.execute(select(Release.key).where(Release.complete.is_(True)))).scalars())
        cells = await count_cells(db, (None, *DIMENSIONS))
        months = set(cells.months)
        open_periods = periods_containing(slot.year * 100 + slot.month)
        due: list[tuple[str, str]] = []
        for period in sorted({p for m in months for p in periods_containing(m)}):
            # final figures on the first monthly release day after the period has closed
            if period_closed(period, calendar.last_monthly(day)) and f"final:{period}" not in done:
                due.append(("final", period))
        for period in open_periods:
            if f"preliminary:{period}:{slot}" not in done and f"unchanged:{period}:{slot}" not in done:
                due.append(("preliminary", period))
        tables = {}
        previous = {}
        sets = await unit_sets(db)
        for kind, period in due:
            body = await period_tables(db, cells, period, min_cell, final=kind == "final")
            if kind == "preliminary":
                prev_slot, prev = await _previous_bodies(db, period)
                if prev_slot is not None:
                    previous[period] = prev
                    for view, units in _views_of(body, sets):
                        # a view none of whose agreements had a release day since keeps its figures
                        if view in prev and all(cal.slot_of(cal.agreement_of.get(u), day) <= prev_slot
                                                for u in units):
                            body[view] = prev[view]
            tables[(kind, period)] = body
        await crossed.add_question_tables(db, tables, min_cell)  # each survey version's per-question tables
        # A release day that brought nothing new makes no new release (its published date would
        # move while no figure does); it is only marked as done.
        unchanged = [period for (kind, period), body in tables.items()
                     if kind == "preliminary" and previous.get(period) == body]
        for period in unchanged:
            del tables[("preliminary", period)]
        surveys = list((await db.execute(select(Survey).where(Survey.status.in_(("published", "closed"))))).scalars())
        survey_due = []
        released_before = {k.split(":")[1] for k in done if k.startswith("survey:")}
        for s in surveys:
            closed = s.status == "closed" or s.closes < day
            agreement = cal.agreement_of.get(s.unit_id)
            key = f"survey:{s.id}:final" if closed else f"survey:{s.id}:{cal.slot_of(agreement, day)}"
            # An open survey's /r/ is made again only when a batch of its answers was released: its
            # tables would be the same otherwise, and reading every answer of every survey is the cost.
            unchanged_r = not closed and str(s.id) in released_before and s.id not in (touched or set())
            if key not in done and f"survey:{s.id}:final" not in done and not unchanged_r:
                survey_due.append((s, key, closed, await survey_tables(db, s, min_cell, closed),
                                   cal.next_for_units({s.unit_id}, day)))
    for period in unchanged:
        rid = await _claim(sessions, f"unchanged:{period}:{slot}", "unchanged", f"unchanged:{period}", day, next_day)
        if rid is not None:
            await _store(sessions, rid, {})
    for (kind, period), body in tables.items():
        key = f"final:{period}" if kind == "final" else f"preliminary:{period}:{slot}"
        rid = await _claim(sessions, key, kind, period, day, None if kind == "final" else next_day)
        if rid is not None and await _store(sessions, rid, body):
            made.append(key)
    for s, key, closed, body, nxt in survey_due:
        rid = await _claim(sessions, key, "final" if closed else "preliminary", survey_scope(s.id), day,
                           None if closed else nxt)
        if rid is not None and await _store(sessions, rid, {survey_scope(s.id): body}):
            made.append(key)
    if made:
        await scrub_storage(engine)  # leaves the WAL empty once the release is written
    return made


def _views_of(body: dict, sets) -> list[tuple[str, frozenset]]:
    names = {view_key(v): v for v in sets}
    return [(view, names[view]) for view in body if view in names]
