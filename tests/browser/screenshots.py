"""Screenshots of the key screens for the README: `python -m tests.browser.screenshots`
(`make screenshots`). Phone 360×740, laptop 1280×800, projector 1920×1080, written to docs/screenshots/."""

from __future__ import annotations

import sys
from pathlib import Path

from .harness import CHROMIUM, browser_missing, launch_args, login, running_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}
PROJECTOR = {"width": 1920, "height": 1080}


def main() -> int:
    why = browser_missing()
    if why:
        print(f"cannot take screenshots: {why}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with running_server() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=launch_args())

        def shot(page, name: str) -> None:
            path = OUT / f"{name}.png"
            page.screenshot(path=str(path), full_page=False)
            written.append(path)

        phone = browser.new_context(viewport=PHONE, base_url=server.url, device_scale_factor=1).new_page()
        for lang in ("sv", "ar", "en", "prs"):
            phone.goto(f"/s/{server.survey_slug}?lang={lang}")
            shot(phone, f"phone-survey-{lang}")
        phone.goto(f"/r/{server.survey_slug}?lang=sv")
        shot(phone, "phone-results-sv")
        # The room as it is while people write (join code and QR on the projector), not the closed one.
        open_rooms = server.sql("select id, code from workshop where status = 'open' order by id limit 1")
        workshop = open_rooms[0] if open_rooms else server.workshop()
        if workshop:
            phone.goto(f"/w/{workshop[1]}?lang=sv")
            shot(phone, "phone-workshop-sv")
            phone.goto(f"/w/{workshop[1]}?lang=ar")
            shot(phone, "phone-workshop-ar")
        closed = server.sql("select code from workshop where status = 'closed' order by id limit 1")
        if closed:  # the feedback page: what happened to what the young people said
            phone.goto(f"/w/{closed[0][0]}?lang=sv")
            shot(phone, "phone-feedback-sv")

        laptop = browser.new_context(viewport=LAPTOP, base_url=server.url).new_page()
        laptop.goto("/login")
        shot(laptop, "laptop-login")
        login(laptop, server.url, "process_leader")
        laptop.goto("/analysis")
        shot(laptop, "laptop-dashboard")
        laptop.goto("/analysis/report")
        shot(laptop, "laptop-report")
        if workshop:
            laptop.goto(f"/workshops/{workshop[0]}")
            shot(laptop, "laptop-workshop")
            projector = browser.new_context(viewport=PROJECTOR, base_url=server.url).new_page()
            login(projector, server.url, "facilitator")
            projector.goto(f"/workshops/{workshop[0]}/screen")
            shot(projector, "projector-workshop")
        browser.close()
    for path in written:
        print(f"{path.relative_to(OUT.parents[1])}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
