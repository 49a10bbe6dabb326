"""The app's own route table, turned into requests: which routes exist, which are
public (an explicit allow-list), and how to fill their path parameters with real
objects of unit-a so that a check reaches the handler's own scope test."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from litestar import Litestar

# Public routes: young people's and anonymous pages. Anything NOT listed here must
# refuse an anonymous caller (401 / redirect to /login / 403). Adding a public route
# means adding it here, on purpose.
PUBLIC = [
    r"^/login$", r"^/healthz$", r"^/tillganglighet$", r"^/integritet$",
    r"^/s/\{slug:str\}$", r"^/s/\{slug:str\}/thanks$", r"^/r/\{slug:str\}$", r"^/u/\{slug:str\}$",
    r"^/w$", r"^/w/\{code:str\}(/.*)?$",
    r"^/api/public/",
    r"^/static/", r"^/schema",
]
# Endpoints that never end (server-sent events): not crawled with a plain GET.
STREAMING = [r"/events$"]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MARK = "HEMLIGT-A"  # in unit-a's survey, workshop and statement: must never reach another unit


def is_public(path: str) -> bool:
    return any(re.search(p, path) for p in PUBLIC)


def is_streaming(path: str) -> bool:
    return any(re.search(p, path) for p in STREAMING)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # litestar template, e.g. /api/surveys/{survey_id:int}

    @property
    def html(self) -> bool:
        return not self.path.startswith(("/api/", "/schema"))

    @property
    def unsafe(self) -> bool:
        return self.method in UNSAFE

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)(?::\w+)?\}", self.path)


def route_table(app: Litestar) -> list[Route]:
    out = set()
    for r in app.routes:
        for h in getattr(r, "route_handlers", []):
            for m in h.http_methods:
                if m not in ("OPTIONS", "HEAD"):
                    out.add(Route(m, r.path))
    return sorted(out, key=lambda r: (r.path, r.method))


@dataclass
class Objects:
    """Real objects in unit-a, made through the API."""

    survey_id: int = 0
    slug: str = ""
    workshop_id: int = 0
    code: str = ""
    sid: str = ""
    participant: dict = field(default_factory=dict)
    other_code: str = ""

    def fill(self, route: Route) -> str:
        values = {"survey_id": self.survey_id, "workshop_id": self.workshop_id, "sid": self.sid,
                  "key": "comment", "unit": "unit-a", "code": self.code,
                  # an agreement's slug where the path names an agreement (unit-a is in agr-a), else the survey's
                  "slug": "agr-a" if route.path.startswith("/api/agreements/") else self.slug,
                  "action": "review" if route.path.startswith("/workshops/") else "support",
                  "file_path": "style.css", "path": "openapi.json"}

        def one(m: re.Match) -> str:
            name = m.group(1)
            # an unknown parameter: a number is the likeliest id; the anonymous check still holds
            return str(values.get(name, 1))

        return re.sub(r"\{(\w+)(?::\w+)?\}", one, route.path)


def make_objects(client, world) -> Objects:
    from tests.conftest import survey_def

    auth = world.auth("fac_a")
    d = survey_def(access="code")
    d["title"] = {"sv": f"{MARK} enkät", "en": f"{MARK} survey"}
    r = client.post("/api/surveys", json=d, headers=auth)
    assert r.status_code == 201, r.text
    o = Objects(survey_id=r.json()["id"], slug=r.json()["slug"])
    assert client.post(f"/api/surveys/{o.survey_id}/publish", headers=auth).status_code == 200
    ws = {"unit": "unit-a", "title": f"{MARK} workshop", "date": "2026-10-12", "place": "Biblioteket",
          "neutral_place": True}
    r = client.post("/api/workshops", json=ws, headers=auth)
    if r.status_code == 201:  # the workshop domain exists
        o.workshop_id, o.code = r.json()["id"], r.json()["code"]
        r = client.post(f"/api/public/workshops/{o.code}/participants", json={})
        o.participant = {"Authorization": f"Bearer {r.json()['participant_token']}"}
        r = client.post(f"/api/public/workshops/{o.code}/statements", json={"text": f"{MARK} <script>alert(1)</script>"},
                        headers=o.participant)
        assert r.status_code == 201, r.text
        o.sid = r.json()["id"]
        r = client.post("/api/workshops", json={**ws, "title": "other"}, headers=auth)
        o.other_code = r.json()["code"]
    return o


# Valid bodies for JSON routes, so an "other unit" call passes validation and meets the scope check.
def json_body(route: Route, o: Objects) -> dict:
    p = route.path
    if p == "/api/surveys":
        from tests.conftest import survey_def

        return survey_def(unit="unit-a")
    if p.startswith("/api/surveys/") and route.method == "PUT":
        from tests.conftest import survey_def

        return survey_def(unit="unit-a")
    if p.endswith("/codes"):
        return {"count": 2}
    if p == "/api/workshops":
        return {"unit": "unit-a", "title": "x", "date": "2026-10-12", "place": "y", "neutral_place": True}
    if p.endswith("/statements") or "/statements/{sid" in p and route.method == "PUT":
        return {"text": "ny formulering"}
    if p.endswith("/composition"):
        return {}
    if p.endswith("/response"):
        return {"status": "received", "text": "Vi har tagit emot det."}
    if p == "/api/exits":
        return {"unit": "unit-a", "month": "2026-09", "outcome": "work", "gender": "woman", "age_band": "16-19"}
    return {"unit": "unit-a"}


def form_body(route: Route, csrf: str) -> dict:
    return {"_csrf": csrf, "unit": "unit-a", "text": "x", "title": "x", "confirm": "yes", "status": "received",
            "month": "2026-09", "outcome": "work", "gender": "woman", "age_band": "16-19", "count": "2"}


def body_text(r) -> str:
    """Response text, with xlsx/zip bodies unpacked."""
    if r.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return r.text
