"""The one table writer every export uses: CSV for Swedish Excel and .xlsx.

A table is built once (title, header, rows of plain Python values) and then
written as either format. Both writers neutralise formula injection: a text cell
that begins with =, +, -, @, a tab or a carriage return gets a leading
apostrophe, and in .xlsx every text cell is stored as a string, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import audit
from .clock import TZ, today

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA = "text/csv"  # Litestar adds "; charset=utf-8" to text types itself (it was sent twice)
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"


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
    # openpyxl is imported here, on the first spreadsheet: at import it added ~0.35 s to every
    # worker's start (P5 in BENCHMARKS.md) for a file staff ask for now and then.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

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


def file_format(path: str) -> str:
    return "xlsx" if path.endswith(".xlsx") else "csv"


async def send_table(db: AsyncSession, user, table: Table, fmt: str, subject: str) -> Response:
    """The file as a download, written to the staff audit log (committed with the request): what was
    exported and on which day, not how many rows nor the second. A row count and a time to the
    second beside it, export after export, would show how many answers a release added and when
    someone looked (issue 26)."""
    body = to_xlsx(table) if fmt == "xlsx" else to_csv(table)
    await audit(db, user, "export", f"{subject} ({fmt})", at=dt.datetime.combine(today(), dt.time(), tzinfo=TZ))
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in table.title)[:80] or "export"
    return Response(content=body, media_type=XLSX_MEDIA if fmt == "xlsx" else CSV_MEDIA,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
