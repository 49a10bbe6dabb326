"""Export tables and the two file formats staff open: CSV for Swedish Excel and .xlsx.

A table is built once (title, header, rows of plain Python values) and then
written as either format. Both writers neutralise formula injection: a text cell
that begins with =, +, -, @, a tab or a carriage return gets a leading
apostrophe, and in .xlsx every text cell is stored as a string, never a formula.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.models import Unit
from ..core.models_registry import import_optional
from ..survey.models import Response, Survey, SurveyVersion

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"


class TooFewAnswers(Exception):
    """Fewer answers than the smallest group that may be shown."""

    def __init__(self, n: int, min_cell: int):
        super().__init__(f"{n} < {min_cell}")
        self.n = n
        self.min_cell = min_cell


@dataclass
class Table:
    title: str  # sheet name and file name stem
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


# ---------- formula injection and file formats ----------

def neutralise(value: str) -> str:
    """Text that a spreadsheet could take as a formula starts with an apostrophe instead."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Swedish Excel reads a decimal comma; a point would turn 0.75 into a date or text.
        return repr(round(value, 6)).replace(".", ",")
    return neutralise(str(value))


def to_csv(table: Table) -> bytes:
    """UTF-8 with BOM, `;` between fields and CRLF line ends: what Swedish Excel opens correctly."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow([_csv_cell(h) for h in table.header])
    for row in table.rows:
        w.writerow([_csv_cell(v) for v in row])
    return (BOM + buf.getvalue()).encode("utf-8")


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = (_SHEET_BAD.sub("-", table.title) or "export")[:31]
    widths = [len(h) for h in table.header]
    for r, row in enumerate([table.header, *table.rows], start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.value = text
                cell.data_type = "s"  # a string, whatever it looks like
                if c <= len(widths):
                    widths[c - 1] = max(widths[c - 1], min(len(text), 60))
            else:
                cell.value = value
            if r == 1:
                cell.font = Font(bold=True)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, width + 2)
    ws.freeze_panes = "A2"
    if table.header:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.header))}{len(table.rows) + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def month_text(month: int | None) -> str:
    return "" if not month else f"{month // 100:04d}-{month % 100:02d}"


# Words for stored codes; English message ids translated in exports.po.
WORDS = {
    "woman": "Woman", "man": "Man", "non_binary": "Non-binary", "undisclosed": "Prefer not to say",
    "yes": "yes", "no": "no", "work": "Work", "studies": "Studies", "other": "Other",
    "met": "Met", "not_met": "Not met", "undetermined": "Cannot tell yet", "suppressed": "Hidden (too few)",
    "received": "Received", "considering": "Being considered", "done": "Done", "not_possible": "Not possible",
    "closer": "Feel closer to work or studies", "useful": "Found it useful",
    "work_or_studies": "Left for work or studies",
}


def word(code: Any, _) -> Any:
    """A stored code (woman, met, done, ...) in the staff member's language; unknown codes as they are."""
    return _(WORDS[code]) if isinstance(code, str) and code in WORDS else code


# ---------- survey answers ----------

async def survey_versions(db: AsyncSession, survey: Survey) -> list[tuple[SurveyVersion, int]]:
    """Each version of a survey with its number of answers."""
    versions = list((await db.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                                      .order_by(SurveyVersion.number))).scalars())
    counts = dict((await db.execute(select(Response.version_id, func.count()).where(
        Response.survey_id == survey.id).group_by(Response.version_id))).all())
    return [(v, int(counts.get(v.id, 0))) for v in versions]


def _label(q: dict, option: str, lang: str, _) -> str:
    texts = (q.get("option_text") or {}).get(option)
    if texts:
        return texts.get(lang) or texts.get("sv") or option
    return word(option, _)


def _answer_cell(q: dict, value: Any, present: bool, lang: str, _) -> Any:
    kind = q["kind"]
    if not present:
        return None
    if kind == "likert5":
        return _("don't know") if value is None else value
    if kind == "choice":
        return _label(q, value, lang, _)
    if kind == "multi":
        return ", ".join(_label(q, v, lang, _) for v in value or [])
    if kind == "yesno":
        return _("yes") if value else _("no")
    return value


