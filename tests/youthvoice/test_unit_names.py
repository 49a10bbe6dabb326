"""Unit names in the youth pages' languages (issue 20.3): `youthvoice unit create --name-in` and
`youthvoice unit names` store them; the unit's public page shows the name in the page's language,
the Swedish name where none is given; a wrong language is refused and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from litestar.testing import TestClient

from youthvoice.app import create_app
from youthvoice.config import Settings

EXE = Path(sys.executable).with_name("youthvoice")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "YOUTHVOICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'yv.db'}",
           "YOUTHVOICE_SECRET_KEY": "unit-names-test", "YOUTHVOICE_VAR_DIR": str(tmp_path)}
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "youthvoice.cli"]
    return subprocess.run([*cmd, *args], check=False, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_a_unit_has_its_name_in_each_language_the_young_people_read(tmp_path):
    assert _cli(tmp_path, "migrate").returncode == 0
    made = _cli(tmp_path, "unit", "create", "ung-alingsas", "--name", "Ung i Alingsås",
                "--name-in", "ar=شباب في ألينغسوس")
    assert made.returncode == 0, made.stderr
    wrong = _cli(tmp_path, "unit", "names", "ung-alingsas", "--name-in", "xx=Nope")
    assert wrong.returncode != 0 and "name-in" in wrong.stderr
    assert _cli(tmp_path, "unit", "names", "ung-alingsas", "--name-in", "uk=Молодь в Алінгсосі").returncode == 0
    settings = Settings.from_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'yv.db'}",
                                 secret_key="unit-names-test", var_dir=tmp_path, allowed_hosts=("testserver.local",))
    with TestClient(create_app(settings)) as c:
        pages = {lang: c.get(f"/u/ung-alingsas?lang={lang}").text for lang in ("sv", "ar", "uk", "so")}
    assert "Ung i Alingsås" in pages["sv"] and "Ung i Alingsås" in pages["so"]  # no Somali name: the Swedish one
    assert "شباب في ألينغسوس" in pages["ar"] and "Ung i Alingsås" not in pages["ar"].split("<main", 1)[1]
    assert "Молодь в Алінгсосі" in pages["uk"] and "xx" not in pages["uk"]
