"""The release's counting of the per-question tables (analysis/crosstabs.py says what they are):
for the versions that ask only questions kept in fixed columns, the database codes each answer as
small integers and numpy sums every version's cells at once. Only the release (its own process,
analysis/publish.py) imports this module, so request workers never load numpy."""

from __future__ import annotations

from itertools import chain

import numpy as np
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import Response, SurveyVersion
from youthvoice.periods import parse_period

from .crosstabs import (
    ANSWERED,
    BACKGROUND,
    COLUMN_VALUES,
    COLUMNS,
    NOT_ANSWERED,
    UNLISTED,
    closed_questions,
    fixed_column,
    read_signatures,
    sum_cells,
    version_body,
    view_of,
)
from .service import DIMENSIONS


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


async def fixed_rows(db: AsyncSession, first: int, last: int, version_ids: list[int]) -> np.ndarray:
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


def fixed_cells(arr: np.ndarray, vids: np.ndarray, versions: dict[int, SurveyVersion], first: int, last: int,
                 final: bool) -> dict[int, dict]:
    """{version id: cells as `sum_cells` gives them} for the answers of months first..last."""
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
    arr = await fixed_rows(db, first, last, fixed) if fixed else None
    vids = np.array(fixed, dtype=np.int64)
    signatures = await read_signatures(db, first, last, other) if other else {}
    for (kind, period), (p_first, p_last) in ranges.items():
        final = kind == "final"
        per_version = fixed_cells(arr, vids, versions, p_first, p_last, final) if arr is not None else {}
        for vid, sigs in signatures.items():
            qs = closed_questions(versions[vid].questions)
            roles = {q.get("role") for q in qs}
            crossed = [[d for d in BACKGROUND if d in roles and d != q.get("role")] if final else [] for q in qs]
            per_version[vid] = sum_cells(sigs, p_first, p_last, crossed)
        for vid, cells in per_version.items():
            if cells.get(("total",), [0])[0]:
                tables[(kind, period)][view_of(vid)] = version_body(versions[vid], cells, min_cell, final)
