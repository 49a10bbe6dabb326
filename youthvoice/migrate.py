"""Alembic, driven from code so `youthvoice migrate` needs no alembic.ini."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from .app import MIGRATIONS as VERSION_DIRS  # the composition root knows each domain's folder

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(d) for d in VERSION_DIRS))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str) -> None:
    # "heads": each domain keeps its own branch of migrations (see migrations/README).
    command.upgrade(alembic_config(database_url), "heads")
