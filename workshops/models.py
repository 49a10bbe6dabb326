"""Workshops: a room of at most ten young people who co-write statements,
approve what leaves the room, and later read the answer.

What is kept after close is the released statements with their wording history
(text + author role, never who), the composition as counts, and the process
leader's answers. Participants (their tokens and nicknames), unapproved
statements, supports and votes are deleted at close.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from youthvoice.db import Base, random_id

STATUSES = ("open", "review", "closed")
AUTHOR_ROLES = ("participant", "staff")
RESPONSE_STATUSES = ("received", "considering", "done", "not_possible")
FINAL_STATUSES = ("done", "not_possible")
ENTRY_KINDS = ("response", "milestone", "reply")
REPLY_KINDS = ("meant", "agree", "not_satisfied")
VOTES = ("approve", "object")
MAX_PARTICIPANTS = 10


class Workshop(Base):
    __tablename__ = "workshop"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    neutral_place: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | review | closed
    themes: Mapped[list] = mapped_column(JSON, default=list)
    # Counts only: {"gender": {"woman": 3, ...}, "age_band": {...}, "newly_arrived": n, "disability": n}
    composition: Mapped[dict] = mapped_column(JSON, default=dict)
    # How many joined; kept after the participants are deleted at close.
    joined: Mapped[int] = mapped_column(Integer, default=0)
    # How long the code shows the feedback after close.
    feedback_months: Mapped[int] = mapped_column(Integer, default=12)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Bumped on every change; live views poll it (works across app workers).
    version: Mapped[int] = mapped_column(Integer, default=0)
    next_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The languages the phones in the room used (codes, in the order they first appeared), so the
    # process leader can answer in each of them. Languages only, never who.
    languages: Mapped[list] = mapped_column(JSON, default=list)


class Participant(Base):
    """A phone in the room. Random token (stored hashed), optional nickname. Deleted at close."""

    __tablename__ = "workshop_participant"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(40))


class Statement(Base):
    __tablename__ = "workshop_statement"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # order in the room
    # The participant who wrote it (to take the original wording back); gone after close.
    author_id: Mapped[str | None] = mapped_column(ForeignKey("workshop_participant.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    themes: Mapped[list] = mapped_column(JSON, default=list)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    response_status: Mapped[str | None] = mapped_column(String(16))
    response_text: Mapped[str | None] = mapped_column(Text)
    response_on: Mapped[dt.date | None] = mapped_column(Date)
    # The status, text and date above are the latest response, kept for quick reads; the history is in
    # workshop_statement_entry. The date by which the next update is promised, None when none is.
    promised_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # After a final status (done / not possible): the day the reply window ends; then e-mail
    # subscriptions to the statement are deleted.
    replies_until: Mapped[dt.date | None] = mapped_column(Date)


class Revision(Base):
    """One wording of a statement, and whether a participant or staff wrote it."""

    __tablename__ = "workshop_revision"
    __table_args__ = (UniqueConstraint("statement_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_role: Mapped[str] = mapped_column(String(16))


class Support(Base):
    __tablename__ = "workshop_support"
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"),
                                              primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("workshop_participant.id", ondelete="CASCADE"),
                                                primary_key=True)


class Vote(Base):
    """A participant's approval or objection to the current wording; reset when the wording changes."""

    __tablename__ = "workshop_vote"
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"),
                                              primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("workshop_participant.id", ondelete="CASCADE"),
                                                primary_key=True)
    vote: Mapped[str] = mapped_column(String(8))


class Entry(Base):
    """One step in the answer's history, never overwritten: a response (status and text), a milestone,
    or a reply from the young people. Texts are per language: {"sv": ..., "ar": ...}. Only the date is
    kept, never a time, and nothing about who among the young people replied."""

    __tablename__ = "workshop_statement_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # response | milestone | reply
    status: Mapped[str | None] = mapped_column(String(16))  # responses: the status set
    reply_kind: Mapped[str | None] = mapped_column(String(16))  # replies: meant | agree | not_satisfied
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    on: Mapped[dt.date] = mapped_column(Date)
    # Which unit answered (a statement can be handed on to another unit of the same agreement).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    author_role: Mapped[str] = mapped_column(String(16))  # staff | participant
    # Staff entries: by when the next update is promised (None: no promise).
    next_update_by: Mapped[dt.date | None] = mapped_column(Date)
    # "Not possible": where the young people can turn at the unit.
    contact: Mapped[str | None] = mapped_column(String(200))


class Link(Base):
    """A statement the process leader links to an earlier one on the same theme ("we asked for this
    last spring too")."""

    __tablename__ = "workshop_statement_link"
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"),
                                              primary_key=True)
    earlier_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class ReplyCode(Base):
    """A personal reply code of a phone that was in the room at close, stored as a keyed digest only.
    It is tied to the workshop, never to a statement, a reply or a participant."""

    __tablename__ = "workshop_reply_code"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)


class Subscription(Base):
    """An e-mail address left on the feedback page to hear about a statement's new entries. Apart from
    everything else: encrypted (Fernet), with the language it was left in; the unsubscribe link is the
    random id with a keyed MAC. Deleted on unsubscribe, or once the statement is final and its reply
    window is over."""

    __tablename__ = "workshop_subscription"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    statement_id: Mapped[str] = mapped_column(ForeignKey("workshop_statement.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(Text)  # Fernet token (ASCII), never the plain address
    lang: Mapped[str] = mapped_column(String(12))


# Records of processing (GDPR art. 30): one short purpose for every table of this domain, and how long
# its rows are kept. The app factory gathers every domain's; tests/pages checks that they cover exactly
# the tables in the metadata. Message ids are English; translations are in pages.po.
PURPOSES: dict[str, tuple[str, str]] = {
    "workshop": ("Workshops: title, date, place and the group's composition as counts only.",
                     "As long as the unit needs it."),
    "workshop_participant": ("A phone in the workshop room: random token and optional nickname.",
                                 "Deleted when the workshop closes."),
    "workshop_statement": ("What the young people said in a workshop, and the process leader's answer.",
                               "Unapproved: deleted when the workshop closes. Released: as long as the unit needs it."),
    "workshop_revision": ("Every wording of a statement and whether a participant or staff wrote it.",
                              "As long as the statement is kept."),
    "workshop_support": ("Which phone in the room supports a statement.", "Deleted when the workshop closes."),
    "workshop_vote": ("Approvals and objections in the room before anything is released.",
                          "Deleted when the workshop closes."),
    "workshop_statement_entry": (("The history of the answer to a statement: responses, milestones and the "
                                  "young people's replies, with a date only."), "As long as the statement is kept."),
    "workshop_statement_link": ("Which earlier statements on the same theme a statement follows up.",
                                "As long as the statement is kept."),
    "workshop_reply_code": ("A digest of each phone's personal reply code, tied only to the workshop.",
                            "As long as the workshop's feedback is shown."),
    "workshop_subscription": ("An e-mail address (encrypted) left to hear when a statement gets a new entry.",
                              ("Until unsubscribed, or until the statement is done or not possible and the "
                               "reply window has passed.")),
}
