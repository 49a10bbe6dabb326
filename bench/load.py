"""A small bounded HTTP/1.1 load generator on asyncio streams, loopback only.

Keep-alive connections, pre-built requests, minimal response parsing, so that the
client spends as little of the machine as possible. Bounded by a request count
and a time limit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    wire_bytes: int


@dataclass
class LoadResult:
    requests: int = 0
    elapsed: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def build_request(method: str, path: str, host: str, port: int, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    wire = len(head)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
        wire += len(body)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            wire += len(size_line)
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            wire += len(chunk)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = b""
    return Reply(status, headers, body, wire)


async def fetch(host: str, port: int, request: bytes) -> Reply:
    """One request on its own connection."""
    assert host in LOOPBACK, "the load generator only talks to loopback"
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_reply(reader)
    finally:
        writer.close()


async def run_load(host: str, port: int, make_request: Callable[[int], bytes], *, total: int,
                   concurrency: int = 50, time_limit: float = 30.0,
                   on_reply: Callable[[int, Reply], None] | None = None) -> LoadResult:
    """Sends `total` requests over `concurrency` keep-alive connections, at most `time_limit` seconds."""
    assert host in LOOPBACK, "the load generator only talks to loopback"
    result = LoadResult()
    counter = iter(range(total))
    start = time.perf_counter()
    deadline = start + time_limit

    async def worker() -> None:
        reader = writer = None
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    break
                req = make_request(i)
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                t0 = time.perf_counter()
                try:
                    writer.write(req)
                    reply = await read_reply(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    result.errors += 1
                    writer.close()
                    reader = writer = None
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[reply.status] += 1
                result.requests += 1
                if on_reply:
                    on_reply(i, reply)
                if reply.headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    return result
