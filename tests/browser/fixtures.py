"""Fixtures for the real-browser tests: one server process and one Chromium per session,
shared by every browser test wherever it lives (imported by tests/conftest.py).

Without Chromium or Playwright the tests are skipped, unless YOUTHVOICE_REQUIRE_BROWSER=1
(set by `make test`), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .harness import CHROMIUM, Server, browser_missing, launch_args, running_server


@pytest.fixture(scope="session")
def browser_ready() -> None:
    why = browser_missing()
    if why:
        if os.environ.get("YOUTHVOICE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required (YOUTHVOICE_REQUIRE_BROWSER=1) but {why}")
        pytest.skip(why)


@pytest.fixture(scope="session")
def server(browser_ready) -> Iterator[Server]:
    with running_server() as s:
        yield s


@pytest.fixture(scope="session")
def browser(browser_ready):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=launch_args())
        yield b
        b.close()


@pytest.fixture
def new_page(browser, server):
    """new_page(width=320, height=640, js=True, **context_options) -> Page; closed after the test."""
    contexts = []

    def make(width: int = 320, height: int = 640, js: bool = True, **kw):
        ctx = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=js,
                                  base_url=server.url, **kw)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
