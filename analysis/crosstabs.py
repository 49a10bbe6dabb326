"""Per-question tables of every survey version, made once per release (issue 15, item 4).

The staff export of survey answers is these tables, never rows. For every period a release
covers and every survey version with answers in that period, the release stores one view,
`questions:<version id>`, beside the unit sets' goal figures (analysis/release.py calls
`add_question_tables` once, for the periods it publishes):

* each closed question's one-way table (option -> count) and how many answered it;
* in a **final** release (a closed period) only: each of those crossed with every background
  question the version asks (gender, age band, newly arrived, disability);
* a **preliminary** release (an open period, at most once a day) has totals only: no crossed
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
from itertools import chain
from typing import Any

import numpy as np
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


def _sum_cells(signatures: dict[tuple, list[int]], first: int, last: int, crossed: list[list[str]]) -> dict:
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


def _answer_code(name: str):
    """The column's answer as an index into COLUMN_VALUES (or NOT_ANSWERED / UNLISTED), in SQL."""
    col = getattr(Response, name)
    if name in ("closer", "useful"):  # None: skipped; 0: don't know (index 5); 1..5
        return case((col.is_(None), NOT_ANSWERED), (col == 0, 5), (col.between(1, 5), col - 1), else_=UNLISTED)
    whens = [(col.is_(None), NOT_ANSWERED)] + [(col == v, i) for i, v in enumerate(COLUMN_VALUES[name])]
    return case(*whens, else_=UNLISTED)


def _group_code(dim: str):
    """The background answer as an index into DIMENSIONS[dim]; anything else is "undisclosed"."""
    col = getattr(Response, dim)
    values = DIMENSIONS[dim]
    return case(*[(col == v, i) for i, v in enumerate(values)], else_=values.index("undisclosed"))


async def _fixed_rows(db: AsyncSession, first: int, last: int, version_ids: list[int]) -> np.ndarray:
    """[version, month, record key, answer code per COLUMNS..., group code per BACKGROUND...] per answer."""
    q = (select(Response.version_id, Response.month, Response.record_key, *(_answer_code(c) for c in COLUMNS),
                *(_group_code(d) for d in BACKGROUND))
         .where(Response.month.between(first, last), Response.version_id.in_(version_ids)))
    rows = (await db.execute(q)).all()
    width = 3 + len(COLUMNS) + len(BACKGROUND)
    # fromiter over the flattened tuples: np.array on result rows probes each row as a mapping (slow)
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width).reshape(len(rows), width)


def _bincount(index: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    return np.bincount(index, weights=weights, minlength=size)[:size]


def _fixed_cells(arr: np.ndarray, vids: np.ndarray, versions: dict[int, SurveyVersion], first: int, last: int,
                 final: bool) -> dict[int, dict]:
    """{version id: cells as `_sum_cells` gives them} for the answers of months first..last."""
    rows = arr[(arr[:, 1] >= first) & (arr[:, 1] <= last)]
    if not len(rows):
        return {}
    nv = len(vids)
    vidx = np.searchsorted(vids, rows[:, 0])
    keys = rows[:, 2].astype(np.float64)
    totals = (_bincount(vidx, None, nv).astype(np.int64).tolist(), _bincount(vidx, keys, nv).astype(np.int64).tolist())
    answer = {c: rows[:, 3 + i] for i, c in enumerate(COLUMNS)}
    group = {d: rows[:, 3 + len(COLUMNS) + i] for i, d in enumerate(BACKGROUND)}
    # sums[(column, dim or None)] = (answered count, answered keys, cell counts, cell keys), indexed by version
    sums: dict[tuple, tuple] = {}
    for c in COLUMNS:
        code = answer[c]
        nvals = len(COLUMN_VALUES[c])
        answered, listed = code != NOT_ANSWERED, code >= 0
        for dim in (None, *(BACKGROUND if final else ())):
            if dim == c:
                continue
            nd = 1 if dim is None else len(DIMENSIONS[dim])
            g = vidx * nd + (0 if dim is None else group[dim])
            a_idx, c_idx = g[answered], g[listed] * nvals + code[listed]
            # as nested lists: reading single numpy elements in the loop below costs more than the sums
            sums[(c, dim)] = (_bincount(a_idx, None, nv * nd).astype(np.int64).reshape(nv, nd).tolist(),
                              _bincount(a_idx, keys[answered], nv * nd).astype(np.int64).reshape(nv, nd).tolist(),
                              _bincount(c_idx, None, nv * nd * nvals).astype(np.int64).reshape(nv, nd, nvals).tolist(),
                              _bincount(c_idx, keys[listed], nv * nd * nvals).astype(np.int64)
                              .reshape(nv, nd, nvals).tolist())
    out: dict[int, dict] = {}
    for i, vid in enumerate(vids.tolist()):
        if not totals[0][i]:
            continue
        qs = closed_questions(versions[vid].questions)
        roles = {q.get("role") for q in qs}
        cells: dict[tuple, list[int]] = {("total",): [totals[0][i], totals[1][i]]}
        for qi, q in enumerate(qs):
            c = fixed_column(q)
            for dim in (None, *(d for d in BACKGROUND if final and d in roles and d != q.get("role"))):
                an, ak, cn, ck = (x[i] for x in sums[(c, dim)])
                cats = (None,) if dim is None else DIMENSIONS[dim]
                for j, cat in enumerate(cats):
                    cells[(qi, ANSWERED, dim, cat)] = [an[j], ak[j]]
                    cnj, ckj = cn[j], ck[j]
                    for k, name in enumerate(COLUMN_VALUES[c]):
                        if cnj[k]:
                            cells[(qi, name, dim, cat)] = [cnj[k], ckj[k]]
        out[vid] = cells
    return out


async def add_question_tables(db: AsyncSession, tables: dict[tuple[str, str], dict], min_cell: int) -> None:
    """Adds each version's question tables to the period releases being made: `tables` is
    {(kind, period): {view: body}} as analysis/release.py builds it; kind "final" gets the crossed
    tables. Answers are read once for all of them."""
    if not tables:
        return
    ranges = {kp: parse_period(kp[1]) for kp in tables}
    first, last = min(r[0] for r in ranges.values()), max(r[1] for r in ranges.values())
    versions = {v.id: v for v in (await db.execute(select(SurveyVersion))).scalars()}
    fixed = sorted(vid for vid, v in versions.items()
                   if all(fixed_column(q) for q in closed_questions(v.questions)))
    other = {vid: v for vid, v in versions.items() if vid not in set(fixed)}
    arr = await _fixed_rows(db, first, last, fixed) if fixed else None
    vids = np.array(fixed, dtype=np.int64)
    signatures = await read_signatures(db, first, last, other) if other else {}
    for (kind, period), (p_first, p_last) in ranges.items():
        final = kind == "final"
        per_version = _fixed_cells(arr, vids, versions, p_first, p_last, final) if arr is not None else {}
        for vid, sigs in signatures.items():
            qs = closed_questions(versions[vid].questions)
            roles = {q.get("role") for q in qs}
            crossed = [[d for d in BACKGROUND if d in roles and d != q.get("role")] if final else [] for q in qs]
            per_version[vid] = _sum_cells(sigs, p_first, p_last, crossed)
        for vid, cells in per_version.items():
            if cells.get(("total",), [0])[0]:
                tables[(kind, period)][view_of(vid)] = version_body(versions[vid], cells, min_cell, final)


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
