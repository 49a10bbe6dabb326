"""Stopping `youthvoice publish` stops its release (issue 25, item 7): SIGTERM or Ctrl-C to the
command leaves no process behind that goes on to make the release.

The release is held at a write lock that the test keeps on the database, so that it is certainly
under way (and not yet done) when the signal comes. Signals and processes do not depend on the
database, so this runs on SQLite only."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from youthvoice.migrate import upgrade

EXE = Path(sys.executable).with_name("youthvoice")


def session_members(sid: int) -> list[int]:
    """Processes in the session the command was started in (it and anything it started)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, session, ...
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# Ctrl-C stopped the child before too (subprocess.run kills it on KeyboardInterrupt): slow, a guard only.
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])
def test_stopping_publish_stops_its_release(tmp_path, sig):
    db = tmp_path / "yv.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # every write of the release now waits for this
    env = {**os.environ, "YOUTHVOICE_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "YOUTHVOICE_VAR_DIR": str(tmp_path)}
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "youthvoice.cli"]
    proc = subprocess.Popen([*cmd, "publish"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Under way: the release code is running (as the command itself or as a child of it) ...
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("analysis.publish" in cmdline(p)
                                                      for p in session_members(proc.pid)):
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
        assert any("analysis.publish" in cmdline(p) for p in session_members(proc.pid))
        time.sleep(1.5)  # ... and past its imports, waiting for the lock to write the release
        assert proc.poll() is None, proc.stdout.read()

        os.kill(proc.pid, sig)  # only the command, as a supervisor or Ctrl-C in a terminal would
        proc.wait(10)
        deadline = time.monotonic() + 3
        while session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = session_members(proc.pid)
        assert not left, f"still running after the command stopped: {[cmdline(p) for p in left]}"
    finally:
        for pid in session_members(proc.pid):  # only what this test started
            os.kill(pid, signal.SIGKILL)
        lock.execute("ROLLBACK")
    time.sleep(0.5)
    releases = sqlite3.connect(db).execute("SELECT count(*) FROM release").fetchone()[0]
    assert releases == 0, "the release was made after publish was stopped"
