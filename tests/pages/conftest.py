"""The real-browser fixtures (one server with demo data, Debian's Chromium) for the
browser checks of the public pages; skipped where no browser is installed."""

from tests.browser.conftest import browser, browser_ready, new_page, server  # noqa: F401
