"""The whole workshop journey in real Chromium on the real server with the demo data:
the facilitator projects the open demo workshop, two phones (one without JavaScript,
keyboard only) join and write, the projector shows both statements live, the group
approves one and objects to the other, the facilitator closes, the process leader
answers, and a participant reads the answer with the workshop code (sv, and ar RTL)."""

from __future__ import annotations

import pytest

from .harness import DEMO_UNIT, login, running_server
from .journeys import PageChecks, t

pytestmark = pytest.mark.browser

APPROVED = "Vi vill ha gratis busskort när vi går på praktik."
OBJECTED = "Alla borde få börja skolan klockan tolv."
ANSWER = "Från och med nästa månad får alla på praktik ett busskort av oss."

# Where the keyboard focus is: enough to tell which control of which statement it is.
FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), li = e.closest('li[id]');
  return {tag: e.tagName, id: e.id || '', name: e.name || '', value: e.getAttribute('value') || '',
          li: li ? li.id : '', text: (e.innerText || '').trim().slice(0, 60),
          ringed: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'};
}"""


# This journey closes the only open demo workshop, so it gets a server of its own and
# leaves the session's demo data to the other browser tests.
@pytest.fixture(scope="module")
def server(browser_ready):
    with running_server() as s:
        yield s


def tab_to(page, want, what: str, checks: PageChecks, limit: int = 60) -> dict:
    """Presses Tab until `want(focus)` holds; every stop must show a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        if f is None:
            continue
        if not f["ringed"]:
            checks.problems.append(f"{checks.label} {page.url}: no visible focus on {f['tag']} {f['text']!r}")
        if want(f):
            return f
    raise AssertionError(f"{checks.label}: Tab never reached {what} on {page.url}")


