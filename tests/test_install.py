"""`pip install .` (not editable) into a fresh virtualenv gives a `youthvoice` command that works from any
directory: templates, static files, translations and every domain's migrations ship in the wheel."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_wheel_installed_elsewhere_migrates_loads_the_demo_and_serves(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The dependencies come from the project's own environment (no download); the project itself is
    # built and installed as a wheel, so nothing is read from the checkout.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)], check=True, cwd=tmp_path)
    installed = Path(site)
    assert (installed / "youthvoice" / "templates" / "base.html").is_file()
    assert list((installed / "survey" / "migrations").glob("survey_*.py"))

    run = tmp_path / "elsewhere"
    run.mkdir()
    env = {**os.environ, "YOUTHVOICE_DATABASE_URL": f"sqlite+aiosqlite:///{run / 'db.sqlite'}",
           "YOUTHVOICE_SECRET_KEY": "install-test-key", "PYTHONPATH": ""}
    exe = venv / "bin" / "youthvoice"
    demo = subprocess.run([str(exe), "demo"], cwd=run, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr
    email, password = re.search(r"process_leader\s+(\S+)\s+(\S+)", demo.stdout).groups()

    port = free_port()
    server = subprocess.Popen([str(exe), "serve", "--port", str(port)], cwd=run, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=10) as c:
            import sqlite3

            slug = sqlite3.connect(run / "db.sqlite").execute("select slug from survey").fetchone()[0]
            page = c.get(f"/s/{slug}")
            assert page.status_code == 200 and 'lang="sv"' in page.text
            assert c.get("/static/style.css").status_code == 200
            login = c.get("/login")
            token = re.search(r'name="_form" value="([^"]+)"', login.text).group(1)
            c.post("/login", data={"_form": token, "email": email, "password": password, "next": "/analysis"})
            dash = c.get("/analysis")
            assert dash.status_code == 200 and "Effektmål" in dash.text
    finally:
        server.terminate()
        server.wait(timeout=20)
