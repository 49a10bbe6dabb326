"""A real `youthvoice serve` process on loopback, its start time and its memory."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .load import build_request, fetch

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict[str, str], *args: str, stdin: str | None = None, show: bool = False) -> str:
    """Runs the installed `youthvoice` command; returns stdout."""
    proc = subprocess.run([str(BIN / "youthvoice"), *args], env=env, cwd=ROOT, input=stdin, text=True,
                          stdout=subprocess.PIPE, stderr=None if show else subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"youthvoice {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr or ''}")
    return proc.stdout


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def tree_rss_kb(pid: int) -> int:
    """VmRSS of a process and all its descendants (uvicorn workers included), in kB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(p)
    return total


class RssSampler:
    """Samples the server's RSS every 50 ms in a thread; `.peak` in kB."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_kb(self.pid))
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_kb(self.pid))


class Server:
    """`youthvoice serve` exactly as a user runs it; `started_in` is seconds until /healthz answered 200."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1):
        self.env = env
        self.port = free_port()
        self.log = log
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.started_in = float("nan")

    def __enter__(self):
        logf = open(self.log, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(BIN / "youthvoice"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, cwd=ROOT, stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        req = build_request("GET", "/healthz", "127.0.0.1", self.port)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if asyncio.run(fetch("127.0.0.1", self.port, req)).status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"server did not answer within 60 s; see {self.log}")
            time.sleep(0.01)
        self.started_in = time.perf_counter() - t0
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
