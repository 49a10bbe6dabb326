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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from youthvoice.db import Base, random_id

STATUSES = ("open", "review", "closed")
AUTHOR_ROLES = ("participant", "staff")
RESPONSE_STATUSES = ("received", "considering", "done", "not_possible")
VOTES = ("approve", "object")
MAX_PARTICIPANTS = 10
SCREEN_STATES = ("shown", "held", "hidden")


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
    # Moderation: new participant statements wait for the facilitator's OK before anyone else sees them.
    hold_new: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many statements were deleted at close ("5 sent on, 1 deleted"); None before close.
    deleted_at_close: Mapped[int | None] = mapped_column(Integer)


class Participant(Base):
    """A phone in the room. Random token (stored hashed), optional nickname. Deleted at close."""

    __tablename__ = "workshop_participant"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(40))
    # A short personal code (hashed with the workshop) to get back in as oneself after the cookie is lost.
    rejoin_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


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
    # On the projector: 'shown'; 'held' waits for the facilitator's OK (nobody but its author and staff
    # see it yet); 'hidden' is kept off the projector by the facilitator.
    screen: Mapped[str] = mapped_column(String(8), default="shown", server_default="shown")
    response_status: Mapped[str | None] = mapped_column(String(16))
    response_text: Mapped[str | None] = mapped_column(Text)
    response_on: Mapped[dt.date | None] = mapped_column(Date)


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
}
