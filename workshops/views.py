"""What the workshop pages and the API show: statements with their revisions, word
differences and votes; released statements per unit; theme counts. Reads only."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.models import Unit

from .models import Participant, Revision, Statement, Support, Vote, Workshop
from .statements import verdict, vote_counts


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op 'same', 'del' or 'ins', word by word."""
    a, b = re.findall(r"\S+|\s+", old), re.findall(r"\S+|\s+", new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                out.append(("del", "".join(a[i1:i2])))
            if j2 > j1:
                out.append(("ins", "".join(b[j1:j2])))
    return out


def staff_words_remain(revisions) -> bool:
    """Whether staff's words are in the current text, from the revisions in order (each with `.text`
    and `.author_role`). A staff revision puts them in; a participant's revision back to a text the
    young people wrote themselves ("Take back my own words", or typing it again) takes them out; a
    participant's change on top of staff's words keeps them in."""
    own: set[str] = set()
    staff = False
    for r in revisions:
        if r.author_role == "staff":
            staff = True
        elif r.text in own:
            staff = False
        elif not staff:
            own.add(r.text)
    return staff


@dataclass
class RevisionView:
    number: int
    text: str
    author_role: str
    diff: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StatementView:
    id: str
    seq: int
    text: str
    themes: list[str]
    released: bool
    author_id: str | None
    revisions: list[RevisionView]
    supports: int = 0
    approvals: int = 0
    objections: int = 0
    supported_by_me: bool = False
    my_vote: str | None = None
    response_status: str | None = None
    response_text: str | None = None
    author_nickname: str | None = None  # shown only in the room; deleted at close
    screen: str = "shown"  # shown | held | hidden (workshops/models.py)
    # During the review: would it pass if the workshop closed now ('pass', 'objected', 'short') and the
    # number behind it (objections, or approvals still missing).
    verdict: str | None = None
    verdict_n: int = 0

    @property
    def edited_by_staff(self) -> bool:
        """Staff's words are in the text now (not: staff once suggested words the author took back)."""
        return staff_words_remain(self.revisions)

    @property
    def staff_reworded(self) -> RevisionView | None:
        """The latest revision when it is staff's: the author's phone shows it openly, with the words
        the author had before."""
        return self.revisions[-1] if len(self.revisions) > 1 and self.revisions[-1].author_role == "staff" else None

    @property
    def original(self) -> str:
        return self.revisions[0].text if self.revisions else self.text


async def statement_views(db: AsyncSession, ws: Workshop, me: Participant | None = None,
                          released_only: bool = False, min_share: float | None = None,
                          room: bool = False, projector: bool = False) -> list[StatementView]:
    """`room`: what a phone sees (a held statement only by its author); `projector`: only what is shown.
    `min_share`: the unit's release rule, to say during the review whether each statement would pass."""
    q = select(Statement).where(Statement.workshop_id == ws.id).order_by(Statement.seq, Statement.id)
    if released_only:
        q = q.where(Statement.released.is_(True))
    statements = list((await db.execute(q)).scalars())
    if projector:
        statements = [s for s in statements if s.screen == "shown"]
    elif room:
        statements = [s for s in statements if s.screen != "held" or (me is not None and s.author_id == me.id)]
    if not statements:
        return []
    ids = [s.id for s in statements]
    revs: dict[str, list[RevisionView]] = {}
    for r in (await db.execute(select(Revision).where(Revision.statement_id.in_(ids))
                               .order_by(Revision.statement_id, Revision.number))).scalars():
        lst = revs.setdefault(r.statement_id, [])
        rv = RevisionView(r.number, r.text, r.author_role)
        rv.diff = word_diff(lst[-1].text, r.text) if lst else []
        lst.append(rv)
    supports = dict((await db.execute(select(Support.statement_id, func.count()).where(
        Support.statement_id.in_(ids)).group_by(Support.statement_id))).all())
    counts = await vote_counts(db, ws)
    nicknames = dict((await db.execute(select(Participant.id, Participant.nickname).where(
        Participant.workshop_id == ws.id, Participant.nickname.is_not(None)))).all())
    mine_sup: set[str] = set()
    mine_vote: dict[str, str] = {}
    if me is not None:
        mine_sup = set((await db.execute(select(Support.statement_id).where(
            Support.participant_id == me.id))).scalars())
        mine_vote = dict((await db.execute(select(Vote.statement_id, Vote.vote).where(
            Vote.participant_id == me.id))).all())
    return [StatementView(
        id=s.id, seq=s.seq, text=s.text, themes=list(s.themes or []), released=s.released, author_id=s.author_id,
        revisions=revs.get(s.id, []), supports=supports.get(s.id, 0), approvals=counts.get(s.id, (0, 0))[0],
        objections=counts.get(s.id, (0, 0))[1], supported_by_me=s.id in mine_sup, my_vote=mine_vote.get(s.id),
        response_status=s.response_status, response_text=s.response_text,
        author_nickname=nicknames.get(s.author_id) if s.author_id else None, screen=s.screen,
        **_verdict(ws, counts.get(s.id, (0, 0)), min_share)) for s in statements]


def _verdict(ws: Workshop, counts: tuple[int, int], min_share: float | None) -> dict:
    if min_share is None or ws.status != "review":
        return {}
    v, n = verdict(counts[0], counts[1], ws.joined, min_share)
    return {"verdict": v, "verdict_n": n}


async def unit_workshops(db: AsyncSession, unit_ids: set[int]) -> list[Workshop]:
    return list((await db.execute(select(Workshop).where(Workshop.unit_id.in_(unit_ids or {-1}))
                                  .order_by(Workshop.date.desc(), Workshop.id.desc()))).scalars())


async def unit_by_slug(db: AsyncSession, slug: str) -> Unit:
    unit = (await db.execute(select(Unit).where(Unit.slug == slug))).scalar_one_or_none()
    if unit is None:
        raise NotFoundException("unit: no such unit")
    return unit


async def released_in(db: AsyncSession, unit_ids: set[int]) -> list[tuple[Workshop, list[StatementView]]]:
    """Closed workshops of these units, newest first, each with its released statements (none: left out).
    The unit's public page and the process leader's answers page both show this."""
    out = []
    for ws in (await db.execute(select(Workshop).where(Workshop.unit_id.in_(unit_ids or {-1}),
                                                       Workshop.status == "closed")
                                .order_by(Workshop.date.desc(), Workshop.id.desc()))).scalars():
        views = await statement_views(db, ws, released_only=True)
        if views:
            out.append((ws, views))
    return out


NO_THEME = "(no theme)"


async def theme_counts(db: AsyncSession, unit_ids: set[int], first: int, last: int) -> list[tuple[str, str, int]]:
    """Released statements per theme and month (YYYY-MM) in a month range (YYYYMM, both included): the
    API's /themes and the analysis dashboard. A statement with two themes counts once for each, one
    without any under NO_THEME."""
    start = dt.date(first // 100, first % 100, 1)
    end = dt.date(last // 100 + (last % 100 == 12), last % 100 % 12 + 1, 1)
    rows = (await db.execute(select(Workshop.date, Statement.themes).join(Statement, Statement.workshop_id == Workshop.id)
                             .where(Workshop.unit_id.in_(unit_ids or {-1}), Statement.released.is_(True),
                                    Workshop.date >= start, Workshop.date < end))).all()
    counts: dict[tuple[str, str], int] = {}
    for day, themes in rows:
        for t in themes or [NO_THEME]:
            key = (t, f"{day.year}-{day.month:02d}")
            counts[key] = counts.get(key, 0) + 1
    return [(t, m, n) for (t, m), n in sorted(counts.items())]