def press_enter_and_wait(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def statement_id(server, text: str) -> str:
    rows = server.sql("select s.id from workshop_statement s join workshop_revision r on r.statement_id = s.id "
                      "where r.text = ? order by r.id limit 1", text)
    assert rows, f"statement {text!r} is not in the database"
    return rows[0][0]


def test_whole_workshop_journey(server, new_page):
    rows = server.sql("select w.id, w.code from workshop w join unit u on u.id = w.unit_id "
                      "where u.slug = ? and w.status = 'open' order by w.id limit 1", DEMO_UNIT)
    assert rows, "the demo data has no open workshop"
    ws_id, code = rows[0]

    # 1. The facilitator signs in on a laptop and puts up the projector view.
    screen = new_page(1280, 800, js=True)
    login(screen, server.url, "facilitator")
    assert "/login" not in screen.url, f"the facilitator could not sign in: {screen.url}"
    screen.goto(f"/workshops/{ws_id}/screen")
    assert code in screen.locator(".join .code").first.inner_text()
    screen.evaluate("window.__stayed = true")

    # 2. Two phones join: A with JavaScript, B without JavaScript and keyboard only.
    a = new_page(320, 640, js=True)
    a_checks = PageChecks("[phone A, JS on]")
    a.goto(f"/w/{code}")
    a_checks.check(a, "sv")
    a.get_by_label(t("sv", "Nickname")).fill("Nora")
    a.get_by_role("button", name=t("sv", "Join")).click()
    box = a.get_by_label(t("sv", "What do you want to say?"))
    box.wait_for()
    a_checks.check(a, "sv")
    box.fill(APPROVED)
    a.get_by_role("button", name=t("sv", "Add")).click()
    a.locator("blockquote", has_text=APPROVED).wait_for()

    b = new_page(320, 640, js=False)
    twin = new_page(320, 640, js=True)  # axe needs JavaScript; it checks B's HTML in this twin
    b_checks = PageChecks("[phone B, JS off, keyboard]", twin=twin)
    b.goto(f"/w/{code}")
    b_checks.check(b, "sv")
    tab_to(b, lambda f: f["id"] == "nickname", "the nickname field", b_checks)
    page_b_join = tab_to(b, lambda f: f["tag"] == "BUTTON", "the join button", b_checks)
    assert page_b_join["text"] == t("sv", "Join")
    press_enter_and_wait(b)
    b_checks.check(b, "sv")
    tab_to(b, lambda f: f["id"] == "text", "the statement box", b_checks)
    b.keyboard.type(OBJECTED)
    tab_to(b, lambda f: f["tag"] == "BUTTON" and f["text"] == t("sv", "Add"), "the Add button", b_checks)
    press_enter_and_wait(b)
    b.locator("blockquote", has_text=OBJECTED).wait_for()
    b_checks.check(b, "sv")

    # The projector shows both, without a reload (server-sent events).
    screen.locator("#live blockquote", has_text=APPROVED).wait_for(timeout=10_000)
    screen.locator("#live blockquote", has_text=OBJECTED).wait_for(timeout=10_000)
    assert screen.evaluate("window.__stayed === true"), "the projector reloaded instead of updating in place"
    assert "Nora" in screen.locator("#live").inner_text(), "the projector does not show the nickname"

    # 3. The facilitator starts the review on the facilitator page.
    control = screen.context.new_page()
    control.goto(f"/workshops/{ws_id}")
    with control.expect_navigation():
        control.get_by_role("button", name=t("sv", "Start the review: the group approves")).click()
    assert server.sql("select status from workshop where id = ?", ws_id)[0][0] == "review"
    # The projector follows by itself and tells the room to vote.
    screen.get_by_text(t("sv", "Time to approve – on your phone")).wait_for(timeout=10_000)

    approved_id, objected_id = statement_id(server, APPROVED), statement_id(server, OBJECTED)

    # Phone A (JavaScript) moves to the review by itself and approves one statement.
    a.get_by_role("heading", name=t("sv", "Time to approve")).wait_for(timeout=10_000)
    a_checks.check(a, "sv")
    with a.expect_navigation():
        a.locator(f"#s-{approved_id}").get_by_role("button", name=t("sv", "Approve")).click()
    a.locator(f"#s-{approved_id}").get_by_text(t("sv", "You approved this text.")).wait_for()

    # Phone B reloads with the keyboard, approves the first and objects to the other.
    tab_to(b, lambda f: f["tag"] == "A" and f["text"] == t("sv", "Reload the page"), "the reload link", b_checks,
           limit=80)
    press_enter_and_wait(b)
    b.get_by_role("heading", name=t("sv", "Time to approve")).wait_for()
    b_checks.check(b, "sv")
    tab_to(b, lambda f: f["li"] == f"s-{approved_id}" and f["value"] == "approve",
           "Approve on the first statement", b_checks, limit=80)
    press_enter_and_wait(b)
    assert b.locator(f"#s-{approved_id}").get_by_text(t("sv", "You approved this text.")).is_visible()
    tab_to(b, lambda f: f["li"] == f"s-{objected_id}" and f["value"] == "object",
           "Object on the other statement", b_checks, limit=80)
    press_enter_and_wait(b)
    assert b.locator(f"#s-{objected_id}").get_by_text(t("sv", "You objected to this text.")).is_visible()
    b_checks.check(b, "sv")

    # 4. The facilitator closes: the approved statement is released, the other is gone.
    control.goto(f"/workshops/{ws_id}")
    control.get_by_label(t("sv", "The group has voted. Close: send on what was approved and delete the rest.")).check()
    with control.expect_navigation():
        control.get_by_role("button", name=t("sv", "Close the workshop")).click()
    control.get_by_text(t("sv", "Closed. Only the approved statements were kept.")).wait_for()
    kept = control.locator("#live blockquote").all_inner_texts()
    assert kept == [APPROVED], f"after closing the facilitator page shows {kept}"
    assert t("sv", "Released") in control.locator(f"#s-{approved_id}").inner_text()
    assert server.sql("select released from workshop_statement where id = ?", approved_id) == [(1,)]
    assert server.sql("select count(*) from workshop_statement where id = ?", objected_id) == [(0,)]
    assert server.sql("select count(*) from workshop_revision where text = ?", OBJECTED) == [(0,)]
    assert server.sql("select count(*) from workshop_participant where workshop_id = ?", ws_id) == [(0,)]

    # 5. The process leader answers the released statement: done, with a text.
    leader = new_page(1280, 800, js=True)
    login(leader, server.url, "process_leader")
    leader.goto("/workshops/answers")
    item = leader.locator(f"#s-{approved_id}")
    assert APPROVED in item.locator("blockquote").first.inner_text()
    item.get_by_text(t("sv", "New answer"), exact=True).click()  # the answer form opens from its summary
    item.get_by_label(t("sv", "Done"), exact=True).check()
    item.locator(f"#r-{approved_id}-sv").fill(ANSWER)
    with leader.expect_navigation():
        item.get_by_role("button", name=t("sv", "Save the answer")).click()
    assert server.sql("select response_status, response_text from workshop_statement where id = ?", approved_id) \
        == [("done", ANSWER)]

    # 6. A participant opens the workshop code again: the statement, its status and the answer.
    b.goto(f"/w/{code}")
    b_checks.check(b, "sv")
    item = b.locator(f"#s-{approved_id}")
    assert item.locator("blockquote").inner_text() == APPROVED
    assert item.locator("span.status").inner_text() == t("sv", "Done")
    latest = item.locator("ol.timeline > li.entry-response").last  # the answer, in its history
    assert ANSWER in latest.inner_text() and t("sv", "Answer") in latest.inner_text()
    assert OBJECTED not in b.content()
    b.goto(f"/w/{code}?lang=ar")
    b_checks.check(b, "ar")  # also checks <html lang="ar" dir="rtl">
    assert b.evaluate("document.documentElement.dir") == "rtl"
    item = b.locator(f"#s-{approved_id}")
    assert item.locator("span.status").inner_text() == t("ar", "Done")
    assert t("ar", "Done") != "Done", "no Arabic word for the status"
    assert ANSWER in item.locator("ol.timeline > li.entry-response").last.inner_text()

    a_checks.assert_ok()
    b_checks.assert_ok()
