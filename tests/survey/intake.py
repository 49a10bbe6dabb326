"""Reading the intake in tests: waiting answers are sealed (survey/sealing.py), so a test that checks
what an answer stored opens them with the test settings' key, as the release does."""

from __future__ import annotations

from survey.sealing import Sealer
from tests.conftest import raw_rows


def waiting(settings, where: str = "") -> list[dict]:
    """The waiting answers as full rows (id, survey_id, version_id and every sealed column)."""
    sealer = Sealer(settings.secret_key)
    rows = raw_rows(settings, f"SELECT id, survey_id, version_id, sealed FROM response_intake {where}")
    return [{"id": r["id"], "survey_id": r["survey_id"], "version_id": r["version_id"],
             **sealer.open(r["id"], r["survey_id"], r["version_id"], r["sealed"])} for r in rows]


def rows_of(settings, table: str, where: str = "") -> list[dict]:
    """Answers in `response` (plaintext, released) or `response_intake` (opened), each with `answers`."""
    if table == "response_intake":
        return waiting(settings, where)
    return raw_rows(settings, f"SELECT answers FROM {table} {where}")
