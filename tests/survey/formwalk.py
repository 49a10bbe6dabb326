"""Walks the multi-screen survey form the way a browser without JavaScript does:
posts the hidden fields of the page plus what the young person chose on screen."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inside = False
        self.hidden: list[tuple[str, str]] = []
        self.visible: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "answer":
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("type") == "hidden":
            self.hidden.append((a["name"], a.get("value") or ""))
        elif tag in ("input", "textarea") and a.get("name"):
            self.visible.add(a["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def parse(html: str) -> _Form:
    f = _Form()
    f.feed(html)
    return f


def post_screen(client, slug: str, html: str, choose: dict, go: str = "next", lang: str | None = None):
    """Sends the form on `html` with the visible fields in `choose` (only those shown)."""
    f = parse(html)
    data: list[tuple[str, str]] = list(f.hidden)
    for name, value in choose.items():
        if name in f.visible:
            for v in value if isinstance(value, list) else [value]:
                data.append((name, v))
    data.append(("_go", go))
    url = f"/s/{slug}" + (f"?lang={lang}" if lang else "")
    body = "&".join(f"{_q(k)}={_q(v)}" for k, v in data)
    return client.post(url, content=body.encode(), headers={"content-type": "application/x-www-form-urlencoded"})


def _q(s: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(s)


def answer_all(client, slug: str, choose: dict, start: str = "", max_screens: int = 12):
    """Next, next, …, send. Returns the final response (or the opening page, when it refused a code)."""
    page = client.get(f"/s/{slug}{start}")
    if page.status_code in (409, 429) and 'id="code"' in page.text:
        return page  # the code from the link does not work: refused when the link opens
    assert page.status_code == 200, page.text
    html = page.text
    for _ in range(max_screens):
        go = "send" if 'value="send"' in html else "next"
        r = post_screen(client, slug, html, choose, go)
        if go == "send" or r.status_code != 200:
            return r
        html = r.text
    raise AssertionError("the form never reached its last screen")


def visible_questions(html: str) -> list[str]:
    return sorted({n[2:] for n in parse(html).visible if n.startswith("q_")})


def form_token(html: str) -> str:
    return re.search(r'name="_form" value="([^"]+)"', html).group(1)
