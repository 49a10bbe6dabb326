"""`python -m analysis.publish [--today YYYY-MM-DD]`: makes the releases due now under the release
calendar (analysis/calendar.py): those of the latest release day not yet made, each moving a
survey's waiting answers only in a batch of at least B, and final figures for closed periods.

`youthvoice publish` and the server's schedule run this in its own process, so that the
statistics' libraries (numpy, scipy) and the CPU a release takes stay out of the processes that
answer requests (and out of `youthvoice serve`'s workers, which must start fast).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from survey.sealing import bind as seal_with
from youthvoice.config import Settings
from youthvoice.db import make_engine, make_sessionmaker

from .release import publish_due


async def publish_now(settings: Settings, day: dt.date | None = None) -> list[str]:
    """Makes the releases due on `day` (default today); returns their keys."""
    engine = make_engine(settings.database_url)
    seal_with(engine, settings.secret_key)  # the release opens the waiting answers (survey/sealing.py)
    try:
        return await publish_due(engine, make_sessionmaker(engine), settings.min_cell, day)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="youthvoice publish")
    p.add_argument("--today", help=argparse.SUPPRESS)  # YYYY-MM-DD, for tests
    args = p.parse_args(argv)
    day = dt.date.fromisoformat(args.today) if args.today else None
    made = asyncio.run(publish_now(Settings.from_env(), day))
    for key in made:
        print(f"published {key}")
    if not made:
        print("Nothing was due: the releases of the latest release day are made, and no batch of at least B "
              "answers waits for a closed survey (analysis/calendar.py).")


if __name__ == "__main__":
    main()
