"""Every row of every table, to prove that a request changed nothing (or a restore everything)."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from tests.conftest import run_db


def snapshot(settings, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    async def go(db):
        names = await db.run_sync(lambda s: inspect(s.connection()).get_table_names())
        out = {}
        for name in sorted(set(names) - set(skip)):
            rows = (await db.execute(text(f'SELECT * FROM "{name}"'))).all()
            out[name] = sorted(json.dumps([str(v) for v in r]) for r in rows)
        return out

    return run_db(settings, go)
