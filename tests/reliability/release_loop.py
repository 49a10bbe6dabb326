"""`python -m tests.reliability.release_loop URL SECONDS`: releases the waiting answers again and
again for SECONDS (each a transaction of its own, as `youthvoice publish` makes it), printing one
line per release. The concurrency test runs it beside answering phones, and kills it at random."""

from __future__ import annotations

import asyncio
import random
import sys
import time

import youthvoice.models  # noqa: F401  (the tables the answers refer to, as in `youthvoice publish`)
from survey.store import release_intake
from youthvoice.db import make_engine, make_sessionmaker


async def loop(url: str, seconds: float) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            async with sessions() as db:
                touched = await release_intake(db)
                await db.commit()
            print(f"released {len(touched)}", flush=True)
            await asyncio.sleep(random.uniform(0.05, 0.4))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(loop(sys.argv[1], float(sys.argv[2])))
