"""Issue 17, the survey on a phone as a young person lives it, in real Chromium on a real server:
the back button and reload on every screen and on the thank-you page (no "Confirm Form
Resubmission", no answers lost between screens), a language switch on the thank-you page that
stays there, first paint from one response (CSS inline under a CSP hash, no script, ≤ 14 KB
compressed, its one small script inline), youth error pages in the page's language with a way back, and axe at 320 px."""

from __future__ import annotations

import gzip
import urllib.request

import pytest

from .journeys import PageChecks, t

pytestmark = pytest.mark.browser


@pytest.fixture
def new_page(new_page):
    """Pages in a Swedish browser (the service honours Accept-Language; Chromium's default is English)."""
    def make(*a, **kw):
        kw.setdefault("locale", "sv-SE")
        return new_page(*a, **kw)
    return make


def visible_page(page) -> str | None:
    return page.evaluate("""() => { const s = [...document.querySelectorAll('section.page')]
        .filter(e => e.offsetParent !== null).map(e => e.id); return s.length === 1 ? s[0] : s.join(','); }""")


def answer_visible_screen(page) -> None:
    """Ticks the first choice of every group on the visible screen."""
    page.evaluate("""() => { const s = [...document.querySelectorAll('section.page')].find(e => e.offsetParent);
        const seen = new Set();
        for (const i of s.querySelectorAll('input[type=radio],input[type=checkbox]')) {
          if (!seen.has(i.name)) { seen.add(i.name); i.click(); } } }""")


