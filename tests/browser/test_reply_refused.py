"""Issue 27.4 and 27.5 in real Chromium on a 320 px phone: a refused reply (wrong reply code) on the
feedback page came back at the top of the page with its only message far below, as if it had been
sent; and the reply form did not say that a reply is shown publicly."""

from __future__ import annotations

import pytest

from .journeys import PageChecks, t
from .test_feedback_loop_browser import loop  # noqa: F401 - the closed workshop with a released statement

pytestmark = pytest.mark.browser

IN_VIEW = "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_refused_reply_shows_its_message_where_the_form_is_and_keeps_the_words(loop, server, new_page, lang, js):  # noqa: F811
    phone = new_page(320, 568, js=js)  # a phone without the room's cookie: no reply code shown
    checks = PageChecks(f"[refused reply {lang} js={js}]", axe=js)
    code, sid = loop["code"], loop["sid"]
    before = server.sql("select count(*) from workshop_statement_entry where kind = 'reply'")[0][0]
    phone.goto(f"/w/{code}?lang={lang}")
    item = phone.locator(f"#s-{sid}")
    item.get_by_text(t(lang, "Answer back")).click()
    form = item.locator("form").first
    # Said before anything is written: the reply is public.
    public = t(lang, "What you send here is public: anyone can read it on this page and on the unit's public page.")
    assert public in form.inner_text()
    item.get_by_label(t(lang, "We agree")).check()
    item.get_by_label(t(lang, "A few words (you can leave this empty)")).fill("Bra att ni lyssnade")
    item.get_by_label(t(lang, "Your personal reply code")).fill("ACDE-FHJK")
    with phone.expect_navigation():
        item.get_by_role("button", name=t(lang, "Send the reply")).click()
    message = phone.locator(f"#e-reply_code-{sid}")
    assert message.is_visible()
    assert t(lang, "That is not a reply code from this workshop. Check the code you saved when the workshop ended.") \
        in message.inner_text()
    assert message.evaluate(IN_VIEW), "the refusal is off the screen: the reply looks sent"
    assert phone.evaluate("scrollY") > 0
    # What was typed is still there, ready to correct.
    item = phone.locator(f"#s-{sid}")
    assert item.get_by_label(t(lang, "A few words (you can leave this empty)")).input_value() == "Bra att ni lyssnade"
    assert item.get_by_label(t(lang, "We agree")).is_checked()
    assert item.get_by_label(t(lang, "Your personal reply code")).input_value() == "ACDE-FHJK"
    assert server.sql("select count(*) from workshop_statement_entry where kind = 'reply'")[0][0] == before
    checks.check(phone, lang)
    # The form's address opened on its own (copied, or the page reopened later) is the feedback page.
    response = phone.goto(f"/w/{code}/replies/{sid}?lang={lang}")
    assert response.status == 200 and phone.url.endswith(f"/w/{code}#s-{sid}")
    assert phone.locator(f"#s-{sid}").count() == 1
    checks.assert_ok()
