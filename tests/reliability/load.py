"""Drives a live server with many concurrent anonymous submissions and keeps a
ledger of what was acknowledged, refused or left in doubt (connection cut)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import httpx

from tests.conftest import survey_def

MARK = "fritext-"  # free-text marker: must reach the database, never the log


@dataclass
class Job:
    n: int
    code: str
    valid: bool = True
    outcomes: list = field(default_factory=list)  # (status or "cut", receipt or None)
    errors: list = field(default_factory=list)

    def answers(self) -> dict:
        rnd = random.Random(self.n)
        return {"closer_to_labour_market": rnd.choice([1, 2, 3, 4, 5, None]) if self.valid else 9,
                "found_useful": rnd.randint(1, 5),
                "gender": rnd.choice(["woman", "man", "non_binary", "undisclosed"]),
                "age_band": rnd.choice(["16-19", "20-24"]),
                "comment": f"{MARK}{self.n} <script>alert(1)</script>"}

    @property
    def receipts(self) -> list[str]:
        return [r for s, r in self.outcomes if s == 201]


def make_survey(base: str, auth: dict, codes_needed: int) -> tuple[dict, list[str]]:
    with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
        r = c.post("/api/surveys", json=survey_def(access="code"))
        assert r.status_code == 201, r.text
        survey = r.json()
        assert c.post(f"/api/surveys/{survey['id']}/publish").status_code == 200
        codes: list[str] = []
        while len(codes) < codes_needed:
            r = c.post(f"/api/surveys/{survey['id']}/codes", json={"count": min(2000, codes_needed - len(codes))})
            assert r.status_code == 201, r.text
            codes += r.json()["codes"]
    return survey, codes


def plan(codes: list[str], total: int, seed: int = 7) -> list[Job]:
    """~85 % fresh codes, ~10 % a code another job also sends (only one may win),
    ~5 % invalid answers on a code of their own (must be refused, code stays unused)."""
    rnd = random.Random(seed)
    jobs: list[Job] = []
    pool = iter(codes)
    for n in range(total):
        roll = rnd.random()
        if roll < 0.10 and jobs:
            jobs.append(Job(n, rnd.choice(jobs).code if rnd.random() < 0.5 else jobs[-1].code))
        elif roll < 0.15:
            jobs.append(Job(n, next(pool), valid=False))
        else:
            jobs.append(Job(n, next(pool)))
    rnd.shuffle(jobs)
    return jobs


async def drive(base: str, slug: str, jobs: list[Job], clients: int = 100, retry_cut: bool = False,
                on_done=None) -> None:
    """`clients` concurrent workers. A cut connection is recorded; with `retry_cut`
    the same answer is sent again (as a young person would press again)."""
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for j in jobs:
        queue.put_nowait(j)
    # Keep-alive shorter than the server's (uvicorn: 5 s), so the client never reuses a
    # connection the server is closing at that very moment.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        async def worker():
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                for attempt in range(200):
                    try:
                        r = await http.post(f"/api/public/surveys/{slug}/responses",
                                            json={"code": job.code, "answers": job.answers(), "language": "sv"})
                    except httpx.TransportError as e:
                        job.outcomes.append(("cut", None))
                        job.errors.append(type(e).__name__)
                        if not retry_cut:
                            break
                        await asyncio.sleep(0.5)
                        continue
                    job.outcomes.append((r.status_code, r.json().get("receipt") if r.status_code == 201 else None))
                    break
                if on_done:
                    await on_done()

        await asyncio.gather(*(worker() for _ in range(clients)))
