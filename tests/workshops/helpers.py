from __future__ import annotations

import datetime as dt

from workshops import close, feedback, service, subscriptions

# The workshop modules that ask the clock what day it is (each imports youthvoice.clock.today).
DATED = (service, close, feedback, subscriptions)


def workshop(client, world, who="fac_a", unit="unit-a", **kw) -> dict:
    body = {"unit": unit, "title": "Vad behöver unga i Alingsås?", "date": "2026-10-12",
            "place": "Biblioteket, Alingsås", "neutral_place": True, "themes": ["Jobb", "Skola", "Fritid"]}
    body.update(kw)
    r = client.post("/api/workshops", json=body, headers=world.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def join(client, code, nickname=None) -> dict[str, str]:
    r = client.post(f"/api/public/workshops/{code}/participants", json={"nickname": nickname} if nickname else {})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['participant_token']}"}


def write(client, code, who, text) -> str:
    r = client.post(f"/api/public/workshops/{code}/statements", json={"text": text}, headers=who)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def vote(client, code, who, sid, v) -> None:
    r = client.post(f"/api/public/workshops/{code}/statements/{sid}/vote", json={"vote": v}, headers=who)
    assert r.status_code == 200, r.text


def on_day(monkeypatch, day: dt.date) -> None:
    """The workshop logic believes it is `day` (the pages keep the real date)."""
    for module in DATED:
        monkeypatch.setattr(module, "today", lambda: day)
