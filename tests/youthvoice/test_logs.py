"""The service's own logs put no moment next to a young person (issue 16.3): a real `youthvoice serve`
process writes no line for a youth path (/s/, /r/, /w/, /u/, /api/public/, /static/), and no line it
writes carries a time finer than the day. Staff requests are still logged, stamped with the day."""

from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import published_survey
from tests.reliability.server import LiveServer
from tests.survey.formwalk import answer_all
from tests.workshops.helpers import join, workshop
from youthvoice.security import YOUTH_PATHS

# A time of day in any usual spelling: 17:41, 17:41:05, 17.41.05, T17:41, 17h41
TIME_OF_DAY = re.compile(r"(?<![\d.])([01]\d|2[0-3])[:.h][0-5]\d(?![\d])|T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}")


@pytest.mark.slow  # a real server process
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_real_server_logs_no_youth_path_and_no_time_of_day(settings, world, tmp_path):
    var = tmp_path / "srv"
    var.mkdir()
    live = LiveServer(settings, var)
    live.start()
    try:
        with httpx.Client(base_url=live.url, timeout=30) as c:
            s = published_survey(c, world, access="code")
            codes = c.post(f"/api/surveys/{s['id']}/codes", json={"count": 3}, headers=world.auth("fac_a")).json()["codes"]
            # a young person: the QR link, every screen of the form, the thanks page
            thanks = answer_all(c, s["slug"], {"q_found_useful": "5", "q_gender": "woman"}, start=f"?code={codes[0]}")
            if thanks.status_code == 303:  # Send is answered with a redirect to the thank-you page's own address
                thanks = c.get(thanks.headers["location"])
            assert thanks.status_code == 200 and "Tack" in thanks.text
            # the same code again (refused at open), an unknown one, the JSON API, results, static files
            assert c.get(f"/s/{s['slug']}?code={codes[0]}").status_code == 409
            assert c.get(f"/s/{s['slug']}?code=ACDE-FGHK").status_code == 409
            r = c.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": {"found_useful": 4},
                                                                          "code": codes[1]})
            assert r.status_code == 201
            assert c.get(f"/r/{s['slug']}").status_code == 200
            assert c.get("/static/style.css").status_code == 200
            assert c.get("/s/no-such-survey").status_code == 404
            # a workshop room on a phone
            ws = workshop(c, world)
            join(c, ws["code"], nickname="Kim")
            assert c.get(f"/w/{ws['code']}").status_code == 200
            assert c.get("/u/nope").status_code in (200, 303, 404)
            # staff
            assert c.get("/login").status_code == 200
    finally:
        live.stop()
    lines = [ln for ln in live.log().splitlines() if ln.strip()]
    assert lines, "the server wrote nothing at all"
    youth = [ln for ln in lines if any(p in ln for p in YOUTH_PATHS)]
    assert youth == []
    timed = [ln for ln in lines if TIME_OF_DAY.search(ln)]
    assert timed == []
    # staff requests are logged, with the day and no address
    today = dt.date.today().isoformat()
    access = [ln for ln in lines if " youthvoice.access " in ln]
    assert any(ln.startswith(f"{today} INFO youthvoice.access POST /api/surveys 201") for ln in access), lines
    assert any("GET /login 200" in ln for ln in access)
    assert not [ln for ln in lines if "127.0.0.1" in ln and "youthvoice.access" in ln]
    # the files the server wrote beside the database are its own
    db = Path(make_url(settings.database_url).database)
    for p in [db, *db.parent.glob(db.name + "-*")]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_the_time_pattern_catches_times():
    """The check above can fail: the pattern finds the stamps a default logging format writes."""
    for stamped in ("2026-12-01 17:41:05,123 INFO youthvoice.access GET /s/x 200",
                    "INFO:     127.0.0.1:53412 - \"GET /s/x HTTP/1.1\" 200 at 09:05",
                    "2026-12-01T17:41:05Z x"):
        assert TIME_OF_DAY.search(stamped), stamped
    for clean in ("2026-12-01 INFO youthvoice.access GET /surveys 200 3.1ms",
                  "INFO uvicorn.error Uvicorn running on http://127.0.0.1:53412 (Press CTRL+C to quit)"):
        assert not TIME_OF_DAY.search(clean), clean
