"""A real youthvoice server process and Debian's Chromium, for the browser tests
and for `python -m tests.browser.screenshots`.

No browser is downloaded: Playwright drives /usr/bin/chromium (`executable_path`).
The server is `youthvoice serve` in a subprocess on a free port, with a fresh
SQLite database and var dir, loaded with `youthvoice demo`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from youthvoice import clock

CHROMIUM = os.environ.get("YOUTHVOICE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-gpu", "--disable-quic", "--disable-default-apps", "--disable-extensions",
    # A Swedish phone unless a test says otherwise: the service honours Accept-Language.
    "--lang=sv-SE", "--accept-lang=sv-SE,sv",
]
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DEMO_UNIT = "enter-alingsas"
DEMO_STAFF = {  # e-mail, password (youthvoice/demo.py)
    "process_leader": ("processledare@demo.youthvoice.se", "demo-process-2026"),
    "facilitator": ("handledare@demo.youthvoice.se", "demo-handledare-2026"),
    "admin": ("admin@demo.youthvoice.se", "demo-admin-2026"),
}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium; make test does this)"
    return None


def launch_args() -> list[str]:
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("youthvoice")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from youthvoice.cli import main; sys.exit(main())"]


@dataclass
class Server:
    url: str
    db_path: Path
    var_dir: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    _cache: dict = field(default_factory=dict)

    def sql(self, query: str, *params) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.db_path)) as c:
            return c.execute(query, params).fetchall()

    def has_table(self, name: str) -> bool:
        return bool(self.sql("select 1 from sqlite_master where type='table' and name=?", name))

    @property
    def survey_slug(self) -> str:
        """The demo survey of ENTER Alingsås (open to everyone, no code)."""
        return self.sql("select s.slug from survey s join unit u on u.id = s.unit_id "
                        "where u.slug = ? and s.access = 'open' order by s.id limit 1", DEMO_UNIT)[0][0]

    def response_count(self) -> int:
        """Answers kept anywhere: waiting in the intake for the next release, or released."""
        return self.sql("select (select count(*) from response_intake) + (select count(*) from response)")[0][0]

    def release(self) -> None:
        """Makes a release (`youthvoice publish`) that moves every waiting answer into `response` and
        `response_count`, even one: each call is a steering-group date of every agreement (so a
        second call in one test is a release day too), with batches and the smallest cell of 1.
        The calendar and batches themselves are tested in tests/analysis/test_calendar.py."""
        days = self._cache["release_days"] = self._cache.get("release_days", 0) + 1
        day = clock.today() + dt.timedelta(days=days)
        steering = json.dumps([(clock.today() + dt.timedelta(days=d)).isoformat() for d in range(1, days + 1)])
        with contextlib.closing(sqlite3.connect(self.db_path)) as c:
            c.execute("insert into release_setting (agreement_id, batch_min, steering_days) "
                      "select id, 1, ? from agreement where true "
                      "on conflict (agreement_id) do update set batch_min = 1, steering_days = excluded.steering_days",
                      (steering,))
            c.commit()
        subprocess.run([*_cli(), "publish", "--today", day.isoformat()], env={**self.env, "YOUTHVOICE_MIN_CELL": "1"},
                       check=True, capture_output=True, timeout=300)

    def workshop(self) -> tuple[int, str] | None:
        """A demo workshop (id, code) of the demo unit, when the workshops domain has demo data."""
        if not self.has_table("workshop"):
            return None
        rows = self.sql("select w.id, w.code from workshop w join unit u on u.id = w.unit_id "
                        "where u.slug = ? order by w.id limit 1", DEMO_UNIT)
        return rows[0] if rows else None

    def log_tail(self, n: int = 40) -> str:
        if self.log_path and self.log_path.exists():
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    tmp = Path(tempfile.mkdtemp(prefix="yv-browser-"))
    db_path = tmp / "youthvoice.db"
    port = free_port()
    env = dict(os.environ)
    env.update({
        "YOUTHVOICE_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "YOUTHVOICE_VAR_DIR": str(tmp / "var"),
        "YOUTHVOICE_SECRET_KEY": "browser-test-secret-key-not-for-production",
        "YOUTHVOICE_SUBMIT_RATE": "100000",
        "YOUTHVOICE_LOGIN_RATE": "100000",
        "YOUTHVOICE_JOIN_BURST": "100000",  # every browser of a test joins from 127.0.0.1
        "YOUTHVOICE_CODE_MISS_LIMIT": "100000",
        "YOUTHVOICE_BASE_URL": f"http://127.0.0.1:{port}",
    })
    server = Server(url=f"http://127.0.0.1:{port}", db_path=db_path, var_dir=tmp / "var", env=env,
                    log_path=tmp / "server.log")
    subprocess.run([*_cli(), "demo"], env=env, check=True, capture_output=True, timeout=300)
    log = server.log_path.open("wb")
    server.process = subprocess.Popen([*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start in 60 s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------- page checks ----------

def run_axe(page, twin=None) -> list[dict]:
    """axe-core on the current page with the WCAG 2.x A/AA rules. Injected through
    the DevTools protocol (page.evaluate), so the app's CSP need not be relaxed.

    axe needs timers, which do not run in a page with JavaScript switched off; then
    pass `twin`, a page with JavaScript on and the same viewport: it is shown the
    same HTML at the same address (stylesheets come from the server) and checked."""
    if twin is not None:
        html, url = page.content(), page.url

        def serve_copy(route):
            if route.request.url == url and route.request.resource_type == "document":
                route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
            else:
                route.continue_()

        twin.route("**/*", serve_copy)
        try:
            twin.goto(url)
            return run_axe(twin)
        finally:
            twin.unroute("**/*", serve_copy)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }""",
        AXE_TAGS,
    )
    return result


