"""Unit names in the youth pages' languages (issue 20.3): `youthvoice unit create --name-in` and
`youthvoice unit names` store them; the unit's public page shows the name in the page's language,
the Swedish name where none is given; a wrong language is refused and changes nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from litestar.testing import TestClient

from youthvoice.app import create_app
from youthvoice.cli import main
from youthvoice.config import Settings


@dataclass
class Ran:
    returncode: int
    stderr: str


def _cli(tmp_path: Path, monkeypatch, capsys, *args: str) -> Ran:
    """`youthvoice ARGS` as a deployer types it, run in this process (a new interpreter per
    command costs seconds; tests/reliability/test_operations.py runs the command itself)."""
    monkeypatch.setenv("YOUTHVOICE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'yv.db'}")
    monkeypatch.setenv("YOUTHVOICE_SECRET_KEY", "unit-names-test")
    monkeypatch.setenv("YOUTHVOICE_VAR_DIR", str(tmp_path))
    umask = os.umask(0o077)  # main() sets the service's umask; give the test process its own back
    code, message = 0, ""
    try:
        main(list(args))
    except SystemExit as e:  # as the interpreter would: a text goes to stderr with status 1
        code, message = (e.code, "") if isinstance(e.code, int) else (1, str(e.code))
    finally:
        os.umask(umask)
    return Ran(code, capsys.readouterr().err + message)


def test_a_unit_has_its_name_in_each_language_the_young_people_read(tmp_path, monkeypatch, capsys):
    assert _cli(tmp_path, monkeypatch, capsys, "migrate").returncode == 0
    made = _cli(tmp_path, monkeypatch, capsys, "unit", "create", "ung-alingsas", "--name", "Ung i Alingsås",
                "--name-in", "ar=شباب في ألينغسوس")
    assert made.returncode == 0, made.stderr
    wrong = _cli(tmp_path, monkeypatch, capsys, "unit", "names", "ung-alingsas", "--name-in", "xx=Nope")
    assert wrong.returncode != 0 and "name-in" in wrong.stderr
    assert _cli(tmp_path, monkeypatch, capsys, "unit", "names", "ung-alingsas", "--name-in", "uk=Молодь в Алінгсосі").returncode == 0
    settings = Settings.from_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'yv.db'}",
                                 secret_key="unit-names-test", var_dir=tmp_path, allowed_hosts=("testserver.local",))
    with TestClient(create_app(settings)) as c:
        pages = {lang: c.get(f"/u/ung-alingsas?lang={lang}").text for lang in ("sv", "ar", "uk", "so")}
    assert "Ung i Alingsås" in pages["sv"] and "Ung i Alingsås" in pages["so"]  # no Somali name: the Swedish one
    assert "شباب في ألينغسوس" in pages["ar"] and "Ung i Alingsås" not in pages["ar"].split("<main", 1)[1]
    assert "Молодь в Алінгсосі" in pages["uk"] and "xx" not in pages["uk"]
