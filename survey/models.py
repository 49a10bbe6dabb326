"""Surveys, their immutable versions, one-time codes and anonymous responses.

Anonymity is structural here: a response row has a random id, the month only,
no IP, no user agent, and nothing that joins it to the code that unlocked it.
Code and response tables are WITHOUT ROWID on SQLite so that physical order
follows the random key, not insertion time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from youthvoice.db import Base, random_id


class Survey(Base):
    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[dict] = mapped_column(JSON)
    opens: Mapped[dt.date] = mapped_column(Date)
    closes: Mapped[dt.date] = mapped_column(Date)
    access: Mapped[str] = mapped_column(String(8), default="code")  # code | open
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published | closed
    shared_device: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # What the unit decided to do about the results, shown on /r/{slug}, per language.
    actions: Mapped[dict] = mapped_column(JSON, default=dict)


class SurveyVersion(Base):
    """Questions of one version. Frozen once an answer was given under it."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list] = mapped_column(JSON)


class SurveyCode(Base):
    """A one-time code. Spending flips `spent`; no time and no link to the response."""

    __tablename__ = "survey_code"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    spent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Spent since the last release. The release rewrites these rows (pending = false) in its own
    # transaction, so a spent code's row version carries the release's transaction id, shared by
    # every code spent in between, not the one that stored its answer.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Response(Base):
    """One released anonymous answer. Goal answers and background roles are copied into
    fixed columns so the effect goals are counted with one GROUP BY.

    Rows arrive here only at a release (survey/store.py `release_intake_now`), in shuffled
    groups, so their transaction id, physical and page order tell nothing of when within the
    period each was given. `record_key` is the answer's secret cell key (analysis/cellkey.py)."""

    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_stats", "unit_id", "month", "version_id"),
        Index("ix_response_survey", "survey_id", "version_id"),
        {"sqlite_with_rowid": False},
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    month: Mapped[int] = mapped_column(Integer)  # YYYYMM, never finer
    language: Mapped[str] = mapped_column(String(8))
    gender: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    newly_arrived: Mapped[str | None] = mapped_column(String(16))
    disability: Mapped[str | None] = mapped_column(String(16))
    closer: Mapped[int | None] = mapped_column(SmallInteger)
    useful: Mapped[int | None] = mapped_column(SmallInteger)
    answers: Mapped[dict] = mapped_column(JSON)
    record_key: Mapped[int] = mapped_column(SmallInteger, default=0)


class ResponseIntake(Base):
    """Acknowledged answers waiting for the next release: the writer (survey/writer.py) puts
    each answer here in the transaction that spends its code, and the release opens them,
    moves them, shuffled, into `response` and `response_count` and deletes them here. No
    statistic, page or export reads it.

    Stored sealed (survey/sealing.py): everything the answer says is one AES-GCM blob under a
    key derived from the service's secret; only the survey and its version are in clear (the
    release batches by survey; a version with answers is frozen)."""

    __tablename__ = "response_intake"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="CASCADE"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class SubmissionNonce(Base):
    """Form nonces already used, so a double tap or back-and-resubmit counts once.
    Holds only a hash of a random value the form carried, and the month for purging."""

    __tablename__ = "submission_nonce"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[int] = mapped_column(Integer)
    # Stored since the last release: rewritten by it like `survey_code.pending`.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())




class ResponseCount(Base):
    """Answers counted per survey version, month and background cell, added at each release
    in the transaction that moves the answers in (survey/store.py). The effect-goal
    statistics read this table, so they cost thousands of rows instead of every answer, and
    months whose raw answers were purged keep counting. Background values are '' when not
    answered. `<goal>_k` counts 4-5 (achieved), `<goal>_n` every answer incl. "don't know",
    `<goal>_dk` the "don't know"s. Every count has a `_key` beside it: the running sum of its
    records' secret keys, so a cell's key (sum mod 256, analysis/cellkey.py) costs nothing.
    WITHOUT ROWID: the rows sit in key order, not in the order cells first appeared."""

    __tablename__ = "response_count"
    __table_args__ = (Index("ix_response_count_unit_id", "unit_id"), {"sqlite_with_rowid": False})
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    gender: Mapped[str] = mapped_column(String(16), primary_key=True)
    age_band: Mapped[str] = mapped_column(String(16), primary_key=True)
    newly_arrived: Mapped[str] = mapped_column(String(16), primary_key=True)
    disability: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    n: Mapped[int] = mapped_column(Integer)
    closer_k: Mapped[int] = mapped_column(Integer)
    closer_n: Mapped[int] = mapped_column(Integer)
    closer_dk: Mapped[int] = mapped_column(Integer, default=0)
    useful_k: Mapped[int] = mapped_column(Integer)
    useful_n: Mapped[int] = mapped_column(Integer)
    useful_dk: Mapped[int] = mapped_column(Integer, default=0)
    n_key: Mapped[int] = mapped_column(Integer, default=0)
    closer_k_key: Mapped[int] = mapped_column(Integer, default=0)
    closer_n_key: Mapped[int] = mapped_column(Integer, default=0)
    closer_dk_key: Mapped[int] = mapped_column(Integer, default=0)
    useful_k_key: Mapped[int] = mapped_column(Integer, default=0)
    useful_n_key: Mapped[int] = mapped_column(Integer, default=0)
    useful_dk_key: Mapped[int] = mapped_column(Integer, default=0)



class ResponseAggregate(Base):
    """Counts of purged answers per unit/survey/version/month and statistics cell.
    Several rows may share a cell (one per purge run); readers sum `n`."""

    __tablename__ = "response_aggregate"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="CASCADE"))
    month: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    newly_arrived: Mapped[str | None] = mapped_column(String(16))
    disability: Mapped[str | None] = mapped_column(String(16))
    closer: Mapped[int | None] = mapped_column(SmallInteger)
    useful: Mapped[int | None] = mapped_column(SmallInteger)
    n: Mapped[int] = mapped_column(Integer)

# Records of processing (GDPR art. 30): one short purpose for every table of this domain, and how long
# its rows are kept. The app factory gathers every domain's; tests/pages checks that they cover exactly
# the tables in the metadata. Message ids are English; translations are in pages.po.
PURPOSES: dict[str, tuple[str, str]] = {
    "survey": ("Surveys: title, dates, access and what the unit decided to do about the results.",
                   "As long as the unit needs it."),
    "survey_version": ("The questions of each version of a survey.", "As long as the survey is kept."),
    "survey_code": ("One-time codes that stop double answers; never linked to an answer.",
                        "As long as the survey is kept."),
    "response": (("Anonymous answers: month, language, background answers and answers to the questions. "
                     "No name, IP address or exact time."), "The unit's retention setting (see above)."),
    "response_aggregate": (("Counts kept when raw answers are deleted: month, background answers, goal answers "
                               "and how many. No free text."), "As long as the unit needs it."),
    "response_intake": (("Answers waiting for the next release (at most a day): the same as an answer. "
                            "Emptied at every release."), "Until the next release, at most a day."),
    "response_count": (("How many answered, per survey, month and background answers, for the statistics. "
                            "Numbers only."), "As long as the unit needs it."),
    "submission_nonce": ("A hash of a random form value, so a double tap counts once.",
                             "The unit's retention setting (see above)."),
}
