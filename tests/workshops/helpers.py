from __future__ import annotations


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
