"""Exit register (G1, G2) and counted volume goals. Counts only: no identity anywhere.

An exit row says "in this month, at this unit, someone of this gender and age
band left for work / studies / other". The id is random so rows do not reveal
the order they were registered in; there is no timestamp finer than the month.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from youthvoice.db import Base, random_id

OUTCOMES = ("work", "studies", "other")
EXIT_GENDERS = ("woman", "man", "non_binary", "undisclosed")
AGE_BANDS = ("16-19", "20-24", "undisclosed")


class Exit(Base):
    __tablename__ = "exit_record"
    __table_args__ = (Index("ix_exit_record_stats", "unit_id", "month"), {"sqlite_with_rowid": False})
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    month: Mapped[int] = mapped_column(Integer)  # YYYYMM, never finer
    outcome: Mapped[str] = mapped_column(String(16))
    gender: Mapped[str] = mapped_column(String(16))
    age_band: Mapped[str] = mapped_column(String(16))
    # Secret cell key of this record (analysis/cellkey.py); summed per cell when figures are released.
    record_key: Mapped[int] = mapped_column(SmallInteger, default=0)


class Release(Base):
    """One published release: the figures of a period (`final` once closed, `preliminary`
    totals on the release calendar's days while open) or of one survey's /r/ page. `key` is unique, so two
    workers can never publish the same release twice; `complete` turns true when its tables
    are stored, and only complete releases are read."""

    __tablename__ = "release"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # preliminary | final
    scope: Mapped[str] = mapped_column(String(40))  # a period ("2026-HT") or "survey:<id>"
    published: Mapped[dt.date] = mapped_column(Date)
    next: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)


class ReleaseSetting(Base):
    """An agreement's release calendar (analysis/calendar.py): the smallest batch of answers a
    survey's release may move (B; default 10, never below min_cell) and the days its steering
    group meets, which are release days for its units beside the first weekday of each month."""

    __tablename__ = "release_setting"
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True)
    batch_min: Mapped[int] = mapped_column(Integer, default=10)
    steering_days: Mapped[list] = mapped_column(JSON, default=list)  # ["2027-03-12", ...]


class ReleaseTable(Base):
    """One view's published tables within a release (a unit set's goals, or a survey's questions)."""

    __tablename__ = "release_table"
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"), primary_key=True)
    view: Mapped[str] = mapped_column(String(400), primary_key=True)
    body: Mapped[dict] = mapped_column(JSON)


class VolumeGoal(Base):
    """A counted goal of an agreement, e.g. Hällefors' "4 trainee jobs a year"."""

    __tablename__ = "volume_goal"
    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    target_per_year: Mapped[int] = mapped_column(Integer)


class VolumeCount(Base):
    """How many were reached in a month at a unit (one row per registration; summed in SQL)."""

    __tablename__ = "volume_count"
    __table_args__ = (Index("ix_volume_count_goal_month", "goal_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("volume_goal.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    month: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)


# Records of processing (GDPR art. 30): one short purpose for every table of this domain, and how long
# its rows are kept. The app factory gathers every domain's; tests/pages checks that they cover exactly
# the tables in the metadata. Message ids are English; translations are in pages.po.
PURPOSES: dict[str, tuple[str, str]] = {
    "exit_record": ("Exit records: month, outcome (work, studies, other), gender and age band. No identity.",
                        "The unit's retention setting (see above)."),
    "release": ("Published releases of the figures: kind, period and date. Numbers only.",
                    "As long as the agreement runs."),
    "release_table": ("The published (protected) figures of each release, as shown on every page. Numbers only.",
                          "As long as the agreement runs."),
    "release_setting": (("An agreement's release calendar: the smallest batch of answers and its steering-group "
                         "dates. Numbers and dates only."), "As long as the agreement runs."),
    "volume_goal": ("Counted goals of an agreement, for example trainee jobs per year.",
                        "As long as the agreement runs."),
    "volume_count": ("How many were reached per month and unit for a counted goal. Numbers only.",
                         "As long as the agreement runs."),
}
