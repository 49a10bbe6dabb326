"""The `youthvoice` command (CONTRACT "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import logging
import logging.config
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable

import uvicorn
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.demo import add_responses
from survey.models import Survey, SurveyCode
from survey.purge import purge
from workshops.models import Workshop
from workshops.subscriptions import purge_subscriptions

from . import demo
from .app import DEMOS
from .auth import check_role, create_api_token, deactivate, hash_password, revoke_tokens, user_by_email
from .backup import backup, restore
from .clock import today
from .codes import format_code
from .config import Settings
from .db import make_engine, make_sessionmaker, run_after_commit
from .demo import DEMO_USERS
from .http import TimedHttpToolsProtocol
from .i18n import LANGUAGES
from .migrate import upgrade
from .models import Agreement, Unit, User


def _settings() -> Settings:
    return Settings.from_env()


async def _with_db(settings: Settings, fn: Callable[[AsyncSession], Awaitable[object]]) -> object:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            result = await fn(db)
            await db.commit()  # services only flush: a command is one transaction, like a request
            await run_after_commit(db)  # e.g. the demo's workshop close: its files are scrubbed, as in a request
            return result
    finally:
        await engine.dispose()


def run_db(fn: Callable[[AsyncSession], Awaitable[object]], settings: Settings | None = None) -> object:
    return asyncio.run(_with_db(settings or _settings(), fn))


def cmd_migrate(_args: argparse.Namespace) -> None:  # every command gets the parsed arguments
    upgrade(_settings().database_url)


def print_demo_logins() -> None:
    print("Demo logins (e-mail / password):")
    for email, role, password, _units in DEMO_USERS:
        print(f"  {role:15} {email:40} {password}")


def cmd_demo(args: argparse.Namespace) -> None:
    settings = _settings()
    upgrade(settings.database_url)

    async def go(db: AsyncSession) -> None:
        if await demo.is_empty(db):
            ctx = await demo.load(db)
            for load in DEMOS:  # each domain's part, in order
                await load(db, ctx)
            await db.commit()
            print("Demo data loaded.")
        elif not args.if_empty and not args.responses:
            print("The database already has data; demo data not loaded again.")
        if args.responses:
            await add_responses(db, args.responses, progress=True)
            print(f"Added {args.responses} synthetic answers.")

    run_db(go, settings)
    # the demo's figures are published at once
    subprocess.run(PUBLISH, check=True, env={**os.environ, "YOUTHVOICE_DATABASE_URL": settings.database_url},
                   stdout=subprocess.DEVNULL if args.quiet else None)
    if not args.quiet:  # `make run` prints the logins in the summary of `serve --summary`
        print_demo_logins()


async def run_summary(db: AsyncSession, base: str) -> list[str]:
    """The ways in that `make run` prints once the database is ready: the demo logins (if the demo users
    are there), a survey link with an unspent one-time code, an open survey link, a workshop code to join.
    A part the database has nothing for is left out."""
    lines: list[str] = []
    emails = set((await db.execute(select(User.email).where(
        User.email.in_([u[0] for u in DEMO_USERS]), User.active.is_(True)))).scalars())
    if emails:
        lines += [f"Staff: sign in at {base}/login (demo logins, e-mail / password; change them before real use):"]
        lines += [f"  {role:15} {email:40} {password}" for email, role, password, _ in DEMO_USERS if email in emails]
    day = today()
    live = (Survey.status == "published", Survey.opens <= day, Survey.closes >= day)
    young: list[str] = []
    coded = (await db.execute(select(Survey.slug, SurveyCode.code).join(SurveyCode, SurveyCode.survey_id == Survey.id)
                              .where(*live, SurveyCode.spent.is_(False))
                              .order_by(Survey.id, SurveyCode.code).limit(1))).first()
    if coded:
        young.append(f"  survey with a one-time code: {base}/s/{coded.slug}?code={format_code(coded.code)}")
    open_slug = (await db.execute(select(Survey.slug).where(*live, Survey.access == "open")
                                  .order_by((Survey.slug == (coded.slug if coded else "")), Survey.id)
                                  .limit(1))).scalar()
    if open_slug:
        young.append(f"  open survey, no code:        {base}/s/{open_slug}")
    ws_code = (await db.execute(select(Workshop.code).where(Workshop.status == "open")
                                .order_by(Workshop.date.desc(), Workshop.id.desc()).limit(1))).scalar()
    if ws_code:
        young.append(f"  workshop to join:            {base}/w/{ws_code}  (code {ws_code})")
    if young:
        lines += ["Young person (on a phone or in a private window):", *young]
    return lines


def _port_taken(host: str, port: int) -> bool:
    """Whether (host, port) cannot be listened on; bound the way uvicorn binds (SO_REUSEADDR), so a port
    left in TIME_WAIT by the last run counts as free, as it is for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


