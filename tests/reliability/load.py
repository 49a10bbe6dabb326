"""Drives a live server with many concurrent anonymous submissions and keeps a
ledger of what was acknowledged, refused or left in doubt (connection cut)."""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

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


def make_survey(base: str, auth: dict, codes_needed: int, access: str = "code") -> tuple[dict, list[str]]:
    with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
        r = c.post("/api/surveys", json=survey_def(access=access))
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


# ---------- many workers, both surveys, both ways of answering (issue 16: kill -9 under load) ----------

FORM_TOKEN = re.compile(r'name="_form" value="([^"]+)"')
SUCCESS = (201, 303)  # the JSON receipt, the form's redirect to the thank-you page


@dataclass
class Answer:
    """One young person's answer: over the JSON API or the HTML form, to the code or the open survey.
    A form is fetched once and the very same form is sent again after a cut connection (a phone's
    browser resends the POST); `taps=2` sends it twice at once (a double tap, to two workers)."""

    n: int
    slug: str
    via: str  # "json" | "form"
    code: str = ""  # "" on the open survey
    valid: bool = True
    taps: int = 1
    outcomes: list = field(default_factory=list)  # (status or "cut", detail)
    errors: list = field(default_factory=list)
    token: str | None = None

    def answers(self) -> dict:
        return Job(self.n, self.code, self.valid).answers()

    def form(self) -> dict:
        a = self.answers()
        closer = a["closer_to_labour_market"]
        body = {"_form": self.token, "_go": "send", "q_found_useful": str(a["found_useful"]),
                "q_closer_to_labour_market": "dk" if closer is None else str(closer),
                "q_gender": a["gender"], "q_age_band": a["age_band"], "q_comment": a["comment"]}
        if self.code:
            body["code"] = self.code
        return body

    @property
    def acked(self) -> int:
        """Responses that told the young person "thank you"."""
        return sum(1 for s, _ in self.outcomes if s in SUCCESS)

    @property
    def cut(self) -> bool:
        return any(s == "cut" for s, _ in self.outcomes)


def mixed_plan(code_slug: str, open_slug: str, codes: list[str], total: int, seed: int) -> list[Answer]:
    """Half to the code survey, half to the open one; a third of each through the HTML form. On the
    code survey ~10 % reuse a code another answer also sends (only one may win); everywhere ~5 % are
    invalid (refused, the code stays unused) and ~5 % of the forms are double taps."""
    rnd = random.Random(seed)
    pool = iter(codes)
    out: list[Answer] = []
    coded: list[Answer] = []
    for n in range(total):
        via = "form" if rnd.random() < 1 / 3 else "json"
        valid = rnd.random() >= 0.05
        taps = 2 if via == "form" and rnd.random() < 0.05 else 1
        if rnd.random() < 0.5:
            code = rnd.choice(coded).code if coded and valid and rnd.random() < 0.10 else next(pool)
            a = Answer(n, code_slug, via, code, valid, taps)
            coded.append(a)
        else:
            # JSON answers to an open survey carry nothing that makes a resend recognisable, so the
            # open survey is answered the way phones answer it: through the form.
            a = Answer(n, open_slug, "form", "", valid, taps)
        out.append(a)
    rnd.shuffle(out)
    return out


class Cut(Exception):
    """The connection failed or closed before a whole response came back: the phone cannot tell
    whether its answer arrived."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> dict:
        return json.loads(self.text)


async def request(base: str, method: str, path: str, body: bytes = b"", ctype: str = "",
                  timeout: float = 60) -> Reply:
    """One HTTP/1.1 request on a connection of its own (a phone that comes, answers and goes),
    written with asyncio streams: httpx's own CPU would take a fifth of this 2-CPU machine away
    from the servers under test. Anything but a complete response is a Cut."""
    host, _, port = base.removeprefix("http://").partition(":")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nAccept: */*\r\n"
    if body:
        head += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(head.encode() + b"\r\n" + body)
                raw = await reader.read()  # to the end: the server closes after its response
            finally:
                writer.close()
    except (OSError, TimeoutError) as e:
        raise Cut(type(e).__name__) from None
    top, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise Cut("no response" if not raw else "headers cut short")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", payload
        while True:
            size, _, rest = rest.partition(b"\r\n")
            if not size.strip():
                raise Cut("body cut short")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            if len(rest) < n + 2:
                raise Cut("body cut short")
            out, rest = out + rest[:n], rest[n + 2:]
        payload = out
    elif len(payload) != int(headers.get("content-length", len(payload))):
        raise Cut("body cut short")
    return Reply(int(lines[0].split()[1]), headers, payload.decode())


async def drive_many(bases: list[str], answers: list[Answer], clients: int = 100, on_done=None,
                     pause: tuple[float, float] = (0.5, 1.5)) -> dict[str, int]:
    """`clients` concurrent phones, each attempt sent to a worker picked at random (as a load
    balancer would); a cut connection is sent again after a pause (uniform in `pause` seconds: a
    young person pressing again), as often as it takes.
    Returns the requests sent and how many of them were cut (and so retried)."""
    queue: asyncio.Queue[Answer] = asyncio.Queue()
    for a in answers:
        queue.put_nowait(a)
    sent, cuts = [0], [0]

    async def attempt(method: str, path: str, a: Answer, body: bytes = b"", ctype: str = "") -> Reply:
        """One request, sent again after every cut; returns the response."""
        while True:
            sent[0] += 1
            try:
                r = await request(random.choice(bases), method, path, body, ctype)
                if r.status != 503:
                    return r
                # "Busy, try again in a moment": like a cut, the phone presses again (nothing is promised).
                raise Cut("503 busy")
            except Cut as e:
                cuts[0] += 1
                a.outcomes.append(("cut", None))
                a.errors.append(str(e))
                await asyncio.sleep(random.uniform(*pause))

    async def send(a: Answer) -> None:
        if a.via == "json":
            body = json.dumps({"code": a.code or None, "answers": a.answers(), "language": "sv"}).encode()
            r = await attempt("POST", f"/api/public/surveys/{a.slug}/responses", a, body, "application/json")
            a.outcomes.append((r.status, r.json().get("receipt") if r.status == 201 else r.text[:200]))
            return
        r = await attempt("POST", f"/s/{a.slug}", a, urlencode(a.form()).encode(),
                          "application/x-www-form-urlencoded")
        where = r.headers.get("location", "")
        if r.status == 303:
            assert where.startswith(f"/s/{a.slug}/thanks"), where
        a.outcomes.append((r.status, where or r.text[:200]))

    async def phone():
        while True:
            try:
                a = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if a.via == "form":
                page = await attempt("GET", f"/s/{a.slug}", a)
                assert page.status == 200, page.status
                a.token = FORM_TOKEN.search(page.text).group(1)
                a.outcomes = [o for o in a.outcomes if o[0] != "cut"]  # a cut page load sent no answer
            await asyncio.gather(*(send(a) for _ in range(a.taps)))
            if on_done:
                await on_done()

    await asyncio.gather(*(phone() for _ in range(clients)))
    return {"requests": sent[0], "retries": cuts[0]}
