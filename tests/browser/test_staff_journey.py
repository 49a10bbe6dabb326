"""A process leader signs in with the keyboard, opens the effect-goal dashboard and
prints the report for the steering group."""

from __future__ import annotations

import pytest

from .harness import DEMO_STAFF, format_violations, run_axe
from .journeys import FOCUSED, t


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_process_leader_signs_in_opens_dashboard_and_prints_report(server, new_page, lang):
    page = new_page(1280, 800)
    email, password = DEMO_STAFF["process_leader"]
    page.goto(f"/analysis?lang={lang}")
    assert "/login" in page.url, "the dashboard must ask an anonymous visitor to sign in"
    # Keyboard only: Tab to the e-mail field, type, Tab, type, Enter.
    for _ in range(20):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUSED)
        if f and f["name"] == "email":
            break
    else:
        raise AssertionError("Tab never reached the e-mail field")
    assert f["ringed"], "the focused e-mail field has no visible focus ring"
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.split("?")[0].endswith("/analysis"), f"not sent on to the dashboard: {page.url}"
    assert page.locator("h1").count() == 1
    violations = run_axe(page)
    assert not violations, format_violations(f"dashboard {lang}", violations)

    page.goto(f"/analysis?lang={lang}")
    report = page.get_by_role("link", name=t(lang, "Report for the steering group")).first
    with page.expect_navigation():
        report.click()
    violations = run_axe(page)
    assert not violations, format_violations(f"report {lang}", violations)
    page.emulate_media(media="print")
    # On paper the menus are gone and the goal table is there.
    assert not page.locator("header.top").is_visible()
    assert page.locator("table").first.is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
