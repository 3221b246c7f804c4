"""`aws-access-bot` entry point: parse the arguments, load the settings, hand off.

Processes are assembled in bot/runtime.py; this module only turns their outcomes (and
settings or database errors) into output and exit statuses.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError

from bot import runtime
from bot.domain.states import Status
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.store import db

# Read by every command from the working directory; the environment wins over it.
ENV_FILE = ".env"

SWEEPS_NEED_SLACK = (
    "SLACK_BOT_TOKEN is not set: the reminder and expiry sweeps post to Slack "
    "(the bot token, xoxb-..., from your Slack app's OAuth & Permissions page)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aws-access-bot", description="Slack bot for approved, one-time AWS IAM access."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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

    requests = sub.add_parser("requests", help="list access requests (`requests show ID`: one)")
    requests.add_argument(
        "--status", choices=[s.value for s in Status], help="only requests in this state"
    )
    requests.add_argument("--limit", type=positive_int, default=None, help="at most this many rows")
    requests.add_argument("--json", action="store_true", help="JSON instead of a table")
    requests.set_defaults(func=cmd_requests)
    requests_sub = requests.add_subparsers(dest="requests_command", metavar="ACTION")
    show = requests_sub.add_parser(
        "show",
        help="one request's whole history: approvers, reasons, account, audit events",
    )
    show.add_argument("request_id", type=positive_int, metavar="ID", help="the request number")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    show.set_defaults(func=cmd_requests_show)

    remind = sub.add_parser(
        "remind", help="run the reminder, expiry and recovery sweeps (for cron deployments)"
    )
    remind.add_argument(
        "--now", action="store_true", required=True, help="run every sweep once, then exit"
    )
    remind.set_defaults(func=cmd_remind)
    check = sub.add_parser("check", help="check config, database, Slack, AWS and PUBLIC_URL")
    check.add_argument(
        "--sandbox",
        action="store_true",
        help="check what `run --sandbox` needs (its database, the sandbox extra; no AWS)",
    )
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
    policy.add_argument(
        "--account",
        metavar="NAME",
        help="the policy the bot's role needs in this [[accounts]] entry (its profiles, its id)",
    )
    policy.add_argument(
        "--trust",
        action="store_true",
        help="print the trust policy of --account's role for the bot's principal instead",
    )
    policy.add_argument(
        "--principal",
        metavar="ARN",
        help="with --trust: the bot's principal (default: who the bot's own credentials are)",
    )
    policy.set_defaults(func=cmd_iam_policy)

    from bot.cli_revoke import add_arguments as revoke_arguments
    from bot.cli_revoke import cmd_revoke

    revoke = sub.add_parser(
        "revoke", help="revoke one grant ([offboarding] mode); tells the requester and owners"
    )
    revoke_arguments(revoke)
    revoke.set_defaults(func=cmd_revoke)

    from bot.audit_export import add_arguments as audit_arguments

    audit = sub.add_parser(
        "audit", help="export the audit log (OCSF JSON lines or CSV), or `audit verify` its chain"
    )
    audit_arguments(audit)
    audit.add_argument(
        "--review",
        type=positive_int,
        metavar="ID",
        help="print access review ID as a report (grants, decisions, audit trail)",
    )
    audit.set_defaults(func=cmd_audit)
    return parser


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {value})")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aws-access-bot")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout, not installed
        return "unknown"


def _described(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every subcommand (at any depth) its one-line `help` as the description its
    own --help shows, unless it has one: a subcommand added with help= only is
    described too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    help_text = str(helps[name])
                    child.description = help_text[0].upper() + help_text[1:] + "."
                _described(child)
    return parser


def load_env_file(path: str | Path = ENV_FILE) -> None:
    """Read `.env` into the process environment the way `make run` does, without
    overriding what is already set (the environment wins over the file)."""
    if Path(path).is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def cmd_db_upgrade(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    runtime.upgrade_database(load_settings(env, need_config=False))
    print("database is up to date")
    return 0


def cmd_requests(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.cli_requests import list_requests_text

    settings = load_settings(env, need_config=False)
    status = Status(args.status) if args.status else None
    print(list_requests_text(settings, status=status, limit=args.limit, as_json=args.json))
    return 0


def cmd_requests_show(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.cli_requests import show_request_text

    settings = load_settings(env, need_config=False)
    print(show_request_text(settings, args.request_id, as_json=args.json))
    return 0


def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.setup_guide import settings_for_run

    settings = settings_for_run(
        runtime.sandbox_env(env) if args.sandbox else env, sandbox=args.sandbox
    )
    configure_logging(settings.log_level, settings.log_format)
    if not args.sandbox:
        _warn_without_aws_credentials()
    runtime.serve_bot(settings, sandbox=args.sandbox, scheduler_enabled=not args.no_scheduler)
    return 0


def _warn_without_aws_credentials() -> None:
    from bot.aws.region import NO_CREDENTIALS, local_credentials_found

    if not local_credentials_found():
        logging.getLogger("bot").warning(NO_CREDENTIALS)


def cmd_remind(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.cli_requests import require_database

    settings = load_settings(env, need_config=True)
    if not settings.slack_bot_token:
        raise SettingsError([SWEEPS_NEED_SLACK])
    require_database(settings)
    configure_logging(settings.log_level, settings.log_format)
    outcomes = runtime.sweep_once(settings)
    for outcome in outcomes:
        print(f"{outcome.job_id}: {'ok' if outcome.ok else 'failed (' + str(outcome.error) + ')'}")
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.doctor import print_results, run_checks

    results = run_checks(
        env,
        slack_client=_slack_client,
        aws_clients=_aws_clients,
        engine_for=db.make_engine,
        sandbox=args.sandbox,
        aws_accounts=_aws_accounts,
    )
    return print_results(results, sys.stdout)


def _slack_client(settings: Settings):  # noqa: ANN202 - slack_sdk imported lazily
    from bot.slack.client import build_web_client

    return build_web_client(settings)


def _aws_accounts(config):  # noqa: ANN001, ANN202 - boto3 imported lazily
    """Every account's Session, over the bot's own credentials (flow 7)."""
    from bot.aws.accounts import AccountSessions
    from bot.aws.region import new_session

    return AccountSessions(config, new_session())


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


def cmd_audit(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.audit_export import run_audit

    return run_audit(args, load_settings(env, need_config=False), sys.stdout)


def cmd_iam_policy(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.aws.policy import ANY_ACCOUNT, render_policy

    if args.account_id != ANY_ACCOUNT and not (
        args.account_id.isdigit() and len(args.account_id) == 12
    ):
        print(f"--account-id must be 12 digits (got {args.account_id!r})", file=sys.stderr)
        return 1
    settings = load_settings(env, need_config=True)
    if args.account is None and not args.trust:
        print(render_policy(settings.bot, args.account_id), end="")
        return 0
    return _account_iam_policy(args, settings)


def _account_iam_policy(args: argparse.Namespace, settings: Settings) -> int:
    """`iam-policy --account NAME [--trust]` (flow 7)."""
    from bot.aws.account_policy import account_policy, render, trust_policy

    config = settings.bot
    if args.account is None:
        print("--trust needs --account NAME (the account whose role it is for)", file=sys.stderr)
        return 1
    account = config.account(args.account)
    if account is None:
        known = ", ".join(a.name for a in config.all_accounts())
        print(
            f"--account {args.account!r} is not in [[accounts]] (known: {known})", file=sys.stderr
        )
        return 1
    if not args.trust:
        print(render(account_policy(config, account, args.account_id)), end="")
        return 0
    if not account.role_arn:
        print(
            f"account {account.name} has no role_arn: the bot works there with its own "
            "credentials, no role to trust",
            file=sys.stderr,
        )
        return 1
    principal = args.principal
    if principal is None:
        try:
            from bot.aws.accounts import bot_principal
            from bot.aws.region import new_session

            principal = bot_principal(new_session())
        except Exception as exc:  # no credentials, no network: say what to pass instead
            print(
                f"cannot tell the bot's principal (sts:GetCallerIdentity: {type(exc).__name__});"
                " pass --principal ARN",
                file=sys.stderr,
            )
            return 1
    print(render(trust_policy(principal, account.external_id)), end="")
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    if env is None:
        load_env_file()
    args = _described(_parser()).parse_args(argv)
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
