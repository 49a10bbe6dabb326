"""The Litestar application factory: the composition root, and the one module that knows every domain.

Domains (survey, workshops, analysis) import the shared package, never the reverse; analysis reads
survey and workshops. What the shared parts need from the domains — routes, tables, migrations, the
records of processing, the demo — is gathered here and handed to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

import analysis.api
import analysis.demo
import analysis.models
import analysis.pages
import analysis.results
import survey.api
import survey.demo
import survey.models
import survey.pages
import survey.service
import workshops.api
import workshops.demo
import workshops.models
import workshops.pages
from survey.sealing import bind as seal_with

from . import __version__, models, pages
from .auth import provide_scope, provide_user
from .config import Settings
from .db import (
    cleanup_on_schedule,
    commit_request,
    finish_request,
    make_engine,
    make_sessionmaker,
    note_request,
    provide_db,
)
from .forms import refusing_broken_text
from .http import http_error_handler, internal_error_handler, refuse_nul, validation_handler
from .openapi import DescribedJson
from .ratelimit import RateLimiter
from .security import request_guard, security_middleware

log = logging.getLogger("youthvoice.release")
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

DOMAINS = (survey, workshops, analysis)  # in the order their demos and migrations build on each other

ROUTES = [
    *pages.ROUTES,
    *survey.api.ROUTES, *survey.pages.ROUTES,
    *workshops.api.ROUTES, *workshops.pages.ROUTES,
    *analysis.api.ROUTES, *analysis.pages.ROUTES,
]

# Records of processing (GDPR art. 30), every domain's part.
PURPOSES: dict[str, tuple[str, str]] = {
    **models.PURPOSES, **survey.models.PURPOSES, **workshops.models.PURPOSES, **analysis.models.PURPOSES,
}

# Alembic version folders: the shared tables' and each domain's own branch.
MIGRATIONS = [HERE / "migrations" / "versions", *(Path(d.__file__).resolve().parent / "migrations" for d in DOMAINS)]

DEMOS = (survey.demo.load, workshops.demo.load, analysis.demo.load)


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_survey_results() -> Any:
    """The /r/ page (survey) shows figures that analysis publishes."""
    return analysis.results.results


def provide_next_release() -> Any:
    """`/u/{unit}` says when the unit's survey figures are next published (analysis/calendar.py)."""
    return analysis.read.next_release_for


def provide_scrub() -> Any:
    """Workshop replies are scrubbed of names and numbers by the same scrubber as survey free text."""
    return survey.service.scrub


PUBLISH_EVERY = 600.0  # seconds between checks; releases are made on the calendar's days (analysis/calendar.py)


async def publish_on_schedule(settings: Settings, every: float = PUBLISH_EVERY) -> None:
    """Runs `youthvoice publish` every `every` seconds in its own process, so that the statistics
    (numpy and scipy, and the CPU a release takes) stay out of the workers that answer requests.
    The first round waits: a process just started publishes with the command itself."""
    env = {**os.environ, "YOUTHVOICE_DATABASE_URL": settings.database_url,
           "YOUTHVOICE_MIN_CELL": str(settings.min_cell),
           # the same key, so the release can open the waiting answers (survey/sealing.py)
           "YOUTHVOICE_SECRET_KEY": settings.secret_key}
    while True:
        await asyncio.sleep(every)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "analysis.publish", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await proc.communicate()
        except asyncio.CancelledError:
            # The server is stopping: so does its release (the database rolls it back), not left running alone.
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await proc.wait()
            raise
        if proc.returncode:
            log.error("publishing the due releases failed: %s", err.decode(errors="replace")[-2000:])


_gc_tuned = [False]


def tune_gc() -> None:
    """Once per process: what is loaded at start lives as long as the process, so keep it out
    of the garbage collector's full passes, which otherwise stall a busy worker now and then
    (P1's p99 in BENCHMARKS.md); requests allocate much and leave few cycles, so collect less
    often. Only once, so that a process making many apps (the tests) does not pin old ones."""
    if not _gc_tuned[0]:
        _gc_tuned[0] = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 50)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    async def startup(app: Litestar) -> None:
        # Everything that depends on the settings is made here from app.state.settings, so the
        # same routes can serve another database after a restart (the tests make the app once).
        s = app.state.settings
        engine = make_engine(s.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)  # may write: SQLite BEGIN IMMEDIATE
        app.state.read_sessionmaker = make_sessionmaker(engine, write=False)  # GET pages, live updates
        app.state.limiter = RateLimiter(s.secret_key, s.trusted_proxies)
        app.state.limiter.bind(engine)
        app.state.hosts = s.hosts
        app.state.closers = []
        refuse_nul(engine)
        tune_gc()
        # Releases on schedule (analysis/release.py); with several workers each release's unique
        # key lets only one of them make it.
        app.state.publisher = asyncio.create_task(publish_on_schedule(s))
        # A checkpoint or VACUUM FULL that a busy reader kept from running is retried until it has run.
        app.state.cleaner = asyncio.create_task(cleanup_on_schedule(engine, s.cleanup_retry, s.cleanup_retry_max))
        seal_with(engine, s.secret_key)  # waiting answers are sealed under the service's key (survey/sealing.py)

    async def shutdown(app: Litestar) -> None:
        for task in (getattr(app.state, "publisher", None), getattr(app.state, "cleaner", None)):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for close in getattr(app.state, "closers", []):  # what domains opened beside the engine
            close()
        app.state.closers = []
        engine = getattr(app.state, "engine", None)
        if engine is not None:
            await engine.dispose()

    return Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        dependencies={
            "db": Provide(provide_db),
            "user": Provide(provide_user),
            "staff": Provide(provide_scope),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "survey_results": Provide(provide_survey_results, sync_to_thread=False),
            "scrub": Provide(provide_scrub, sync_to_thread=False),
            "next_release": Provide(provide_next_release, sync_to_thread=False),
        },
        # The request's transaction is committed before its response starts (commit_request), so a
        # failed commit is answered as such; finish_request rolls back what an error left open.
        before_request=refusing_broken_text(note_request),  # and a body with broken UTF-8 is a 422
        after_request=commit_request,
        before_send=[finish_request],
        # The guard first: it refuses unknown hosts and sets https from a trusted proxy for what follows.
        middleware=[request_guard(settings.hosts, settings.trusted_proxies), security_middleware],
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6),
        exception_handlers={
            ValidationException: validation_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        openapi_config=OpenAPIConfig(title="youthvoice", version=__version__, path="/schema",
                                     render_plugins=[DescribedJson()]),
        on_startup=[startup],
        on_shutdown=[shutdown],
        state=State({"settings": settings, "purposes": PURPOSES}),
        request_max_body_size=1_000_000,
        logging_config=None,
        debug=False,
    )
