"""Keyboard-only walks through pages, shared by the tests and the screenshot script."""

from __future__ import annotations

from youthvoice import i18n

from .harness import format_violations, horizontal_overflow, run_axe

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  return {tag: e.tagName, type: (e.type || '').toLowerCase(), name: e.name || '', go: e.getAttribute('value') || '',
          formaction: e.getAttribute('formaction') || '', href: e.getAttribute('href') || '',
          cls: e.getAttribute('class') || '',
          ringed: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
          text: (e.innerText || e.value || '').trim().slice(0, 60),
          onscreen: r.width > 0 && r.height > 0 && r.right > 0 && r.left < window.innerWidth};
}"""


def t(lang: str, msgid: str) -> str:
    return i18n.gettext(lang, msgid)


class PageChecks:
    """Collects what went wrong on every page visited, so one failure lists them all."""

    def __init__(self, label: str, axe: bool = True, twin=None):
        self.label = label
        self.axe = axe
        self.twin = twin  # a JavaScript-enabled page for axe when the checked page has JavaScript off
        self.problems: list[str] = []
        self.pages: list[str] = []

    def check(self, page, lang: str | None = None) -> None:
        where = f"{self.label} {page.url}"
        self.pages.append(page.url)
        over = horizontal_overflow(page)
        if over > 0:
            self.problems.append(f"{where}: {over}px sideways scroll at width "
                                 f"{page.viewport_size['width']}")
        if lang:
            got = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
            want = [i18n.html_lang(lang), i18n.direction(lang)]  # easy-read Swedish is lang="sv"
            if got != want:
                self.problems.append(f"{where}: <html lang dir> is {got}, expected {want}")
        # An element marked hidden must not be drawn: author CSS that sets `display` beats the
        # browser's [hidden] rule (the survey's Enter button showed as a blue square that sent the form).
        shown = page.evaluate("""() => [...document.querySelectorAll('[hidden]')]
            .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
            .map(e => e.outerHTML.slice(0, 120))""")
        if shown:
            self.problems.append(f"{where}: elements marked hidden are drawn: {shown}")
        if self.axe:
            violations = run_axe(page, self.twin)
            if violations:
                self.problems.append(format_violations(where, violations))

    def assert_ok(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def tab_through_survey_screen(page, checks: PageChecks, text: str = "Det var bra") -> str:
    """Answers one survey screen with the keyboard only: Tab to each control, Space to
    choose (the first option of each group), typing into text boxes, Enter on the
    forward button. Returns the label of the button pressed."""
    answered: set[str] = set()
    seen_fields = 0
    for _ in range(120):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUSED)
        if f is None:
            continue
        if not f["ringed"]:
            checks.problems.append(f"{checks.label} {page.url}: no visible focus on {f['tag']} {f['name'] or f['text']!r}")
        if not f["onscreen"]:
            checks.problems.append(f"{checks.label} {page.url}: focused {f['tag']} {f['text']!r} is off screen")
        if f["tag"] == "INPUT" and f["type"] in ("radio", "checkbox") and f["name"] not in answered:
            page.keyboard.press("Space")
            answered.add(f["name"])
            seen_fields += 1
        elif f["tag"] == "TEXTAREA" and f["name"] not in answered:
            page.keyboard.type(text)
            answered.add(f["name"])
            seen_fields += 1
        elif f["tag"] == "A" and "next" in f["cls"].split() and f["href"].startswith("#"):
            # The survey's screens are sections of one page: "Next" moves to the next fragment.
            page.keyboard.press("Enter")
            page.wait_for_function("h => location.hash === h", arg=f["href"])
            return f["text"]
        elif (f["tag"] == "BUTTON" or f["type"] == "submit") and f["go"] not in ("lang", "back") \
                and "lang=" not in f["formaction"]:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return f["text"]
    raise AssertionError(f"{checks.label}: Tab never reached a forward button on {page.url} "
                         f"(answered {sorted(answered)})")


def answer_survey(page, base_url: str, slug: str, lang: str, checks: PageChecks, max_screens: int = 12) -> None:
    """Opens the survey in `lang` and answers every screen by keyboard until the thank-you page."""
    page.goto(f"{base_url}/s/{slug}?lang={lang}")
    thanks = t(lang, "Thank you for your answers!")
    for _ in range(max_screens):
        checks.check(page, lang)
        if page.locator("h1").first.inner_text().strip() == thanks:
            return
        tab_through_survey_screen(page, checks)
    raise AssertionError(f"{checks.label}: no thank-you page after {max_screens} screens; at {page.url}: "
                         f"{page.locator('h1').first.inner_text()!r}")
