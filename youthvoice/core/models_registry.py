"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

import importlib

from . import models  # noqa: F401

for _name in ("youthvoice.core.purge", "youthvoice.survey.models", "youthvoice.workshops.models", "youthvoice.analysis.models",
              "youthvoice.exports.models"):
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as e:
        if not _name.startswith(e.name or "?"):
            raise
