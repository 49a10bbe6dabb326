"""Releases while a class answers (issue 25): every acknowledged answer is stored exactly once.

Phones answer through a real server (three workers on PostgreSQL, two on SQLite) while another
process releases the waiting answers again and again, as `youthvoice publish` does; in the second
run that process is killed with SIGKILL at random moments and started again. At the end every
answer that got its 201 is found exactly once, released or still waiting, and the counts equal
the released answers. Before the release deleted by the ids it read, PostgreSQL lost answers
acknowledged during a release (a bare DELETE saw rows committed after its SELECT)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import raw_rows
from tests.reliability.load import drive, make_survey, plan
from tests.reliability.server import LiveServer
from tests.reliability.test_load import check_ledger

pytestmark = pytest.mark.slow

ANSWERS = int(os.environ.get("YOUTHVOICE_RELEASE_RACE_ANSWERS", "1200"))
CLIENTS = 20
ROOT = Path(__file__).resolve().parents[2]


class ReleaseLoop:
    """The release process, started again whenever it dies; `kills` SIGKILLs it at random moments."""

    def __init__(self, settings, kills: bool):
        self.settings, self.kills = settings, kills
        self.stop = threading.Event()
        self.releases = self.killed = 0
        self.running = threading.Event()
        self.failure: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        return subprocess.Popen([sys.executable, "-m", "tests.reliability.release_loop", self.settings.database_url,
                                 "600"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def _count(self, proc: subprocess.Popen, started: threading.Event) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("released"):
                self.releases += 1
                started.set()

    def _run(self) -> None:
        rnd = random.Random(3)
        while not self.stop.is_set():
            proc = self._spawn()
            started = threading.Event()
            reader = threading.Thread(target=self._count, args=(proc, started), daemon=True)
            reader.start()
            # Killed at a random moment once it is releasing (not while Python is still starting).
            started.wait(60)
            self.running.set()
            deadline = time.monotonic() + (rnd.uniform(0.05, 1.5) if self.kills else 1e9)
            while not self.stop.is_set() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)
            if proc.poll() is None:
                killing = self.kills and not self.stop.is_set()
                proc.send_signal(signal.SIGKILL if killing else signal.SIGTERM)
                self.killed += killing
            proc.wait(30)
            reader.join(5)
            if proc.returncode not in (-signal.SIGKILL, -signal.SIGTERM):
                self.failure = (proc.stderr.read() if proc.stderr else "")[-3000:] or str(proc.returncode)
                return

    def __enter__(self):
        self.thread.start()
        assert self.running.wait(90), "the release process did not start"
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)
        assert self.failure is None, self.failure


@pytest.mark.parametrize("kills", [False, True], ids=["releases", "releases-killed"])
def test_answers_acknowledged_during_releases_are_stored_exactly_once(world, settings, tmp_path, kills):
    workers = 3 if settings.database_url.startswith("postgresql") else 2
    server = LiveServer(settings, tmp_path / "var", workers=workers)
    server.var_dir.mkdir()
    server.start()
    try:
        survey, codes = make_survey(server.url, world.auth("fac_a"), ANSWERS)
        jobs = plan(codes, ANSWERS, seed=29 + kills)
        t0 = time.monotonic()
        with ReleaseLoop(settings, kills) as loop:
            asyncio.run(drive(server.url, survey["slug"], jobs, clients=CLIENTS, retry_cut=True))
        elapsed = time.monotonic() - t0
        released = raw_rows(settings, f"SELECT count(*) AS n FROM response WHERE survey_id = {int(survey['id'])}")[0]["n"]
        figures = check_ledger(settings, survey, jobs, cuts_allowed=True)  # exactly once, then the last release
    finally:
        server.stop()
    assert figures["acknowledged"] >= ANSWERS * 0.8, figures
    # Not vacuous: releases ran during the answering and moved answers while others arrived.
    assert loop.releases >= 5 and released > 0, (loop.releases, released)
    if kills:
        assert loop.killed >= 2, loop.killed
    print(f"\nRELEASE RACE {settings.database_url.split(':')[0]} ({workers} workers, kills={kills}): "
          f"{figures['acknowledged']} acknowledged, {figures['lost']} lost, {loop.releases} releases, "
          f"{loop.killed} release kills, {released} released during the run, {elapsed:.1f}s")
