"""One transaction per request, and errors in the format of the page that caused them (issue 14)."""

from __future__ import annotations

import datetime as dt

from litestar import post
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import published_survey, raw_rows
from tests.youthvoice.test_auth import csrf_of, login
from workshops import service as workshops
from workshops.schemas import WorkshopDef
from youthvoice.app import create_app
from youthvoice.auth import Scope
from youthvoice.errors import FieldError


def test_a_bad_value_on_an_html_staff_form_comes_back_as_html_naming_the_field(client, world, settings):
    s = published_survey(client, world)
    login(client, world.emails["fac_a"])
    page = client.get(f"/surveys/{s['id']}")
    for bad in ("²", "abc", "5000", ""):
        r = client.post(f"/surveys/{s['id']}/codes", data={"_csrf": csrf_of(page.text), "count": bad})
        assert r.status_code == 422, (bad, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
        assert "count" in r.text and "Skriv ett tal från 1 till 300" in r.text, bad  # Swedish, the page's language
        assert 'href="/logout"' in r.text or "/logout" in r.text  # the staff menu, not the youth layout
    assert raw_rows(settings, "select count(*) as n from survey_code")[0]["n"] == 0


def test_a_failure_in_the_second_service_call_leaves_nothing_of_the_first(settings, world):
    @post("/test/two-steps", status_code=201)
    async def two_steps(staff: Scope, db: AsyncSession) -> dict:
        unit = staff.unit("unit-a")
        await workshops.create_workshop(db, unit, WorkshopDef(unit="unit-a", title="Första", date=dt.date(2026, 10, 1),
                                                              place="Biblioteket", neutral_place=True), staff.user)
        raise FieldError("title", "the second step refuses")

    app = create_app(settings)
    app.register(two_steps)
    with TestClient(app) as c:
        r = c.post("/test/two-steps", headers=world.auth("fac_a"))
        assert r.status_code == 422 and "title" in r.text
        ok = c.post("/api/workshops", headers=world.auth("fac_a"), json={
            "unit": "unit-a", "title": "Andra", "date": "2026-10-02", "place": "Biblioteket", "neutral_place": True})
        assert ok.status_code == 201
    titles = [r["title"] for r in raw_rows(settings, "select title from workshop")]
    assert titles == ["Andra"]  # the first call's workshop was rolled back with the request
