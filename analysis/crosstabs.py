"""Per-question tables of every survey version, made once per release (issue 15, item 4).

The staff export of survey answers is these tables, never rows. For every period a release
covers and every survey version with answers in that period, the release stores one view,
`questions:<version id>`, beside the unit sets' goal figures (analysis/release.py calls
`add_question_tables` once, for the periods it publishes):

* each closed question's one-way table (option -> count) and how many answered it;
* in a **final** release (a closed period) only: each of those crossed with every background
  question the version asks (gender, age band, newly arrived, disability);
* a **preliminary** release (an open period, on the release calendar's days) has totals only: no crossed
  table and no distribution of a background question, as on /r/, so that answering again
  (padding) or watching someone press Send cannot move a breakdown.

Every count is protected exactly like every other published count (analysis/cellkey.py,
docs/statistics.md): a cell's key is the sum of its answers' secret record keys mod 256, the
fixed ptable turns (count, key) into the noise, a published count under `min_cell` is not
shown (None, "hidden (too few)") and zeros stay zero. Cells with the same answers get the same
published count as on /r/ and the dashboard, so putting the tables side by side gives nothing
to subtract. A group (a question's answers, or the answers of one background group) whose
published count is under `min_cell` shows none of its cells, not even zeros, so "nobody in this
small group said X" cannot be read either.

Cost: every answer of the periods due is read once per release. A version that asks only the
questions whose answers are also kept in fixed columns (the goal and background questions: the
standard template) is counted from those columns with numpy, without reading any JSON; a
version with other closed questions has each answer reduced to its signature (month, background
answers, the closed answers) and its tables summed from the signatures.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import Response, SurveyVersion
from youthvoice.periods import parse_period

from . import cellkey
from .models import Release, ReleaseTable
from .service import DIMENSIONS

VIEW = "questions:"
BACKGROUND = tuple(DIMENSIONS)  # gender, age_band, newly_arrived, disability: the roles that are crossed
LIKERT_CELLS = ("1", "2", "3", "4", "5", "dk")
ANSWERED = ""  # the cell name under which a question's (or group's) number of answers is kept


def view_of(version_id: int) -> str:
    """The name a version's question tables are stored under in a period's release."""
    return f"{VIEW}{version_id}"


# ---------- which cell an answer falls in (the same rules as /r/'s tables) ----------

def closed_questions(questions: list[dict]) -> list[dict]:
    return [q for q in questions or [] if q.get("key") and q.get("kind") != "text"]


def options_of(q: dict) -> list[str]:
    if q["kind"] == "likert5":
        return list(LIKERT_CELLS)
    if q["kind"] == "yesno":
        return ["yes", "no"]
    return [str(o) for o in q.get("options") or []]


def names_of(q: dict, answers: dict) -> tuple[str, ...] | None:
    """The cells one answer counts in for question q; None when the question was not answered."""
    if q["key"] not in answers:
        return None
    value = answers[q["key"]]
    if q["kind"] == "likert5":
        return ("dk",) if value is None or value == 0 else (str(value),)
    if q["kind"] == "yesno":
        return ("yes",) if value in (True, 1, "true") else ("no",)
    if q["kind"] == "multi":
        return tuple(str(v) for v in value or [])
    return () if value is None else (str(value),)


def _category(value: Any, dim: str) -> str:
    return value if value in DIMENSIONS[dim] else "undisclosed"


# ---------- counting ----------

Signatures = dict[int, dict[tuple, list[int]]]  # version id -> {(month, background, names...): [count, key sum]}


async def read_signatures(db: AsyncSession, first: int, last: int, versions: dict[int, SurveyVersion]) -> Signatures:
    """Every released answer of the months first..last, reduced to its signature, per version."""
    closed = {vid: closed_questions(v.questions) for vid, v in versions.items()}
    acc: Signatures = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    q = (select(Response.version_id, Response.month, Response.record_key, Response.gender, Response.age_band,
                Response.newly_arrived, Response.disability, Response.answers)
         .where(Response.month.between(first, last), Response.version_id.in_(list(versions))))
    result = await db.stream(q)
    async for rows in result.partitions(5000):
        for vid, month, key, *background, answers in rows:
            qs = closed.get(vid)
            if qs is None:
                continue
            answers = answers or {}
            bg = tuple(_category(v, d) for v, d in zip(background, BACKGROUND))
            cell = acc[vid][(month, bg, tuple(names_of(q, answers) for q in qs))]
            cell[0] += 1
            cell[1] += int(key or 0)
    return acc


def sum_cells(signatures: dict[tuple, list[int]], first: int, last: int, crossed: list[list[str]]) -> dict:
    """{(question index, cell name, dimension or None, category or None): [count, key sum]};
    cell name ANSWERED counts the answers. `crossed[i]` is the dimensions question i is crossed with."""
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (month, bg, names_per_q), (count, keys) in signatures.items():
        if not first <= month <= last:
            continue
        total = cells[("total",)]
        total[0] += count
        total[1] += keys
        bgs = dict(zip(BACKGROUND, bg))
        for i, names in enumerate(names_per_q):
            if names is None:
                continue
            groups = [(None, None)] + [(d, bgs[d]) for d in crossed[i]]
            for dim, cat in groups:
                for name in (ANSWERED, *names):
                    c = cells[(i, name, dim, cat)]
                    c[0] += count
                    c[1] += keys
    return cells


def _pub(cell: list[int] | None) -> int:
    if not cell or not cell[0]:
        return 0
    return _perturb(int(cell[0]), int(cell[1]) % cellkey.KEY_RANGE)


@lru_cache(maxsize=1 << 16)
def _perturb(count: int, ckey: int) -> int:
    return cellkey.perturb(count, ckey)  # deterministic in (count, cell key): a release asks the same pairs often


def _shown(count: int, min_cell: int) -> int | None:
    """As every published table shows a count: zero stays zero, under min_cell it is not shown."""
    return count if count >= min_cell or count == 0 else None


def _group(cells: dict, i: int, options: list[str], dim: str | None, cat: str | None, min_cell: int,
           hidden: bool) -> tuple[int | None, list[list]]:
    """(answers shown, [[option, count shown], ...]) of one question within one group."""
    n = _pub(cells.get((i, ANSWERED, dim, cat)))
    if hidden or 0 < n < min_cell:
        return _shown(n, min_cell), [[o, None] for o in options]
    if n == 0:
        return 0, [[o, 0] for o in options]
    return n, [[o, _shown(_pub(cells.get((i, o, dim, cat))), min_cell)] for o in options]


def version_body(version: SurveyVersion, cells: dict, min_cell: int, final: bool) -> dict:
    """The stored view of one version in one period's release."""
    qs = closed_questions(version.questions)
    dims = [d for d in BACKGROUND if any(q.get("role") == d for q in qs)] if final else []
    questions = []
    for i, q in enumerate(qs):
        if q.get("role") and not final:
            continue  # an open period shows no distribution of a background question
        options = options_of(q)
        n, one_way = _group(cells, i, options, None, None, min_cell, hidden=False)
        entry: dict[str, Any] = {"key": q["key"], "kind": q["kind"], "n": n, "cells": one_way}
        if final:
            question_hidden = n is None or n < min_cell
            entry["by"] = {}
            for dim in dims:
                if dim == q.get("role"):
                    continue
                entry["by"][dim] = []
                for cat in DIMENSIONS[dim]:
                    gn, gcells = _group(cells, i, options, dim, cat, min_cell, hidden=question_hidden)
                    entry["by"][dim].append([cat, gn, gcells])
        questions.append(entry)
    return {"survey": version.survey_id, "version": version.number, "final": final, "min_cell": min_cell,
            "n": _shown(_pub(cells.get(("total",))), min_cell), "dims": dims, "questions": questions}


