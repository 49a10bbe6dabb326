"""A real `youthvoice serve` process for reliability tests: free loopback port,
its own var dir, output captured to a log file we can read afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from youthvoice.config import Settings

EXE = Path(sys.executable).with_name("youthvoice")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings, var_dir: Path, workers: int = 1, **env: str):
        self.settings = settings
        self.workers = workers
        self.var_dir = var_dir
        self.port = free_port()
        self.log_path = var_dir / "server.log"
        self.env = {**os.environ,
                    "YOUTHVOICE_DATABASE_URL": settings.database_url,
                    "YOUTHVOICE_VAR_DIR": str(var_dir),
                    "YOUTHVOICE_SECRET_KEY": settings.secret_key,
                    "YOUTHVOICE_SUBMIT_RATE": "10000000",
                    "YOUTHVOICE_JOIN_BURST": "10000000",
                    "YOUTHVOICE_CODE_MISS_LIMIT": "10000000",
                    "YOUTHVOICE_CODE_CHECK_RATE": "10000000",  # the load comes from one address
                    "YOUTHVOICE_LOGIN_RATE": "10000000",
                    **env}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        cmd = [str(EXE) if EXE.exists() else sys.executable, *([] if EXE.exists() else ["-m", "youthvoice.cli"]),
               "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child, closed below)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        # One client for all the polls: each httpx.get() would build a client (and its TLS context)
        # anew, and a restart during a load test would take that CPU from the servers under test.
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"server did not come up in {timeout}s:\n{self.log()}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, like a power cut to the process."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
