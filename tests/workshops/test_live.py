"""Live updates across app workers: two servers on one database, like
`youthvoice serve --workers 2`. A phone streaming from one worker gets the
change made through the other (the stream polls a change counter in the database)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from workshops import live
from youthvoice.app import create_app

pytestmark = pytest.mark.slow  # heavy: `make test-fast` leaves it out, `make test` runs it


@contextmanager
def worker(settings):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _events(response, out: list, stop: threading.Event):
    event = None
    try:
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "change":
                out.append(int(line[5:].strip()))
    except httpx.HTTPError:
        pass


def _wait(cond, seconds=8.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_a_second_client_on_another_worker_gets_the_update(world, settings, monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.2)
    with worker(settings) as one, worker(settings) as two:
        staff = httpx.Client(base_url=one, headers=world.auth("fac_a"))
        ws = staff.post("/api/workshops", json={"unit": "unit-a", "title": "Live", "date": "2026-10-12",
                                                "place": "Biblioteket", "neutral_place": True}).json()
        code = ws["code"]
        seen: list[int] = []
        stop = threading.Event()
        with httpx.Client(base_url=one, timeout=httpx.Timeout(10, read=30)) as phone_a, \
                phone_a.stream("GET", f"/w/{code}/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = threading.Thread(target=_events, args=(stream, seen, stop), daemon=True)
            reader.start()
            assert _wait(lambda: len(seen) >= 1), "no first event"
            first = seen[-1]
            # phone B talks to the other worker
            with httpx.Client(base_url=two) as phone_b:
                token = phone_b.post(f"/api/public/workshops/{code}/participants", json={}).json()["participant_token"]
                r = phone_b.post(f"/api/public/workshops/{code}/statements", json={"text": "Hej från worker två"},
                                 headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 201
            assert _wait(lambda: seen and seen[-1] > first), f"no update arrived: {seen}"
            # what the update points to: the room shows the new statement through worker one
            statements = staff.get(f"/api/workshops/{ws['id']}/statements").json()
            assert [s["text"] for s in statements] == ["Hej från worker två"]
            stop.set()
        staff.close()