# ---------- the fast path: questions whose answers are also kept in fixed columns ----------
#
# The goal questions (closer, useful) and the background questions are copied into their own
# columns of `response` when an answer is stored (survey/service.py stat_columns), so a version
# that asks only those (the standard template) is counted without reading any answer's JSON:
# the database codes each column as a small integer and numpy sums every version's cells at
# once (a release over 1 000 000 answers must stay well under a minute, issue 15 item 8).

COLUMN_VALUES: dict[str, tuple[str, ...]] = {"closer": LIKERT_CELLS, "useful": LIKERT_CELLS, **DIMENSIONS}
COLUMNS = tuple(COLUMN_VALUES)  # closer, useful, gender, age_band, newly_arrived, disability
NOT_ANSWERED, UNLISTED = -1, -2


def fixed_column(q: dict) -> str | None:
    """The column that holds this question's answers, if one does."""
    if q.get("goal") in ("closer", "useful") and q.get("kind") == "likert5":
        return q["goal"]
    if q.get("role") in DIMENSIONS and q.get("kind") == "choice":
        return q["role"]
    return None


# ---------- reading what was released ----------

async def released(db: AsyncSession, version_id: int, period: str) -> tuple[dict, Release] | None:
    """A version's question tables for a period as last released: the final release if the period
    has one, else the newest preliminary one. None when no release of the period has them."""
    q = (select(ReleaseTable.body, Release).join(Release, Release.id == ReleaseTable.release_id)
         .where(Release.scope == period, Release.complete.is_(True), ReleaseTable.view == view_of(version_id))
         .order_by(case((Release.kind == "final", 0), else_=1), Release.published.desc(), Release.id.desc())
         .limit(1))
    row = (await db.execute(q)).first()
    return (row[0], row[1]) if row else None


async def released_periods(db: AsyncSession, version_ids) -> dict[int, list[tuple[str, str]]]:
    """{version id: [(period, "final" | "preliminary"), ...]}: every period whose releases hold the
    version's tables, newest period first, final if the period has one."""
    ids = list(version_ids)
    if not ids:
        return {}
    q = (select(ReleaseTable.view, Release.scope, Release.kind).join(Release, Release.id == ReleaseTable.release_id)
         .where(Release.complete.is_(True), ReleaseTable.view.in_([view_of(v) for v in ids])).distinct())
    best: dict[int, dict[str, str]] = defaultdict(dict)
    for view, scope, kind in (await db.execute(q)).all():
        vid = int(view[len(VIEW):])
        if best[vid].get(scope) != "final":
            best[vid][scope] = kind
    return {vid: sorted(p.items(), key=lambda pk: (-parse_period(pk[0])[1], -parse_period(pk[0])[0]))
            for vid, p in best.items()}


async def periods_with_any_release(db: AsyncSession, period: str) -> Release | None:
    """The newest complete release of a period (any view), to tell "nothing released for this
    period yet" from "nothing released for this version"."""
    return (await db.execute(select(Release).where(Release.scope == period, Release.complete.is_(True))
                             .order_by(Release.published.desc(), Release.id.desc()).limit(1))).scalar_one_or_none()