async def survey_answers(db: AsyncSession, survey: Survey, number: int | None, lang: str, _,
                         min_cell: int) -> Table:
    """One row per answer, one column per question of that version (background questions included).
    Refused below `min_cell` answers: so few rows could show who answered what."""
    number = number or survey.current_version
    version = (await db.execute(select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.number == number))).scalar_one_or_none()
    if version is None:
        from ..core.errors import FieldError

        raise FieldError("version", f"this survey has no version {number}")
    rows = list((await db.execute(select(Response.month, Response.language, Response.answers).where(
        Response.version_id == version.id).order_by(Response.month, Response.id))).all())
    if len(rows) < min_cell:
        raise TooFewAnswers(len(rows), min_cell)
    questions = version.questions
    header = [_("Month"), _("Language")] + [
        f"{q['text'].get(lang) or q['text'].get('sv') or q['key']} [{q['key']}]" for q in questions]
    table = Table(title=f"{survey.slug}-v{number}", header=header)
    for month, language, answers in rows:
        answers = answers or {}
        table.rows.append([month_text(month), language] + [
            _answer_cell(q, answers.get(q["key"]), q["key"] in answers, lang, _) for q in questions])
    return table


# ---------- optional domains ----------

def optional_module(name: str):
    """A domain module another engineer owns, or None when it is not installed."""
    return import_optional(name)


def workshops_models():
    mod = optional_module("youthvoice.workshops.models")
    return mod if mod is not None and hasattr(mod, "Statement") and hasattr(mod, "Workshop") else None


def exit_model():
    mod = optional_module("youthvoice.analysis.models")
    return getattr(mod, "Exit", None) if mod is not None else None


async def statements(db: AsyncSession, unit: Unit, lang: str, _) -> Table:
    """Released workshop statements of a unit with their wording history and the answer they got."""
    wm = workshops_models()
    W, S = wm.Workshop, wm.Statement
    R = getattr(wm, "Revision", None)
    rows = list((await db.execute(select(W, S).join(S, S.workshop_id == W.id).where(
        W.unit_id == unit.id, S.released.is_(True)).order_by(W.date, W.id, S.seq))).all())
    revisions: dict[str, list] = {}
    if R is not None and rows:
        for rev in (await db.execute(select(R).where(R.statement_id.in_([s.id for _w, s in rows]))
                                     .order_by(R.statement_id, R.number))).scalars():
            revisions.setdefault(rev.statement_id, []).append(rev)
    header = [_("Workshop"), _("Date"), _("Statement no."), _("Statement"), _("First wording"),
              _("Changed by staff"), _("Themes"), _("Answer status"), _("Answer"), _("Answered on")]
    table = Table(title=f"{unit.slug}-statements", header=header)
    for w, s in rows:
        revs = revisions.get(s.id, [])
        status = getattr(s, "response_status", None)
        answered = getattr(s, "response_on", None)
        table.rows.append([
            w.title, w.date.isoformat() if w.date else "", s.seq, s.text,
            revs[0].text if revs else s.text,
            _("yes") if any(r.author_role == "staff" for r in revs) else _("no"),
            ", ".join(s.themes or []),
            word(status, _) if status else "",
            getattr(s, "response_text", None) or "",
            answered.isoformat() if answered else "",
        ])
    return table


_EXIT_SKIP = {"id", "unit_id"}
EXIT_COLUMNS = {"month": "Month", "outcome": "Outcome", "gender": "Gender", "age_band": "Age band"}


async def exits(db: AsyncSession, unit: Unit, _) -> Table:
    """Exit records of a unit: one row per exit, no identity (the model holds none)."""
    Exit = exit_model()
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
        par = g.get("parity") or {}
        if par:
            table.rows.append(_figure_row(name, _("Share women (parity)"), {
                "target": par.get("target_share_women"), "n": _sum(par.get("women"), par.get("men")),
                "achieved": par.get("women"), "share": par.get("share_women"), "ci95": par.get("ci95"),
                "verdict": par.get("verdict")}, _))
    return table


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b
