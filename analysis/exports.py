"""Analysis exports: exit records of a unit and the effect-goal figures, as tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.models import Unit
from youthvoice.tables import Table, month_text, word

from .models import Exit

_EXIT_SKIP = {"id", "unit_id"}
EXIT_COLUMNS = {"month": "Month", "outcome": "Outcome", "gender": "Gender", "age_band": "Age band"}


async def exits(db: AsyncSession, unit: Unit, _) -> Table:
    """Exit records of a unit: one row per exit, no identity (the model holds none)."""
    cols = [c for c in Exit.__table__.columns if c.name not in _EXIT_SKIP]
    order = [Exit.__table__.c.month] if "month" in Exit.__table__.c else []
    result = await db.execute(select(*cols).where(Exit.__table__.c.unit_id == unit.id).order_by(*order))
    table = Table(title=f"{unit.slug}-exits", header=[_(EXIT_COLUMNS.get(c.name, c.name)) for c in cols])
    for row in result.all():
        out = []
        for c, value in zip(cols, row):
            if c.name == "month" and isinstance(value, int):
                value = month_text(value)
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            elif isinstance(value, str) and c.name in ("outcome", "gender"):
                value = word(value, _)
            out.append(value)
        table.rows.append(out)
    return table


# ---------- effect goals ----------

BREAKDOWN_NAMES = {"age_band": "Age band", "newly_arrived": "Newly arrived", "disability": "Disability"}
FIGURES = ("target", "n", "achieved", "share", "ci_low", "ci_high", "p_below_target", "verdict")


def _figure_row(goal: str, group: str, f: dict, _) -> list[Any]:
    ci = f.get("ci95") or [None, None]
    verdict = f.get("verdict")
    return [goal, group, f.get("target"), f.get("n"), f.get("achieved"), f.get("share"), ci[0], ci[1],
            f.get("p_below_target"), word(verdict, _) if verdict else ""]


def effect_goal_table(goals: list[dict], label: str, period: str, _) -> Table:
    """The dashboard's figures as rows: whole group, each gender, and the parity share.
    Suppressed cells stay empty, exactly as on the dashboard."""
    header = [_("Goal"), _("Group"), _("Target"), _("Answers (n)"), _("Achieved"), _("Share"),
              _("95 % interval, low"), _("95 % interval, high"), _("p (below target)"), _("Verdict")]
    table = Table(title=f"effect-goals-{label}-{period}", header=header)
    for g in goals:
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
                "target": par.get("target_share_women"), "n": _sum(par.get("women"), par.get("men")),
                "achieved": par.get("women"), "share": par.get("share_women"), "ci95": par.get("ci95"),
                "verdict": par.get("verdict")}, _))
    return table


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b
