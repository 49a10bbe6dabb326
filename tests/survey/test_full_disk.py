"""Issue 25, item 6 (disk): a full disk answered 500 ("Något gick fel hos oss") and the phone's form lost
everything typed. Now it is a 503 with Retry-After, in the page's language, and the form comes back with
the answers in it; nothing is stored (a code stays unspent) and sending again later works."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from litestar.testing import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from tests.conftest import published_survey, raw_rows, run_db
from tests.youthvoice.test_auth import form_token
from youthvoice.app import create_app
from youthvoice.i18n import gettext

SAVE_FAILED = "We could not save this just now. What you wrote is still here: wait a minute and press the button again."
COMMENT = "Mer praktik på kvällarna, tack"


def _sql(settings, *statements: str) -> None:
    async def go(db):
        for s in statements:
            await db.execute(text(s))
        await db.commit()

    run_db(settings, go)


@contextlib.contextmanager
def full_disk(settings, table: str, at_commit: bool = False) -> Iterator[None]:
    """While open, every insert into `table` fails the way a full disk makes it fail, raised by the
    database itself. SQLite: connections opened now may not grow the file (`PRAGMA max_page_count`,
    clamped to its present size), and a trigger makes each insert into `table` need a megabyte of
    new pages, so SQLite answers SQLITE_FULL, "database or disk is full". PostgreSQL: a trigger
    raises SQLSTATE 53100 disk_full with the server's own wording, at the insert or (`at_commit`, a
    deferred constraint trigger) only at the commit. Open an app after entering."""
    if settings.is_sqlite:
        _sql(settings, "CREATE TABLE disk_ballast (b BLOB)",
             f"CREATE TRIGGER disk_full BEFORE INSERT ON {table} "
             "BEGIN INSERT INTO disk_ballast VALUES (zeroblob(1000000)); END")

        def no_growth(dbapi_connection, _record):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA max_page_count = 1")
            cur.close()

        event.listen(Engine, "connect", no_growth)
        try:
            yield
        finally:
            event.remove(Engine, "connect", no_growth)
            _sql(settings, "DROP TRIGGER disk_full", "DROP TABLE disk_ballast")
        return
    _sql(settings, "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'could not extend file \"base/16384/16385\": No space left on device' "
                   "USING ERRCODE = 'disk_full', HINT = 'Check free disk space.'; END $$",
         f"CREATE CONSTRAINT TRIGGER disk_full AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED "
         "FOR EACH ROW EXECUTE FUNCTION disk_full()" if at_commit else
         f"CREATE TRIGGER disk_full BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION disk_full()")
    try:
        yield
    finally:
        _sql(settings, f"DROP TRIGGER disk_full ON {table}", "DROP FUNCTION disk_full()")


def test_a_full_disk_keeps_the_answers_on_the_page_and_says_try_again(client, world, settings):
    s = published_survey(client, world, access="code")
    code = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 1}, headers=world.auth("fac_a")).json()["codes"][0]
    url = f"/s/{s['slug']}"
    answers = {"code": code, "q_found_useful": "4", "q_gender": "woman", "q_comment": COMMENT, "_go": "send",
               "_code_given": "1"}  # the code was checked on the screen before
    with full_disk(settings, "response_intake"), \
            TestClient(create_app(settings), raise_server_exceptions=False) as phone:
        token = form_token(phone.get(url).text)
        r = phone.post(url, data={**answers, "_form": token}, follow_redirects=False)
        assert r.status_code == 503, (r.status_code, r.text[:300])
        assert int(r.headers["retry-after"]) > 0
        assert gettext("sv", SAVE_FAILED) in r.text and gettext("sv", SAVE_FAILED) != SAVE_FAILED
        # every answer is still in the form
        assert f">{COMMENT}</textarea>" in r.text
        assert re.search(r'name="q_found_useful" value="4" checked', r.text)
        assert re.search(r'name="q_gender" value="woman" checked', r.text)
        assert f'value="{code}"' in r.text
        # in the page's language
        r = phone.post(f"{url}?lang=ar", data={**answers, "_form": token}, follow_redirects=False)
        assert r.status_code == 503 and gettext("ar", SAVE_FAILED) in r.text
        # the JSON API: a 503 with a JSON body
        r = phone.post(f"/api/public/surveys/{s['slug']}/responses", json={"code": code, "answers": {"found_useful": 4}})
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
        assert r.headers["content-type"].startswith("application/json") and r.json()["status_code"] == 503
        assert "try again" in r.json()["detail"]
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 0
    # Room again: the same form, sent again, is stored, with the code that was not spent.
    with TestClient(create_app(settings)) as phone:
        r = phone.post(url, data={**answers, "_form": token}, follow_redirects=False)
        assert r.status_code == 303 and "/thanks" in r.headers["location"]
    assert raw_rows(settings, "SELECT count(*) AS n FROM response_intake")[0]["n"] == 1
