"""`aws-access-bot` entry point. Loads settings once and passes them down."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from bot.container import build_container
from bot.domain.states import Status
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.store import db

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aws-access-bot", description="Slack bot for approved, one-time AWS IAM access."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="serve Slack, the credential pages and /healthz")
    run.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run reminder/expiry sweeps in this process (use `remind --now` from cron)",
    )
    run.set_defaults(func=cmd_run)

    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply pending migrations").set_defaults(func=cmd_db_upgrade)

    requests = sub.add_parser("requests", help="list access requests")
    requests.add_argument(
        "--status", choices=[s.value for s in Status], help="only requests in this state"
    )
    requests.add_argument("--limit", type=int, default=None, help="at most this many rows")
    requests.set_defaults(func=cmd_requests)
    return parser


def cmd_db_upgrade(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = load_settings(env, need_config=False)
    container = build_container(settings)
    try:
        db.upgrade(container.engine)
    finally:
        container.close()
    print("database is up to date")
    return 0


def cmd_requests(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.services.listing import list_requests, render_table

    settings = load_settings(env, need_config=False)
    container = build_container(settings)
    try:
        if db.pending_migrations(container.engine):
            print("the database is not migrated: run `aws-access-bot db upgrade`", file=sys.stderr)
            return 1
        status = Status(args.status) if args.status else None
        rows = list_requests(container.sessions, status=status, limit=args.limit)
        print(render_table(rows, container.clock.now()))
    finally:
        container.close()
    return 0


def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.container import build_credential_links
    from bot.web.credentials import credential_routes
    from bot.web.health import health_handler
    from bot.web.router import Router
    from bot.web.server import serve

    settings: Settings = load_settings(env, need_config=True)
    configure_logging(settings.log_level, settings.log_format)
    container = build_container(settings)
    try:
        db.upgrade(container.engine)
        router = Router()
        router.add(["GET"], "/healthz", health_handler(container.engine))
        # flow 4: the one-time credentials pages
        credential_routes(router, build_credential_links(container), container.clock)
        serve(router, settings.host, settings.port)
    finally:
        container.close()
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args, os.environ if env is None else env)
    except SettingsError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
