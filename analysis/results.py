"""The published figures of one survey for the public page /r/{slug} (and its staff preview).

Read from the survey's last release (analysis/tallies.py survey_tables, made by analysis/release.py): nothing is counted
here, so /r/ changes only at a release, however often it is reloaded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey import service
from survey.models import Survey
from youthvoice.clock import today

from . import read


async def results(db: AsyncSession, survey: Survey, _min_cell: int) -> dict[str, Any]:
    """{"total", "questions": [{"q", "n", "cells": [(option, count | None)]}], "version", "release",
    "next"}: the questions of the release's version; a hidden count is None. The survey results page
    calls it with the smallest cell (`_min_cell`), but the release hid the small cells when it was made."""
    body, rel = await read.survey_of(db, survey.id, survey.unit_id)
    version = await service.current_version(db, survey)
    by_key = {q["key"]: q for q in version.questions}
    questions = []
    if body is not None and body.get("version") == version.number:
        for item in body["questions"]:
            q = by_key.get(item["key"])
            if q is not None:
                questions.append({"q": q, "n": item["n"], "cells": [tuple(c) for c in item["cells"]]})
    return {"total": (body or {}).get("total"), "questions": questions, "version": version.number,
            "release": rel, "next": (rel or {}).get("next") or await read.next_release_for(db, {survey.unit_id}, today()), "final": bool(rel and rel["kind"] == "final")}
