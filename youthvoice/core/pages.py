"""Public pages a municipality needs before young people may use the service:
the accessibility statement (DOS-lagen 2018:1937, DIGG's model statement), the
privacy notice for young people, and for staff the records of processing
(GDPR art. 30) generated from the data model so that it cannot drift from the code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import Scope
from .config import Settings
from .db import Base
from .models import Unit
from .web import render

KNOWN_GAPS = Path(__file__).resolve().parent.parent / "known_gaps.toml"
DIGG_REPORT_URL = "https://www.digg.se/tdosanmalan"
IMY_URL = "https://www.imy.se/privatperson/"


@lru_cache(maxsize=1)
def known_gaps() -> dict[str, Any]:
    """The checked-in list of known accessibility gaps."""
    with KNOWN_GAPS.open("rb") as f:
        data = tomllib.load(f)
    gaps = data.get("gap", [])
    for i, gap in enumerate(gaps):
        if not gap.get("wcag") or not gap.get("sv"):
            raise ValueError(f"known_gaps.toml: gap {i + 1} needs 'wcag' and 'sv'")
    reviewed = data.get("reviewed")
    if isinstance(reviewed, dt.datetime):
        reviewed = reviewed.date()
    return {"gaps": gaps, "reviewed": reviewed}


def gap_text(gap: dict[str, str], lang: str) -> str:
    return gap.get(lang) or gap["sv"]


# ---------- records of processing (GDPR art. 30) ----------

# One short purpose for every table in the data model, and how long its rows are
# kept. tests/pages checks that this covers exactly the tables in Base.metadata.
# Message ids are English; translations are in pages.po.
TABLE_PURPOSES: dict[str, tuple[str, str]] = {
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
    "audit_entry": ("What staff did with data (exports, releases, deletions), for accountability.",
                    "As the municipality's rules for logs say."),
    "survey": ("Surveys: title, dates, access and what the unit decided to do about the results.",
               "As long as the unit needs it."),
    "survey_version": ("The questions of each version of a survey.", "As long as the survey is kept."),
    "survey_code": ("One-time codes that stop double answers; never linked to an answer.",
                    "As long as the survey is kept."),
    "response": (("Anonymous answers: month, language, background answers and answers to the questions. "
                 "No name, IP address or exact time."), "The unit's retention setting (see above)."),
    "response_aggregate": (("Counts kept when raw answers are deleted: month, background answers, goal answers "
                           "and how many. No free text."), "As long as the unit needs it."),
    "response_count": (("How many answered, per survey, month and background answers, for the statistics. "
                        "Numbers only."), "As long as the unit needs it."),
    "submission_nonce": ("A hash of a random form value, so a double tap counts once.",
                         "The unit's retention setting (see above)."),
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
    "exit_record": ("Exit records: month, outcome (work, studies, other), gender and age band. No identity.",
                    "The unit's retention setting (see above)."),
    "volume_goal": ("Counted goals of an agreement, for example trainee jobs per year.",
                    "As long as the agreement runs."),
    "volume_count": ("How many were reached per month and unit for a counted goal. Numbers only.",
                     "As long as the agreement runs."),
}


def data_model_tables() -> list[dict[str, Any]]:
    """Every table with its columns, from the metadata the application really uses."""
    from . import models_registry  # noqa: F401  (loads every domain's models)

    out = []
    for table in sorted(Base.metadata.sorted_tables, key=lambda t: t.name):
        purpose, kept = TABLE_PURPOSES.get(table.name, ("", ""))
        out.append({
            "name": table.name,
            "purpose": purpose,
            "kept": kept,
            "columns": [{"name": c.name, "type": _type_name(c.type), "nullable": c.nullable}
                        for c in table.columns],
        })
    return out


def _type_name(t: Any) -> str:
    try:
        return str(t).split("(")[0].lower()
    except Exception:  # noqa: BLE001  (some types cannot render without a dialect)
        return type(t).__name__.lower()


async def retention(db: AsyncSession) -> list[Unit]:
    return list((await db.execute(select(Unit).order_by(Unit.name))).scalars())


# ---------- routes ----------

@get("/tillganglighet", include_in_schema=False)
async def accessibility(request: Request, settings: Settings) -> Response:
    data = known_gaps()
    return render(request, "pages/accessibility.html", youth=True, gaps=data["gaps"], reviewed=data["reviewed"],
                  gap_text=gap_text, contact_email=settings.contact_email, controller=settings.controller_name,
                  digg_url=DIGG_REPORT_URL)


@get("/integritet", include_in_schema=False)
async def privacy(request: Request, db: AsyncSession, settings: Settings) -> Response:
    return render(request, "pages/privacy.html", youth=True, units=await retention(db),
                  controller=settings.controller_name, dpo_email=settings.dpo_email,
                  contact_email=settings.contact_email, imy_url=IMY_URL, min_cell=settings.min_cell)


@get("/records", include_in_schema=False)
async def records(request: Request, staff: Scope, settings: Settings) -> Response:
    """Records of processing (GDPR art. 30), for staff and the data-protection officer."""
    request.state.staff_user = staff.user
    return render(request, "pages/records.html", tables=data_model_tables(), units=staff.units,
                  controller=settings.controller_name, dpo_email=settings.dpo_email, min_cell=settings.min_cell)


@get("/api/records", tags=["staff"])
async def records_api(staff: Scope, settings: Settings) -> dict[str, Any]:
    """Records of processing (GDPR art. 30) as data: every table with its purpose, retention and
    columns, generated from the data model, and each visible unit's retention in months."""
    return {
        "controller": settings.controller_name,
        "dpo_email": settings.dpo_email,
        "legal_basis": "GDPR art. 6.1 e (task carried out in the public interest)",
        "min_cell": settings.min_cell,
        "units": [{"slug": u.slug, "name": u.name, "retention_months": u.retention_months} for u in staff.units],
        "tables": data_model_tables(),
    }


ROUTES = [accessibility, privacy, records, records_api]
