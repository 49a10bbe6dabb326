"""Workshop exports: the released statements of a unit, with their wording history and answers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.models import Unit
from youthvoice.tables import Table, word
from youthvoice.text import strip_invisible

from .models import Entry, Revision, Statement, Workshop
from .views import staff_words_remain


async def statements(db: AsyncSession, unit: Unit, _) -> Table:
    """Released workshop statements of a unit with their wording history and the answer they got."""
    W, S, R = Workshop, Statement, Revision
    rows = list((await db.execute(select(W, S).join(S, S.workshop_id == W.id).where(
        W.unit_id == unit.id, S.released.is_(True)).order_by(W.date, W.id, S.seq))).all())
    revisions: dict[str, list] = {}
    if rows:
        for rev in (await db.execute(select(R).where(R.statement_id.in_([s.id for _w, s in rows]))
                                     .order_by(R.statement_id, R.number))).scalars():
            revisions.setdefault(rev.statement_id, []).append(rev)
    entries: dict[tuple[str, str], int] = {}
    if rows:
        for sid, kind, n in (await db.execute(
                select(Entry.statement_id, Entry.kind, func.count()).where(Entry.statement_id.in_([s.id for _w, s in rows]))
                .group_by(Entry.statement_id, Entry.kind))).all():
            entries[(sid, kind)] = n
    header = [_("Workshop"), _("Date"), _("Statement no."), _("Statement"), _("First wording"),
              _("Changed by staff"), _("Themes"), _("Answer status"), _("Answer"), _("Answered on"),
              _("Answers and steps"), _("Replies from the young people"), _("Next update promised by")]
    table = Table(title=f"{unit.slug}-statements", header=header)
    for w, s in rows:
        revs = revisions.get(s.id, [])
        status, answered = s.response_status, s.response_on
        table.rows.append([
            # Words stored before invisible characters were refused are cleaned on the way out too.
            w.title, w.date.isoformat() if w.date else "", s.seq, strip_invisible(s.text),
            strip_invisible(revs[0].text if revs else s.text),
            _("yes") if staff_words_remain(revs) else _("no"),
            ", ".join(s.themes or []),
            word(status, _) if status else "",
            strip_invisible(s.response_text or ""),
            answered.isoformat() if answered else "",
            entries.get((s.id, "response"), 0) + entries.get((s.id, "milestone"), 0),
            entries.get((s.id, "reply"), 0),
            s.promised_on.isoformat() if s.promised_on else "",
        ])
    return table