def format_violations(where: str, violations: list[dict]) -> str:
    out = [f"{where}: {len(violations)} axe violation(s)"]
    for v in violations:
        out.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for n in v["nodes"]:
            out.append(f"      {n['target']}  {(n['summary'] or '').splitlines()[-1:]}")
    return "\n".join(out)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no sideways scrolling)."""
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                         " - document.documentElement.clientWidth")


def login(page, base_url: str, role: str = "process_leader", lang: str | None = None) -> None:
    email, password = DEMO_STAFF[role]
    page.goto(f"{base_url}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.press("#password", "Enter")


# ---------- which pages exist ----------

SKIP_SUFFIXES = ("/events", ".csv", ".json", ".pdf", ".svg", ".png")
SKIP_PATHS = {"/healthz", "/logout"}


def html_get_paths() -> list[str]:
    """Every GET route of the app that is a page (not the API, static files, streams or
    downloads), taken from the app itself so that new pages are checked automatically."""
    from youthvoice.app import create_app
    from youthvoice.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix="yv-routes-"))
    try:
        app = create_app(Settings.from_env(database_url=f"sqlite+aiosqlite:///{tmp / 'x.db'}",
                                           secret_key="routes-only", var_dir=tmp))
        paths = sorted({r.path for r in app.routes if "GET" in getattr(r, "methods", ())
                        and not r.path.startswith(("/api", "/schema", "/static"))
                        and r.path not in SKIP_PATHS and not r.path.endswith(SKIP_SUFFIXES)})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths


PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def fill_path(server: Server, path: str) -> str | None:
    """A real address for a route pattern, from the demo data; None when the demo
    data has nothing to show there (yet)."""
    first = path.strip("/").split("/")[0]
    survey = server.sql("select s.id, s.slug from survey s join unit u on u.id = s.unit_id "
                        "where u.slug = ? order by s.id limit 1", DEMO_UNIT)[0]
    workshop = server.workshop()
    values: dict[str, object] = {}
    for name in PARAM.findall(path):
        if name == "slug":
            values[name] = DEMO_UNIT if first == "u" else survey[1]
        elif name == "survey_id":
            values[name] = survey[0]
        elif name == "key":
            values[name] = "closer_to_labour_market"
        elif name in ("code", "workshop_id"):
            if workshop is None:
                return None
            values[name] = workshop[1] if name == "code" else workshop[0]
        else:
            return None
    return PARAM.sub(lambda m: str(values[m.group(1)]), path)
