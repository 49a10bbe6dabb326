"""Organisation and staff: agreements, organisations, units, users, sessions, tokens, audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base

ROLES = ("admin", "process_leader", "facilitator")

DEFAULT_TARGETS = {"work_or_studies": 0.60, "closer": 0.75, "useful": 0.85, "parity": 0.50}


class Agreement(Base):
    """A local agreement (lokal överenskommelse) between municipalities and AF."""

    __tablename__ = "agreement"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    targets: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_TARGETS))
    units: Mapped[list[Unit]] = relationship(back_populates="agreement", lazy="raise")


class Organisation(Base):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="municipality")  # or employment_service


user_unit = Table(
    "user_unit",
    Base.metadata,
    Column("user_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(Base):
    """A unit that works with the young people (ENTER, Ung i Tyresö)."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name in other languages ({"ar": "..."}), for the youth pages; `name` (Swedish) is the fallback.
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    # How long raw survey answers are kept before `youthvoice purge` removes them.
    retention_months: Mapped[int] = mapped_column(Integer, default=36)
    # Workshop release rule: no objection and at least this share of participants approved.
    release_min_share: Mapped[float] = mapped_column(default=0.5)
    agreement: Mapped[Agreement] = relationship(back_populates="units", lazy="joined")

    def name_in(self, lang: str) -> str:
        return (self.names or {}).get(lang) or self.name


class User(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    units: Mapped[list[Unit]] = relationship(secondary=user_unit, lazy="selectin")


class StaffSession(Base):
    """Server-side staff session; the cookie holds a random token, we store its hash."""

    __tablename__ = "staff_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(Base):
    """Staff actions on data (exports, releases, deletions). Never young people's actions."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text, default="")


class RateCount(Base):
    """Request counts for rate limits, shared by every worker. `key` is a keyed hash (HMAC with the
    secret key) of what is counted — an address, an address and an e-mail — never the value itself;
    rows live for one window and are then deleted."""

    __tablename__ = "rate_count"
    bucket: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)  # window start, seconds since 1970
    count: Mapped[int] = mapped_column(Integer, default=0)
    last: Mapped[int] = mapped_column(Integer, default=0)  # seconds since 1970 of the latest hit
    expires: Mapped[int] = mapped_column(Integer, index=True)


# Records of processing (GDPR art. 30): one short purpose for every table of this domain, and how long
# its rows are kept. The app factory gathers every domain's; tests/pages checks that they cover exactly
# the tables in the metadata. Message ids are English; translations are in pages.po.
PURPOSES: dict[str, tuple[str, str]] = {
    "agreement": ("The local agreement between municipalities and the employment service, with its goals.",
                      "As long as the agreement runs."),
    "organisation": ("The organisations that are party to an agreement.", "As long as the agreement runs."),
    "unit": ("The units that work with young people, and their retention settings.",
                 "As long as the unit exists."),
    "user_unit": ("Which units a staff member works in, so that staff see only their units.",
                      "Until the staff account is removed."),
    "staff_user": ("Staff accounts: e-mail, role and a password hash.", "Until the staff account is removed."),
    "staff_session": ("Signed-in staff sessions (a hash of a random token).", "At most 10 hours."),
    "api_token": ("Staff keys for the JSON API (stored as a hash).", "Until the staff account is removed."),
    "rate_count": (("Counts of requests per keyed hash of an address (never the address) for rate limits, "
                    "so that codes and passwords cannot be guessed."), "At most one day."),
    "storage_cleanup": (("Which deletions still wait to be wiped from the database files (a checkpoint or VACUUM FULL "
                         "that a busy reader held back), with when the wait began; no content."),
                        "Until the wipe has run, usually seconds."),
    "audit_entry": ("What staff did with data (exports, releases, deletions), for accountability.",
                        "As the municipality's rules for logs say."),
}
