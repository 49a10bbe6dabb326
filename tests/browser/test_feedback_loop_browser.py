"""The feedback page (/w/{code} after close) and the unit's "you said, we did" page (/u/{unit}) in a
real browser, against the real server process: a phone that was in the room answers back with its
reply code, JavaScript off; axe-core finds no WCAG 2.x A/AA violation in sv, en and ar at 320 px."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.browser.harness import DEMO_STAFF, DEMO_UNIT, _cli
from tests.browser.journeys import PageChecks, t
from youthvoice import clock
from youthvoice.app import create_app
from youthvoice.config import Settings
from youthvoice.i18n import format_date

pytestmark = pytest.mark.browser

LANGS = ["sv", "en", "ar"]


def _api(server, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(f"{server.url}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def loop(server, browser):
    """A workshop of the demo unit, closed with one released statement that has a history: two
    responses (Swedish and Arabic), a milestone and a promised date. A phone (no JavaScript) was in
    the room; its browser context is returned so it still has its room cookie."""
    email = DEMO_STAFF["process_leader"][0]
    staff = subprocess.run([*_cli(), "token", "create", "--email", email], env=server.env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip().split()[-1]
    ws = _api(server, "POST", "/api/workshops", {
        "unit": DEMO_UNIT, "title": "Vad behöver unga i Alingsås? (uppföljning)", "date": clock.today().isoformat(),
        "place": "Stadsbiblioteket", "neutral_place": True, "themes": ["Jobb"]}, staff)
    ctx = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False,
                              base_url=server.url)
    phone = ctx.new_page()
    phone.goto(f"/w/{ws['code']}?lang=ar")
    phone.get_by_role("button", name=t("ar", "Join")).click()
    token = next(c["value"] for c in ctx.cookies() if c["name"] == "yv_w")
    sid = _api(server, "POST", f"/api/public/workshops/{ws['code']}/statements",
               {"text": "Fler praktikplatser på kvällstid", "themes": ["Jobb"]}, token)["id"]
    _api(server, "POST", f"/api/workshops/{ws['id']}/review", None, staff)
    _api(server, "POST", f"/api/public/workshops/{ws['code']}/statements/{sid}/vote", {"vote": "approve"}, token)
    assert _api(server, "POST", f"/api/workshops/{ws['id']}/close", None, staff)["released"] == [sid]
    _api(server, "POST", f"/api/statements/{sid}/response",
         {"status": "received", "text": "Vi har tagit emot det ni sa.", "texts": {"ar": "تلقينا ما قلتموه."}}, staff)
    _api(server, "POST", f"/api/statements/{sid}/milestones",
         {"text": "Vi träffade tre arbetsgivare.", "texts": {"ar": "التقينا بثلاثة أصحاب عمل."}}, staff)
    promised = (clock.today() + dt.timedelta(days=40)).isoformat()
    _api(server, "POST", f"/api/statements/{sid}/response",
         {"status": "considering", "text": "Två vill prova kvällar.", "texts": {"ar": "اثنان يريدان تجربة المساء."},
          "next_update_by": promised}, staff)
    yield {"code": ws["code"], "sid": sid, "phone": phone, "promised": promised}
    ctx.close()


def test_a_phone_answers_back_without_javascript(loop, server):
    phone, code, sid = loop["phone"], loop["code"], loop["sid"]
    phone.goto(f"/w/{code}?lang=ar")
    reply_code = phone.locator(".code").inner_text()
    assert len(reply_code) == 9 and reply_code[4] == "-"
    item = phone.locator(f"#s-{sid}")
    # The timeline in Arabic, oldest first, with the promised date.
    entries = item.locator("ol.timeline > li")
    assert entries.count() == 3
    assert "تلقينا ما قلتموه." in entries.nth(0).inner_text()
    assert "التقينا بثلاثة أصحاب عمل." in entries.nth(1).inner_text()
    # The date as Arabic writes it, and the same day machine-readable for a screen reader or calendar.
    assert format_date(loop["promised"], "ar") in item.inner_text()
    assert item.locator(f'time[datetime="{loop["promised"]}"]').count() >= 1
    item.get_by_text(t("ar", "Answer back")).click()  # <details> opens without JavaScript
    item.get_by_label(t("ar", "We are not satisfied")).check()
    item.get_by_label(t("ar", "A few words (you can leave this empty)")).fill("نريد بعد الساعة السادسة")
    assert item.get_by_label(t("ar", "Your personal reply code")).input_value() == reply_code
    with phone.expect_navigation():
        item.get_by_role("button", name=t("ar", "Send the reply")).click()
    last = phone.locator(f"#s-{sid} ol.timeline > li").last
    assert t("ar", "We are not satisfied") in last.inner_text() and "نريد بعد الساعة السادسة" in last.inner_text()
    assert server.sql("select count(*) from workshop_statement_entry where kind = 'reply'")[0][0] >= 1


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_and_unit_pages_pass_axe_without_javascript(loop, new_page, lang):
    page = new_page(320, 640, js=False)
    twin = new_page(320, 640, js=True)
    checks = PageChecks(f"[feedback {lang}]", twin=twin)
    for path in (f"/w/{loop['code']}", f"/u/{DEMO_UNIT}"):
        r = page.goto(f"{path}?lang={lang}")
        assert r.status == 200
        assert page.locator(f"#s-{loop['sid']} ol.timeline > li").count() >= 3, path
        # Open every <details> (reply form), so axe checks the forms too.
        for summary in page.locator("details > summary").all():
            summary.click()
        checks.check(page, lang)
    checks.assert_ok()


def test_the_calendar_file_downloads(loop, new_page):
    page = new_page(320, 640, js=False)
    page.goto(f"/w/{loop['code']}?lang=sv")
    with page.expect_download() as dl:
        page.get_by_role("link", name=t("sv", "Put the date in your calendar (.ics file)")).click()
    assert dl.value.suggested_filename.endswith(".ics")
    data = Path(dl.value.path()).read_bytes()
    assert b"BEGIN:VEVENT" in data and loop["promised"].replace("-", "").encode() in data


@pytest.mark.parametrize("lang", LANGS)
def test_the_e_mail_form_passes_axe(loop, server, new_page, lang):
    """The shared server has no SMTP, so the form is not offered there. The same database served by
    an app with SMTP configured renders it; the browser is shown that page at the server's address."""
    settings = Settings.from_env(database_url=server.env["YOUTHVOICE_DATABASE_URL"],
                                 secret_key=server.env["YOUTHVOICE_SECRET_KEY"], var_dir=server.var_dir,
                                 smtp_url="smtp://127.0.0.1:9", mail_from="svar@kommunen.example",
                                 base_url=server.url, allowed_hosts=("testserver.local",))
    url = f"{server.url}/w/{loop['code']}?lang={lang}"
    with TestClient(create_app(settings)) as c:
        html = c.get(f"/w/{loop['code']}?lang={lang}").text
    assert 'name="email"' in html
    page = new_page(320, 640, js=True)

    def serve(route):
        if route.request.url == url:
            route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
        else:
            route.continue_()

    page.route("**/*", serve)
    page.goto(url)
    for summary in page.locator("details > summary").all():
        summary.click()
    page.get_by_label(t(lang, "Your e-mail address")).first.wait_for()
    checks = PageChecks(f"[e-mail form {lang}]")
    checks.check(page, lang)
    checks.assert_ok()
