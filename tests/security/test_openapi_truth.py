"""The API's own description tells the truth (issue 25, item 7): Schemathesis with all its checks,
the stateful phase included, against a real server with a staff token, on SQLite and PostgreSQL.
It fails on any server error, any status the OpenAPI document does not list for that route, any
content type other than the documented one (exports are CSV and .xlsx, not JSON) and any body
that does not match the documented schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from tests.reliability.server import LiveServer
from tests.security.routes import make_objects
from youthvoice.app import create_app
from youthvoice.config import Settings

EXAMPLES = int(os.environ.get("YOUTHVOICE_SCHEMATHESIS_EXAMPLES", "4"))
ST = Path(sys.executable).with_name("schemathesis")

# Schema-valid data that the API still refuses on purpose: business rules a JSON schema cannot say
# (an answer that names a question the survey does not have, a unit outside the caller's scope, a
# workshop in the wrong step). Schemathesis' default list lacks 422; its other entries are its own.
ACCEPTED_REFUSALS = ["2xx", "401", "403", "404", "409", "422", "429"]


def schemathesis_config(path: Path, real: dict[str, object]) -> Path:
    """Real objects of unit-a (and a well-formed period) half of the time, in the path, the query and
    the body, so the handlers' own checks are reached instead of only the 404 of an unknown id."""
    lines = ["[checks.positive_data_acceptance]",
             f"expected-statuses = {json.dumps(ACCEPTED_REFUSALS)}", ""]
    values = {**{name: [value] for name, value in real.items()}, "period": ["2026", "2026-HT", "2026-Q3"]}
    for name, choices in values.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(choices)}", ""]
    lines.append("[parameters]")
    bindings = {**{f"path.{name}": name for name in real}, "query.unit": "unit", "body.unit": "unit",
                "query.period": "period"}
    for key, name in bindings.items():
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(server: LiveServer, token: str, config: Path, examples: int, phases: str,
                     report: Path) -> subprocess.CompletedProcess:
    cmd = [str(ST), "--no-color", "--config-file", str(config), "run", f"{server.url}/schema/openapi.json",
           "--checks", "all", "--phases", phases, "--max-examples", str(examples), "--seed", "25",
           "--workers", "1", "--no-shrink", "--generation-database", "none", "--request-timeout", "30",
           "-H", f"Authorization: Bearer {token}", "--report", "ndjson", "--report-ndjson-path", str(report),
           "--output-truncate", "true", "--continue-on-failure"]
    # In the test's own directory: Schemathesis keeps a cache (.schemathesis/) where it runs.
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, cwd=config.parent)


def failures(report: Path) -> list[str]:
    """Each distinct failure once: operation, check and what it saw (the report has every case)."""
    seen: dict[str, None] = {}
    for line in report.read_text().splitlines():
        event = json.loads(line).get("ScenarioFinished")
        if not event or event["status"] not in ("failure", "error"):
            continue
        for checks in (event["recorder"].get("checks") or {}).values():
            for check in checks:
                if check["status"] == "failure":
                    f = check["failure_info"]["failure"]
                    seen[f"{f['operation']}: {f['title']}: {f['message']}".replace("\n", " | ")[:300]] = None
    return list(seen)


def check_api_against_its_description(settings, world, tmp_path, examples: int, phases: str) -> str:
    server = LiveServer(settings, tmp_path / "var")
    server.var_dir.mkdir()
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            o = make_objects(c, world)
        real = {"survey_id": o.survey_id, "slug": o.slug, "workshop_id": o.workshop_id, "code": o.code,
                "sid": o.sid, "unit": "unit-a"}
        config = schemathesis_config(tmp_path / "schemathesis.toml", real)
        report = Path(os.environ.get("YOUTHVOICE_SCHEMATHESIS_REPORT", tmp_path / "st.ndjson"))  # every case
        done = run_schemathesis(server, world.tokens["pl_a"], config, examples, phases, report)
    finally:
        server.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 0, "\n".join(failures(report)) or out[-12000:]
    log = server.log()
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
    return out


def test_openapi_document_matches_what_the_api_answers(settings, world, tmp_path, backend):
    """Every operation, in Schemathesis' fuzzing and stateful phases (about a minute per database);
    the boundary-value "coverage" phase, ~1 700 more requests, runs in the slow test below."""
    out = check_api_against_its_description(settings, world, tmp_path, EXAMPLES, "examples,fuzzing,stateful")
    print(f"\nSCHEMATHESIS {backend}: " + " ".join(line.strip() for line in out.splitlines()
                                                  if "generated" in line or "Tested:" in line))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("YOUTHVOICE_LONG_FUZZ"),
                    reason="8-10 minutes a database: YOUTHVOICE_LONG_FUZZ=1 (make test runs the shorter one above)")
def test_openapi_document_matches_what_the_api_answers_at_length(settings, world, tmp_path, backend):
    out = check_api_against_its_description(settings, world, tmp_path, 25, "examples,coverage,fuzzing,stateful")
    print(f"\nSCHEMATHESIS at length {backend}: " + " ".join(line.strip() for line in out.splitlines()
                                                            if "generated" in line or "Tested:" in line))


def test_document_names_errors_and_file_types(tmp_path):
    """What a client generator reads: exports are files, refusals have their real bodies. (The
    document needs no database: the app is not started.)"""
    settings = Settings.from_env(database_url=f"sqlite+aiosqlite:///{tmp_path}/none.db", secret_key="k",
                                 var_dir=tmp_path, allowed_hosts=("testserver.local",))
    doc = TestClient(create_app(settings)).get("/schema/openapi.json").json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    csv = paths["/api/exports/units/{unit}/statements.csv"]["get"]["responses"]
    xlsx = paths["/api/exports/units/{unit}/statements.xlsx"]["get"]["responses"]
    assert list(csv["200"]["content"]) == ["text/csv"]
    assert list(xlsx["200"]["content"]) == ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    submit = paths["/api/public/surveys/{slug}/responses"]["post"]["responses"]
    assert {"404", "409", "422", "429", "503"} <= set(submit)
    assert "401" not in submit  # no token needed to answer a survey
    assert submit["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Invalid")
    assert "errors" in schemas["Invalid"]["required"]
    assert "Retry-After" in submit["429"]["headers"]
    respond = paths["/api/statements/{sid}/response"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(respond)
    assert respond["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")
    assert schemas["Submission"]["additionalProperties"] is False  # unknown fields are refused
    join = paths["/api/public/workshops/{code}/participants"]["post"]
    assert join["requestBody"]["required"] is False  # a nickname is optional, and so is the body
    assert doc["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    for path, item in paths.items():
        for method, op in item.items():
            assert "503" in op["responses"], (method, path)
            if not path.startswith("/api/public/"):  # every staff route needs a token
                assert "401" in op["responses"] and op["security"] == [{"staffToken": []}], (method, path)
