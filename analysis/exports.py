"""Analysis exports: a unit's exits and the effect-goal figures, as tables read from the stored
release (analysis/read.py), the same figures the dashboard shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today
from youthvoice.models import Unit
from youthvoice.periods import current_term
from youthvoice.tables import Table, word

from . import read


async def exits(db: AsyncSession, unit: Unit, _, period: str | None = None) -> Table:
    """Exits of a unit as protected counts from the last release of the period (default: this term):
    how many left and how many for work or studies, overall and per gender and age band. No
    individual rows: those leave the service only through `youthvoice backup`."""
    period = period or current_term(today())
    pub = await read.goals_of(db, {unit.id}, period)
    table = Table(title=f"{unit.slug}-exits-{period}",
                  header=[_("Group"), _("Exits (n)"), _("Work or studies"), _("Release")])
    rel = pub["release"] or {}
    stamp = f"{word(rel.get('kind'), _)} {rel.get('published')}" if rel else ""
    for g in pub["goals"]:
        if g["goal"] != "work_or_studies":
            continue
        table.rows.append([_("All"), g.get("n"), g.get("achieved"), stamp])
        for dim, cells in (g.get("breakdowns") or {}).items():
            for value, cell in cells.items():
                table.rows.append([f"{_(BREAKDOWN_NAMES.get(dim, 'Gender'))}: {word(value, _)}", cell.get("n"),
                                   cell.get("achieved"), stamp])
    return table


# ---------- effect goals ----------

BREAKDOWN_NAMES = {"age_band": "Age band", "newly_arrived": "Newly arrived", "disability": "Disability"}


def _figure_row(goal: str, group: str, f: dict, _) -> list[Any]:
    ci = f.get("ci95") or [None, None]
    verdict = f.get("verdict")
    return [goal, group, f.get("target"), f.get("n"), f.get("achieved"), f.get("dont_know"), f.get("share"),
            ci[0], ci[1], f.get("p_null_share_le_target"), word(verdict, _) if verdict else ""]


def effect_goal_table(pub: dict, label: str, period: str, _) -> Table:
    """The published figures (analysis/read.py goals_of) as rows: whole group, each gender, each
    breakdown and the parity share. Suppressed cells stay empty, exactly as on the dashboard."""
    header = [_("Goal"), _("Group"), _("Target"), _("Answers (n)"), _("Achieved"), _("Don't know"), _("Share"),
              _("95 % interval, low"), _("95 % interval, high"), _("p (null: share at most the target)"),
              _("Verdict")]
    rel = pub.get("release") or {}
    table = Table(title=f"effect-goals-{label}-{period}-{rel.get('kind', 'none')}-{rel.get('published', '')}",
                  header=header)
    for g in pub["goals"]:
        name = word(g["goal"], _)
        table.rows.append(_figure_row(name, _("All"), g, _))
        for gender, cell in (g.get("by_gender") or {}).items():
            table.rows.append(_figure_row(name, word(gender, _), cell, _))
        for dim, cells in (g.get("breakdowns") or {}).items():
            if dim != "gender":
                for value, cell in cells.items():
                    table.rows.append(_figure_row(name, f"{_(BREAKDOWN_NAMES.get(dim, dim))}: {word(value, _)}", cell, _))
        par = g.get("parity") or {}
        if par:
            table.rows.append(_figure_row(name, _("Share women (parity)"), {
                "target": "–".join(str(b) for b in par.get("band") or []), "n": _sum(par.get("women"), par.get("men")),
                "achieved": par.get("women"), "share": par.get("share_women"), "ci95": par.get("ci95"),
                "verdict": par.get("verdict")}, _))
    return table


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b
