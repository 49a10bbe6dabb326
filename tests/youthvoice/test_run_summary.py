"""`make run`'s summary (issue 27): on a fresh database, after `youthvoice demo --if-empty --quiet`, the
summary shows the address, the demo logins, a survey link with a one-time code, an open survey link and a
workshop code; a port already taken ends `youthvoice serve` with one clear line, not a traceback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from youthvoice import cli
from youthvoice.config import Settings
from youthvoice.demo import DEMO_USERS

ROOT = Path(__file__).resolve().parent.parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "YOUTHVOICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            "YOUTHVOICE_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}


def test_demo_then_summary_shows_a_way_in_for_each_kind_of_user(tmp_path, monkeypatch):
    env = _env(tmp_path)
    for key in ("YOUTHVOICE_DATABASE_URL", "YOUTHVOICE_VAR_DIR"):
        monkeypatch.setenv(key, env[key])
    demo = subprocess.run([sys.executable, "-m", "youthvoice.cli", "demo", "--if-empty", "--quiet"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "Demo data loaded."  # the releases and logins wait for the summary
    assert "warning" not in demo.stderr.lower(), demo.stderr

    base = "http://127.0.0.1:8123"
    lines = cli.run_db(lambda db: cli.run_summary(db, base), Settings.from_env())
    text = "\n".join(lines)
    assert f"{base}/login" in text
    for email, role, password, _ in DEMO_USERS:
        assert re.search(rf"^\s+{role}\s+{re.escape(email)}\s+{password}$", text, re.MULTILINE), text
    assert re.search(rf"one-time code: {base}/s/[a-z0-9-]+\?code=[A-Z0-9]+-[A-Z0-9]+$", text, re.MULTILINE), text
    assert re.search(rf"open survey, no code: +{base}/s/[a-z0-9-]+$", text, re.MULTILINE), text
    ws = re.search(rf"workshop to join: +{base}/w/([A-Z0-9]+) +\(code ([A-Z0-9]+)\)$", text, re.MULTILINE)
    assert ws and ws[1] == ws[2], text
    assert len(lines) < 20  # with the lines around it, one screen


def test_a_taken_port_gives_one_clear_line_and_a_non_zero_exit(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "youthvoice.cli", "serve", "--port", str(port), "--summary"],
                             env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]  # one line
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr
    assert "--port" in run.stderr and "PORT=" in run.stderr
    assert "Traceback" not in run.stderr
