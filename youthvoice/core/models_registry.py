"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

import importlib
from types import ModuleType

from . import models  # noqa: F401


def import_optional(name: str) -> ModuleType | None:
    """The module, or None when it (or its package) does not exist: domains stay optional."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if name.startswith(e.name or "?"):
            return None
        raise


for _name in ("youthvoice.core.purge", "youthvoice.survey.models", "youthvoice.workshops.models",
              "youthvoice.analysis.models", "youthvoice.exports.models"):
    import_optional(_name)
