"""Workshop request and answer bodies (CONTRACT "JSON API", workshop rows)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Count = Annotated[int, msgspec.Meta(ge=0, le=10)]
Theme = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
StatementText = Annotated[str, msgspec.Meta(max_length=1000)]

COMPOSITION_FIELDS = ("women", "men", "non_binary", "gender_undisclosed", "age_16_19", "age_20_24",
                      "newly_arrived", "disability")


class Composition(msgspec.Struct, forbid_unknown_fields=True):
    """How the group was made up, as counts only (never who)."""

    women: Count = 0
    men: Count = 0
    non_binary: Count = 0
    gender_undisclosed: Count = 0
    age_16_19: Count = 0
    age_20_24: Count = 0
    newly_arrived: Count = 0
    disability: Count = 0


class WorkshopDef(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    title: Annotated[str, msgspec.Meta(max_length=200)]
    date: dt.date
    place: Annotated[str, msgspec.Meta(max_length=200)]
    # Must be true: "a neutral place, not an authority's premises". False or missing gives 422.
    neutral_place: bool = False
    themes: list[Theme] = msgspec.field(default_factory=list)
    composition: Composition | None = None
    feedback_months: Annotated[int, msgspec.Meta(ge=1, le=60)] = 12


class WorkshopCreated(msgspec.Struct):
    id: int
    code: str


class WorkshopOut(msgspec.Struct):
    id: int
    unit: str
    code: str
    title: str
    date: dt.date
    place: str
    status: str
    themes: list[str]
    composition: dict
    joined: int


class JoinRequest(msgspec.Struct, forbid_unknown_fields=True):
    nickname: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class ParticipantOut(msgspec.Struct):
    id: str
    nickname: str | None
    statements: int


class Joined(msgspec.Struct):
    participant_token: str


class NewStatement(msgspec.Struct, forbid_unknown_fields=True):
    text: StatementText
    themes: list[Theme] = msgspec.field(default_factory=list)


class StatementEdit(msgspec.Struct, forbid_unknown_fields=True):
    text: StatementText | None = None
    themes: list[Theme] | None = None


class Created(msgspec.Struct):
    id: str


class VoteIn(msgspec.Struct, forbid_unknown_fields=True):
    vote: Literal["approve", "object"]


class RevisionOut(msgspec.Struct):
    text: str
    author_role: str


class StatementOut(msgspec.Struct):
    id: str
    text: str
    released: bool
    edited_by_staff: bool
    revisions: list[RevisionOut]
    themes: list[str]
    supports: int
    approvals: int
    objections: int


class Closed(msgspec.Struct):
    released: list[str]


AnswerText = Annotated[str, msgspec.Meta(max_length=4000)]


class ResponseIn(msgspec.Struct, forbid_unknown_fields=True):
    """`text` is the answer in Swedish; `texts` adds it in other languages ({"ar": ...}), so everyone
    in the room can read it. `next_update_by` promises the next update by that date; `contact` says,
    for "not_possible", where at the unit the young people can turn."""

    status: Literal["received", "considering", "done", "not_possible"]
    text: AnswerText = ""
    texts: dict[str, AnswerText] = msgspec.field(default_factory=dict)
    next_update_by: dt.date | None = None
    contact: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class MilestoneIn(msgspec.Struct, forbid_unknown_fields=True):
    text: AnswerText = ""
    texts: dict[str, AnswerText] = msgspec.field(default_factory=dict)
    on: dt.date | None = None
    next_update_by: dt.date | None = None


class LinksIn(msgspec.Struct, forbid_unknown_fields=True):
    earlier: list[Annotated[str, msgspec.Meta(max_length=32)]]


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    """The young people answer back: the personal reply code shown on their phone when the workshop
    closed, what they want to say, and a short text (names and numbers are removed)."""

    reply_code: Annotated[str, msgspec.Meta(max_length=20)]
    kind: Literal["meant", "agree", "not_satisfied"]
    text: Annotated[str, msgspec.Meta(max_length=500)] = ""
    language: str = "sv"


class ReplyCodeOut(msgspec.Struct):
    reply_code: str


class EntryOut(msgspec.Struct):
    kind: str  # response | milestone | reply
    on: dt.date
    texts: dict[str, str]
    status: str | None = None
    reply_kind: str | None = None
    unit: str | None = None
    contact: str | None = None
    next_update_by: dt.date | None = None
    kept: bool | None = None


class EarlierOut(msgspec.Struct):
    id: str
    text: str
    workshop: str
    date: dt.date
    status: str | None


class FeedbackItem(msgspec.Struct):
    id: str
    text: str
    themes: list[str]
    edited_by_staff: bool
    status: str | None
    response: str | None
    # The answer in every language it was written in, the whole history, and the promise.
    responses: dict[str, str] = msgspec.field(default_factory=dict)
    history: list[EntryOut] = msgspec.field(default_factory=list)
    next_update_by: dt.date | None = None
    next_update_overdue: bool = False
    earlier: list[EarlierOut] = msgspec.field(default_factory=list)


class Feedback(msgspec.Struct):
    title: str
    date: dt.date
    statements: list[FeedbackItem]


class ThemeCount(msgspec.Struct):
    theme: str
    month: str
    statements: int


def statement_out(v) -> StatementOut:
    """A statement view (workshops.views.StatementView) as the JSON API gives it."""
    return StatementOut(id=v.id, text=v.text, released=v.released, edited_by_staff=v.edited_by_staff,
                        revisions=[RevisionOut(text=r.text, author_role=r.author_role) for r in v.revisions],
                        themes=v.themes, supports=v.supports, approvals=v.approvals, objections=v.objections)


def workshop_out(ws, unit_slug: str) -> WorkshopOut:
    return WorkshopOut(id=ws.id, unit=unit_slug, code=ws.code, title=ws.title, date=ws.date, place=ws.place,
                       status=ws.status, themes=list(ws.themes), composition=dict(ws.composition), joined=ws.joined)


def feedback_item(v, tl) -> FeedbackItem:
    """A released statement (views.StatementView) with its timeline (service.Timeline)."""
    last = next((e for e in reversed(tl.entries) if e.kind == "response"), None)
    return FeedbackItem(
        id=v.id, text=v.text, themes=v.themes, edited_by_staff=v.edited_by_staff, status=v.response_status,
        response=v.response_text, responses=dict(last.texts) if last else {},
        history=[EntryOut(kind=e.kind, on=e.on, texts=e.texts, status=e.status, reply_kind=e.reply_kind, unit=e.unit,
                          contact=e.contact, next_update_by=e.next_update_by, kept=e.kept) for e in tl.entries],
        next_update_by=tl.promised_on, next_update_overdue=tl.promise_overdue,
        earlier=[EarlierOut(id=x.id, text=x.text, workshop=x.workshop_title, date=x.workshop_date, status=x.status)
                 for x in tl.earlier])
