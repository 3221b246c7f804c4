"""`aws-access-bot` entry point. Loads settings once and passes them down."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from sqlalchemy.exc import OperationalError

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
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="try the bot: AWS is an in-process moto and every Slack message says so",
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

    remind = sub.add_parser(
        "remind", help="run the reminder, expiry and recovery sweeps (for cron deployments)"
    )
    remind.add_argument(
        "--now", action="store_true", required=True, help="run every sweep once, then exit"
    )
    remind.set_defaults(func=cmd_remind)
    check = sub.add_parser("check", help="check config, database, Slack, AWS and PUBLIC_URL")
    check.set_defaults(func=cmd_check)

    manifest = sub.add_parser("manifest", help="print the Slack app manifest for this bot")
    manifest.add_argument("--url", help="the bot's public base URL, e.g. https://bot.example.com")
    manifest.add_argument(
        "--socket-mode", action="store_true", help="Socket Mode app (no public URL needed)"
    )
    manifest.set_defaults(func=cmd_manifest)

    policy = sub.add_parser("iam-policy", help="print the least-privilege IAM policy the bot needs")
    policy.add_argument(
        "--account-id", default="*", help="12-digit AWS account id (default: any account, *)"
    )
    policy.set_defaults(func=cmd_iam_policy)
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
    from bot.container import build_runtime
    from bot.scheduler import build_scheduler
    from bot.setup_guide import FIRST_RUN_GUIDE, startup_problems
    from bot.slack.app import SocketModeRefused, build_app, http_handler, start_socket_mode
    from bot.web.credentials import credential_routes
    from bot.web.health import health_handler
    from bot.web.router import Router
    from bot.web.server import serve

    sandbox_aws = None
    if args.sandbox:
        from bot.sandbox import INSTALL_HINT, SANDBOX_DATABASE_URL, sandbox_available

        if not sandbox_available():
            print(INSTALL_HINT, file=sys.stderr)
            return 1
        # Sandbox requests never mix with the real bot's (an approval there is real).
        env = {**env, "DATABASE_URL": env.get("DATABASE_URL") or SANDBOX_DATABASE_URL}
    problems, first_run = startup_problems(env)
    if problems:
        print("\n".join(problems + ([FIRST_RUN_GUIDE] if first_run else [])), file=sys.stderr)
        return 1
    settings: Settings = load_settings(env, need_config=True, need_slack=True)
    configure_logging(settings.log_level, settings.log_format)
    container = build_container(settings)
    runtime = socket_mode = scheduler = None
    try:
        db.upgrade(container.engine)
        if args.sandbox:
            from bot.sandbox import start_sandbox_aws

            sandbox_aws = start_sandbox_aws(settings.bot)
            runtime = build_runtime(container, aws_session=sandbox_aws.session, sandbox=True)
        else:
            runtime = build_runtime(container)
        slack_app = build_app(
            settings,
            runtime.services,
            runtime.client,
            after_ack=runtime.after_ack,
            sandbox=args.sandbox,
        )
        router = Router()
        router.add(["GET"], "/healthz", health_handler(container.engine))
        credential_routes(router, runtime.services.credential_links, container.clock)
        if settings.socket_mode:
            # Events arrive over the socket; nothing unsigned is accepted over HTTP.
            try:
                socket_mode = start_socket_mode(slack_app, settings.slack_app_token or "")
            except SocketModeRefused as exc:
                print(exc, file=sys.stderr)
                return 1
        else:
            router.mount("/slack/events", http_handler(slack_app))
        if not args.no_scheduler:
            scheduler = build_scheduler(runtime.jobs, container.clock)
            scheduler.start()
            log.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
        # Everything built so far lives as long as the process: keep it out of the
        # cyclic GC's way so full collections under load stay short.
        gc.collect()
        gc.freeze()
        serve(router, settings.host, settings.port, trusted_proxy=settings.trusted_proxy)
    finally:
        if socket_mode is not None:
            socket_mode.close()
        if scheduler is not None:
            scheduler.shutdown(wait=True)  # lets a running sweep finish its request
        if runtime is not None:
            runtime.close()
        if sandbox_aws is not None:
            sandbox_aws.stop()
        container.close()
    return 0


def cmd_remind(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.container import build_runtime
    from bot.scheduler import run_sweeps_once

    settings = load_settings(env, need_config=True)
    if not settings.slack_bot_token:
        raise SettingsError(
            [
                "SLACK_BOT_TOKEN is not set: the reminder and expiry sweeps post to Slack "
                "(the bot token, xoxb-..., from your Slack app's OAuth & Permissions page)"
            ]
        )
    configure_logging(settings.log_level, settings.log_format)
    container = build_container(settings)
    runtime = None
    try:
        if db.pending_migrations(container.engine):
            print("the database is not migrated: run `aws-access-bot db upgrade`", file=sys.stderr)
            return 1
        runtime = build_runtime(container)
        outcomes = run_sweeps_once(runtime.jobs, container.clock)
    finally:
        if runtime is not None:
            runtime.close()
        container.close()
    for outcome in outcomes:
        print(f"{outcome.job_id}: {'ok' if outcome.ok else 'failed (' + str(outcome.error) + ')'}")
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.doctor import print_results, run_checks

    results = run_checks(
        env, slack_client=_slack_client, aws_clients=_aws_clients, engine_for=db.make_engine
    )
    return print_results(results, sys.stdout)


def _slack_client(settings: Settings):  # noqa: ANN202 - slack_sdk imported lazily
    from bot.container import build_web_client

    return build_web_client(settings)


def _aws_clients():  # noqa: ANN202 - boto3 imported lazily
    from bot.aws.clients import iam_client, sts_client

    return iam_client(), sts_client()


def cmd_manifest(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.slack.manifest import ManifestError, render_manifest

    try:
        print(render_manifest(args.url, socket_mode=args.socket_mode), end="")
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_iam_policy(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.aws.policy import ANY_ACCOUNT, render_policy

    if args.account_id != ANY_ACCOUNT and not (
        args.account_id.isdigit() and len(args.account_id) == 12
    ):
        print(f"--account-id must be 12 digits (got {args.account_id!r})", file=sys.stderr)
        return 1
    settings = load_settings(env, need_config=True)
    print(render_policy(settings.bot, args.account_id), end="")
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args, os.environ if env is None else env)
    except SettingsError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except OperationalError as exc:
        # The driver's first line says what failed (host, port, file); never the password.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"cannot use the database: {reason} (check DATABASE_URL)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
