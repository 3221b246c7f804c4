"""`aws-access-bot` entry point: parse the arguments, load the settings, hand off.

Processes are assembled in bot/runtime.py; this module only turns their outcomes (and
settings or database errors) into output and exit statuses.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from sqlalchemy.exc import OperationalError

from bot import runtime
from bot.domain.states import Status
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.store import db

SWEEPS_NEED_SLACK = (
    "SLACK_BOT_TOKEN is not set: the reminder and expiry sweeps post to Slack "
    "(the bot token, xoxb-..., from your Slack app's OAuth & Permissions page)"
)


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
    runtime.upgrade_database(load_settings(env, need_config=False))
    print("database is up to date")
    return 0


def cmd_requests(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = load_settings(env, need_config=False)
    status = Status(args.status) if args.status else None
    print(runtime.requests_table(settings, status=status, limit=args.limit))
    return 0


def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.setup_guide import settings_for_run

    settings = settings_for_run(runtime.sandbox_env(env) if args.sandbox else env)
    configure_logging(settings.log_level, settings.log_format)
    runtime.serve_bot(settings, sandbox=args.sandbox, scheduler_enabled=not args.no_scheduler)
    return 0


def cmd_remind(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = load_settings(env, need_config=True)
    if not settings.slack_bot_token:
        raise SettingsError([SWEEPS_NEED_SLACK])
    configure_logging(settings.log_level, settings.log_format)
    outcomes = runtime.sweep_once(settings)
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
    from bot.slack.client import build_web_client

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
    except runtime.StartupError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OperationalError as exc:
        # The driver's first line says what failed (host, port, file); never the password.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"cannot use the database: {reason} (check DATABASE_URL)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
