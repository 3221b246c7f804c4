"""`aws-access-bot revoke (REQUEST_ID | --user IAM_USER_NAME) [--reason TEXT]` (flow 6):
revoke one grant from the terminal with `[offboarding] mode`, through the same use case
as Slack (bot/services/revoke.py); the requester and the owners are told in Slack.
Exit 0 when the grant is revoked (or already was), 1 with one clear line otherwise."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Mapping
from typing import TextIO

from bot.domain.revocation import RevokeCause
from bot.settings import SettingsError, load_settings

NEEDS_SLACK = (
    "SLACK_BOT_TOKEN is not set: revoke tells the requester and the owners in Slack "
    "(the bot token, xoxb-..., from your Slack app's OAuth & Permissions page)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "request_id", nargs="?", type=int, metavar="REQUEST_ID", help="the request to revoke"
    )
    parser.add_argument(
        "--user", metavar="IAM_USER_NAME", help="revoke the grant holding this IAM user"
    )
    parser.add_argument(
        "--reason", default="", metavar="TEXT", help="why (the requester and the owners see it)"
    )


def actor_name() -> str:
    """Who ran the command, as the audit log names them."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return f"cli:{user}"[:64]


def cmd_revoke(args: argparse.Namespace, env: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    from bot.cli_requests import require_database
    from bot.container import build_runtime
    from bot.logs import configure_logging
    from bot.runtime import opened, require_migrated

    if (args.request_id is None) == (args.user is None):
        print("revoke: give either REQUEST_ID or --user IAM_USER_NAME", file=sys.stderr)
        return 1
    settings = load_settings(env, need_config=True)
    if not settings.slack_bot_token:
        raise SettingsError([NEEDS_SLACK])
    require_database(settings)
    # A terminal command: the outcome is its one line; warnings (a Slack message that
    # will be retried, an AWS step retried) still show, and LOG_LEVEL=DEBUG shows all.
    quiet = "WARNING" if settings.log_level == "INFO" else settings.log_level
    configure_logging(quiet, settings.log_format)
    with opened(settings) as container:
        require_migrated(container)
        runtime = build_runtime(container)
        try:
            service = runtime.services.revoke
            assert service is not None
            request_id = args.request_id
            if request_id is None:
                found = service.find_by_iam_user(args.user)
                if found is None:
                    print(f"revoke: no request holds IAM user {args.user}", file=sys.stderr)
                    return 1
                request_id = found.id
            outcome = service.revoke(
                request_id, actor=actor_name(), reason=args.reason, cause=RevokeCause.CLI
            )
        finally:
            runtime.close()
    if outcome.done:
        print(outcome.message, file=out)
        return 0
    print(f"revoke: {outcome.message}", file=sys.stderr)
    return 1