# Every log line of the service is stamped with the day only: a time of day next to a line would help
# match it to a moment someone was seen answering (docs/anonymity.md). The access log has no line for
# youth paths at all (youthvoice/security.py). Given to uvicorn, so every worker process uses it.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
LOG_DATEFMT = "%Y-%m-%d"
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"day": {"format": LOG_FORMAT, "datefmt": LOG_DATEFMT}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "day", "stream": "ext://sys.stderr"}},
    "loggers": {
        "youthvoice": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # uvicorn's access log carries the client address and the moment: off (access_log=False), and
        # silenced here too in case it is switched on by an option.
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    if _port_taken(args.host, args.port):
        # one clear line instead of uvicorn's "[Errno 98] address already in use" after start-up
        sys.exit(f"youthvoice: port {args.port} on {args.host} is already in use (another youthvoice still "
                 f"running?). Stop it, or choose another port: PORT={args.port + 1} make run, "
                 f"or youthvoice serve --port {args.port + 1}")
    upgrade(settings.database_url)
    if args.summary:
        base = f"http://{args.host}:{args.port}"
        where = make_url(settings.database_url).render_as_string(hide_password=True)  # no password on screen
        print(f"youthvoice is set up: database {where} (migrated).")
        print(f"Serving on {base} (Ctrl+C stops it; another port: PORT={args.port + 1} make run)")
        print("\n".join(run_db(lambda db: run_summary(db, base), settings)), flush=True)  # type: ignore[arg-type]
    logging.config.dictConfig(LOG_CONFIG)
    # access_log off: uvicorn's access log carries the client IP. Ours does not.
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any local connection. Which
    # proxies are believed is YOUTHVOICE_TRUSTED_PROXIES, read by the app (youthvoice/security.py).
    # Slow clients: headers must arrive within header_timeout, an idle keep-alive connection is
    # closed after idle_timeout (youthvoice.http.TimedHttpToolsProtocol reads YOUTHVOICE_HEADER_TIMEOUT itself,
    # since each worker process imports it anew).
    uvicorn.run("youthvoice.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False, proxy_headers=False, server_header=False,
                timeout_keep_alive=max(1, int(settings.idle_timeout)), http=TimedHttpToolsProtocol,
                log_level="info", log_config=LOG_CONFIG,
                # A worker gets 30 s (uvicorn's default is 5) to answer its supervisor's health check: on a
                # busy machine the imports alone took longer, and the supervisor killed and restarted
                # workers in a loop (seen under load in the two-worker reliability test).
                timeout_worker_healthcheck=30)


def names_of(pairs: list[str] | None) -> dict[str, str]:
    """--name-in LANG=NAME, repeated: the unit's name in the youth pages' other languages."""
    names = {}
    for pair in pairs or []:
        lang, sep, name = pair.partition("=")
        if not sep or lang not in LANGUAGES or not name.strip():
            raise SystemExit(f"name-in: give LANG=NAME with LANG one of {', '.join(LANGUAGES)} (got '{pair}')")
        names[lang] = name.strip()
    return names


def cmd_unit_names(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        unit = (await db.execute(select(Unit).where(Unit.slug == args.slug))).scalar_one_or_none()
        if unit is None:
            raise SystemExit(f"unit: no unit '{args.slug}'")
        unit.names = {**(unit.names or {}), **names_of(args.name_in)}
        await db.commit()
        print(f"Unit {args.slug}: {', '.join(f'{k}={v}' for k, v in sorted(unit.names.items())) or 'Swedish name only'}.")

    run_db(go)


def cmd_unit_create(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        agreement_slug = args.agreement or args.slug
        agreement = (await db.execute(select(Agreement).where(Agreement.slug == agreement_slug))).scalar_one_or_none()
        if agreement is None:
            agreement = Agreement(slug=agreement_slug, name=agreement_slug)
            db.add(agreement)
            await db.flush()
        if (await db.execute(select(Unit).where(Unit.slug == args.slug))).scalar_one_or_none():
            raise SystemExit(f"unit '{args.slug}' already exists")
        db.add(Unit(slug=args.slug, name=args.name, names=names_of(args.name_in), agreement_id=agreement.id))
        await db.commit()
        print(f"Created unit {args.slug} in agreement {agreement.slug}.")

    run_db(go)


def cmd_user_create(args: argparse.Namespace) -> None:
    try:
        check_role(args.role)
        password = sys.stdin.readline().rstrip("\n")
        pw_hash = hash_password(password)
    except ValueError as e:
        raise SystemExit(str(e)) from None

    async def go(db: AsyncSession) -> None:
        units = []
        for slug in args.unit or []:
            unit = (await db.execute(select(Unit).where(Unit.slug == slug))).scalar_one_or_none()
            if unit is None:
                raise SystemExit(f"unit: no unit '{slug}'")
            units.append(unit)
        email = args.email.strip().lower()
        if (await db.execute(select(User).where(User.email == email))).scalar_one_or_none():
            raise SystemExit(f"email: a user '{email}' already exists")
        db.add(User(email=email, role=args.role, password_hash=pw_hash, units=units))
        await db.commit()
        print(f"Created {args.role} {email}.")

    run_db(go)


def cmd_token_create(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        user = (await db.execute(select(User).where(User.email == args.email.strip().lower()))).scalar_one_or_none()
        if user is None:
            raise SystemExit(f"email: no user '{args.email}'")
        print(await create_api_token(db, user))

    run_db(go)


async def _user(db: AsyncSession, email: str) -> User:
    user = await user_by_email(db, email)
    if user is None:
        raise SystemExit(f"email: no user '{email}'")
    return user


def cmd_token_revoke(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        user = await _user(db, args.email)
        n = await revoke_tokens(db, user)
        print(f"Revoked {n} API token{'s' if n != 1 else ''} of {user.email}.")

    run_db(go)


def cmd_user_deactivate(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        user = await _user(db, args.email)
        sessions, tokens = await deactivate(db, user)
        print(f"Deactivated {user.email}: ended {sessions} sessions and {tokens} API tokens; "
              "the account can no longer sign in.")

    run_db(go)


def cmd_backup(args: argparse.Namespace) -> None:
    backup(_settings(), args.path)


def cmd_restore(args: argparse.Namespace) -> None:
    restore(_settings(), args.path)


def cmd_purge(args: argparse.Namespace) -> None:
    async def go(db: AsyncSession) -> None:
        day = dt.date.fromisoformat(args.today) if args.today else None
        done = await purge(db, day)
        for p in done:
            print(f"{p.unit}: removed {p.answers} answers from before {p.before // 100}-{p.before % 100:02d}, "
                  f"kept as {p.cells} counts.")
        if not done:
            print("Nothing older than the units' retention.")
        # E-mail addresses left for workshop statements whose final answer's reply window has passed.
        gone = await purge_subscriptions(db, day)
        if gone:
            print(f"Deleted {gone} e-mail addresses of finished workshop statements.")

    run_db(go)


# The release runs as `python -m analysis.publish` (see analysis/publish.py), with Ctrl-C stopping it at
# once like SIGTERM does: an interrupted release rolls back in the database (it is made to survive
# kill -9), while Python's KeyboardInterrupt would first wait for a statement blocked on a lock.
PUBLISH = [sys.executable, "-c", ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                                  "from analysis.publish import main; main(sys.argv[1:])")]


def cmd_publish(args: argparse.Namespace) -> None:
    """The release replaces this process (exec) instead of running in a child: whoever stops the
    command (SIGTERM, Ctrl-C, a supervisor's SIGKILL) stops the release itself. A child would live
    on and finish the release after its parent was gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, PUBLISH + (["--today", args.today] if args.today else []))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="youthvoice", description="Anonymous surveys, workshops and effect goals.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="migrate, then serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--summary", action="store_true", help="print the address and the ways in (for make run)")
    s.set_defaults(fn=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)

    d = sub.add_parser("demo", help="load demo data")
    d.add_argument("--responses", type=int, default=0, help="add N synthetic survey answers")
    d.add_argument("--if-empty", action="store_true", help="quietly do nothing when data exists")
    d.add_argument("--quiet", action="store_true", help="print only what was loaded, not the releases and logins")
    d.set_defaults(fn=cmd_demo)

    unit = sub.add_parser("unit").add_subparsers(dest="unit_command", required=True)
    uc = unit.add_parser("create")
    uc.add_argument("slug")
    uc.add_argument("--name", required=True)
    uc.add_argument("--agreement")
    uc.add_argument("--name-in", action="append", metavar="LANG=NAME", help="the name in another language (repeat)")
    uc.set_defaults(fn=cmd_unit_create)
    un = unit.add_parser("names", help="set the unit's name in other languages")
    un.add_argument("slug")
    un.add_argument("--name-in", action="append", required=True, metavar="LANG=NAME")
    un.set_defaults(fn=cmd_unit_names)

    user = sub.add_parser("user").add_subparsers(dest="user_command", required=True)
    us = user.add_parser("create", help="password is read from stdin")
    us.add_argument("--email", required=True)
    us.add_argument("--role", required=True)
    us.add_argument("--unit", action="append")
    us.set_defaults(fn=cmd_user_create)
    ud = user.add_parser("deactivate", help="end a user's sessions and tokens; no more sign-in")
    ud.add_argument("--email", required=True)
    ud.set_defaults(fn=cmd_user_deactivate)

    token = sub.add_parser("token").add_subparsers(dest="token_command", required=True)
    tc = token.add_parser("create")
    tc.add_argument("--email", required=True)
    tc.set_defaults(fn=cmd_token_create)
    tr = token.add_parser("revoke", help="end every API token of a user")
    tr.add_argument("--email", required=True)
    tr.set_defaults(fn=cmd_token_revoke)

    b = sub.add_parser("backup", help="consistent copy of the database, also while serving")
    b.add_argument("path")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="replace the database with a backup")
    r.add_argument("path")
    r.set_defaults(fn=cmd_restore)
    pg = sub.add_parser("purge", help="remove raw answers older than each unit's retention, keep monthly counts")
    pg.add_argument("--today", help=argparse.SUPPRESS)  # YYYY-MM-DD, for tests
    pg.set_defaults(fn=cmd_purge)
    pb = sub.add_parser("publish", help="make the releases due now: final figures for closed periods, "
                                         "today's preliminary totals and the release of waiting answers")
    pb.add_argument("--today", help=argparse.SUPPRESS)  # YYYY-MM-DD, for tests
    pb.set_defaults(fn=cmd_publish)
    return p


def main(argv: list[str] | None = None) -> None:
    # Every file the service creates (database, -wal, -shm, backups, secret key) is for its own user only.
    os.umask(0o077)
    args = parser().parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