@pytest.mark.parametrize("lang", ["sv", "en", "ar"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_back_and_reload_on_every_screen_and_the_thanks_page(server, new_page, lang, js):
    page = new_page(320, 568, js=js)
    twin = None if js else new_page(320, 568, js=True)
    checks = PageChecks(f"[survey back/reload {lang} js={js}]", twin=twin)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    slug = server.survey_slug
    before = server.response_count()
    page.goto(f"/s/{slug}?lang={lang}")
    checks.check(page, lang)
    assert visible_page(page) == "p1"
    screens = page.locator("section.page").count()
    assert screens >= 2
    assert t(lang, "Page %(n)s of %(total)s") % {"n": 1, "total": screens} in page.locator("#p1").inner_text()

    answer_visible_screen(page)
    chosen_p1 = page.evaluate("[...document.querySelectorAll('#p1 input:checked')].map(e => e.name + '=' + e.value)")
    assert chosen_p1
    page.locator("#p1 a.next").click()
    page.wait_for_function("location.hash === '#p2'")
    assert visible_page(page) == "p2"
    checks.check(page, lang)
    answer_visible_screen(page)
    # The phone's back button: back to screen 1 with its answers, and forward again to screen 2 with its own.
    page.go_back()
    page.wait_for_function("location.hash === '#p1' || location.hash === ''")
    assert visible_page(page) == "p1"
    assert page.evaluate("[...document.querySelectorAll('#p1 input:checked')].map(e => e.name + '=' + e.value)") \
        == chosen_p1, "the back button lost the answers of screen 1"
    page.go_forward()
    page.wait_for_function("location.hash === '#p2'")
    assert page.locator("#p2 input:checked").count() > 0, "forward lost the answers of screen 2"
    # Reload on a screen: a GET of the same page, no resend prompt, an error-free page.
    response = page.reload()
    assert response.status == 200 and response.request.method == "GET"
    assert visible_page(page) == "p2" and not dialogs
    # Through to Send from a fresh start.
    page.goto(f"/s/{slug}?lang={lang}")
    for n in range(1, screens):
        answer_visible_screen(page)
        page.locator(f"#p{n} a.next").click()
        page.wait_for_function(f"location.hash === '#p{n + 1}'")
    with page.expect_navigation():
        page.locator(f"#p{screens} button[value=send]").click()
    assert "/thanks" in page.url, page.url
    thanks = t(lang, "Thank you for your answers!")
    assert page.locator("h1").inner_text().strip() == thanks
    assert server.response_count() == before + 1
    checks.check(page, lang)
    # Reload the thank-you page: still there, nothing sent again.
    response = page.reload()
    assert response.status == 200 and response.request.method == "GET" and not dialogs
    assert page.locator("h1").inner_text().strip() == thanks
    assert server.response_count() == before + 1
    # Back from the thank-you page: the survey comes back (fetched again, not a resend prompt).
    response = page.go_back()
    assert response is None or response.request.method == "GET"
    assert page.locator("form#answer").count() == 1 and not dialogs
    assert server.response_count() == before + 1, "going back sent the answers again"
    page.go_forward()
    assert page.locator("h1").inner_text().strip() == thanks
    # Switching language on the thank-you page stays on it (no blank survey to answer twice).
    other = "ar" if lang != "ar" else "sv"
    page.locator(f"header a[hreflang={other}][href$=\"lang={other}\"]").click()  # not "Lätt svenska" (also sv)
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().strip() == t(other, "Thank you for your answers!")
    assert page.locator("form#answer").count() == 0
    checks.check(page, other)
    checks.assert_ok()


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_survey_paints_from_one_response(server, new_page, lang):
    """First paint after one round trip: the page's only request is the page itself (CSS and the one
    small script inline, allowed by their CSP hashes), and it is at most 14 KB compressed."""
    page = new_page(320, 568, js=True)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(f"/s/{server.survey_slug}?lang={lang}")
    page.wait_for_load_state("load")
    assert [u for u in requests if not u.startswith("data:")] == [page.url], requests
    assert not violations, violations
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "'sha256-" in csp
    # The inline stylesheet applies (the CSP hash matches): the Next button has the accent colour.
    assert page.locator("#p1 a.next").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 83, 148)"
    # The only script is inline (it keeps unsent answers through a reload, allowed by its CSP hash).
    assert page.locator("script[src]").count() == 0 and page.locator("link[rel=stylesheet]").count() == 0
    with urllib.request.urlopen(f"{server.url}/s/{server.survey_slug}?lang={lang}") as r:
        body = r.read()
    size = len(gzip.compress(body, 6))
    print(f"survey page {lang}: {len(body)} bytes, {size} bytes gzip")
    assert size <= 14 * 1024, size


@pytest.mark.parametrize("lang", ["sv", "en", "ar"])
def test_youth_error_pages_speak_the_page_language_and_lead_back(server, new_page, lang):
    page = new_page(320, 568, js=True)
    checks = PageChecks(f"[youth errors {lang}]")
    page.goto(f"/s/no-such-survey?lang={lang}")
    body = page.locator("main").inner_text()
    assert t(lang, "no open survey at this address") in body, body
    assert page.locator("main a[href='/']").count() == 0, "a way 'back' to the staff login"
    checks.check(page, lang)
    page.goto(f"/s/{server.survey_slug}/nothing-here?lang={lang}")
    back = page.locator("main a.button")
    assert back.get_attribute("href") == f"/s/{server.survey_slug}?lang={lang}"
    checks.check(page, lang)
    back.click()
    page.wait_for_load_state()
    assert page.locator("form#answer").count() == 1
    checks.assert_ok()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_language_names_at_the_top_keep_the_answers_given_so_far(server, new_page, js):
    """Mid-survey, a tap on another language at the top re-posts the form: the page comes back in that
    language with every answer still ticked, and Send sends them. Nothing is stored before Send."""
    page = new_page(320, 568, js=js)
    slug = server.survey_slug
    before = server.response_count()
    page.goto(f"/s/{slug}?lang=sv")
    answer_visible_screen(page)
    page.locator("#p1 a.next").click()
    page.wait_for_function("location.hash === '#p2'")
    answer_visible_screen(page)
    chosen = page.evaluate("[...document.querySelectorAll('section.page input:checked')].map(e => e.name + '=' + e.value)")
    assert len(chosen) >= 2
    with page.expect_navigation():
        page.locator("header nav.langs [lang=ar]").click()
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.evaluate("[...document.querySelectorAll('section.page input:checked')].map(e => e.name + '=' + e.value)") \
        == chosen, "the language switch lost answers"
    assert server.response_count() == before
    screens = page.locator("section.page").count()
    for n in range(1, screens):  # on through the screens, nothing to tick again
        page.locator(f"#p{n} a.next").click()
        page.wait_for_function(f"location.hash === '#p{n + 1}'")
    with page.expect_navigation():
        page.locator(f"#p{screens} button[value=send]").click()
    assert page.locator("h1").inner_text().strip() == t("ar", "Thank you for your answers!")
    assert server.response_count() == before + 1

