"""`aws-access-bot check`: is this installation ready? One line per check.

Each check takes what it inspects as a parameter (an engine, a WebClient, boto3 clients)
and returns CheckResults; `run_checks` wires them from the environment. AWS checks live
with the provisioner in `bot.aws.doctor` and are imported lazily, so this module works
(and says so) in a build without them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.aws import doctor as aws_doctor
from bot.domain.checks import CheckResult
from bot.settings import BotConfig, Settings, SettingsError, load_config, load_settings

OK, FAIL, WARN = "✓", "✗", "⚠"


def ok(line: str) -> CheckResult:
    return CheckResult(True, line)


def fail(line: str) -> CheckResult:
    return CheckResult(False, line)


def warn(line: str) -> CheckResult:
    return CheckResult(True, line, warning=True)


def mark(result: CheckResult) -> str:
    if not result.ok:
        return f"{FAIL} {result.line}"
    return f"{WARN if result.warning else OK} {result.line}"


# --- individual checks -----------------------------------------------------------


def check_config(settings: Settings) -> tuple[BotConfig | None, list[CheckResult]]:
    try:
        config = load_config(settings.config_path)
    except SettingsError as exc:
        return None, [fail(line) for line in exc.problems]
    profiles = ", ".join(p.name for p in config.profiles)
    return config, [ok(f"config: {settings.config_path} is valid (profiles: {profiles})")]


def check_database(engine: Engine, url: str, shown: str | None = None) -> list[CheckResult]:
    """`url` is what SQLAlchemy is given; `shown` the DATABASE_URL as the user set it
    (password masked), which is what the lines name. A database that is not there yet or
    not migrated is a warning (⚠), not a failure: `run` migrates at start, so the
    quickstart's order (`check`, then `run`) is right."""
    from bot.store.db import pending_migrations

    parsed = make_url(url)
    shown = shown or parsed.render_as_string(hide_password=True)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and not Path(database).exists():
        # Connecting would create an empty file; say what to do instead.
        return [
            warn(
                f"database: {shown} does not exist yet: run `aws-access-bot db upgrade` "
                "(`run` creates and migrates it at start)"
            )
        ]
    try:
        pending = pending_migrations(engine)
    except Exception as exc:  # any driver error: unreachable, auth, unknown database
        return [fail(f"database: cannot use {shown}: {type(exc).__name__}")]
    if pending:
        return [
            warn(
                f"database: {shown} is reachable but not migrated: "
                "run `aws-access-bot db upgrade` (`run` also migrates at start)"
            )
        ]
    return [ok(f"database: {shown} is reachable and migrated")]


def _slack_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        return str(response.get("error", "unknown_error"))
    return type(exc).__name__


def check_slack(client: Any, config: BotConfig | None) -> list[CheckResult]:
    """`client` is a slack_sdk WebClient already pointed at SLACK_API_URL."""
    try:
        auth = client.auth_test()
    except Exception as exc:  # SlackApiError or a network error; both mean "not ready"
        if getattr(exc, "response", None) is None:  # no answer: the token was never judged
            return [
                fail(
                    f"Slack: cannot reach {client.base_url}: {type(exc).__name__} "
                    "(check the network, or SLACK_API_URL)"
                )
            ]
        return [fail(f"Slack: auth.test failed: {_slack_error(exc)} (check SLACK_BOT_TOKEN)")]
    results = [ok(f"Slack: auth.test ok (team {auth.get('team')}, bot user {auth.get('user_id')})")]
    if config is None:
        return results
    # Every account's approval channel and owners ([slack]'s without [[accounts]]).
    results.extend(_check_channel(client, channel) for channel in config.channels())
    owners = dict.fromkeys(o for a in config.all_accounts() for o in config.owners_of(a.name))
    results.extend(_check_owner(client, owner) for owner in owners)
    return results


def _check_channel(client: Any, channel: str) -> CheckResult:
    try:
        info = client.conversations_info(channel=channel)
    except Exception as exc:
        error = _slack_error(exc)
        if error == "channel_not_found":
            return fail(
                f"Slack: approval channel {channel} not found (wrong id, or a private channel "
                "the bot was not invited to: /invite @aws-access there)"
            )
        if error == "missing_scope":
            needed = getattr(exc, "response", {}).get("needed", "channels:read")
            return fail(
                f"Slack: conversations.info needs the {needed} scope: update the app from "
                "`aws-access-bot manifest` and reinstall it"
            )
        return fail(f"Slack: conversations.info {channel} failed: {error}")
    if not info["channel"].get("is_member"):
        return fail(
            f"Slack: the bot is not a member of approval channel {channel}: "
            "/invite @aws-access there"
        )
    return ok(f"Slack: the bot is a member of approval channel {channel}")


def _check_owner(client: Any, owner: str) -> CheckResult:
    try:
        user = client.users_info(user=owner)["user"]
    except Exception as exc:
        error = _slack_error(exc)
        if error == "user_not_found":
            return fail(f"Slack: owner {owner} is not a user of this workspace")
        return fail(f"Slack: users.info {owner} failed: {error}")
    if user.get("deleted"):
        return fail(f"Slack: owner {owner} is deactivated")
    if user.get("is_bot"):
        return fail(f"Slack: owner {owner} is a bot, not a person")
    return ok(f"Slack: owner {owner} (@{user.get('name', owner)}) is an active user")


def check_aws(iam: Any, sts: Any, config: BotConfig) -> list[CheckResult]:
    """The provisioner's AWS checks; an unexpected SDK error is a failed check, not a crash."""
    try:
        return list(aws_doctor.check_aws(iam, sts, config))
    except Exception as exc:
        return [fail(f"AWS: {type(exc).__name__}: {exc}")]


_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_public_url(url: str) -> CheckResult:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return fail(f"PUBLIC_URL {url!r} must be an http(s) URL such as https://bot.example.com")
    if parts.query or parts.fragment:
        return fail(f"PUBLIC_URL {url} must not have a query or fragment")
    if parts.scheme == "https":
        return ok(f"PUBLIC_URL {url} uses https")
    if is_loopback(host):
        return warn(
            f"PUBLIC_URL {url} is plain http on this machine: fine to try the bot, "
            "production needs https"
        )
    return fail(
        f"PUBLIC_URL {url} must use https: credential links travel over it "
        "(put the bot behind a TLS-terminating proxy or load balancer)"
    )


# --- the whole run ---------------------------------------------------------------

ClientFactory = Callable[[Settings], Any]


def run_checks(
    env: Mapping[str, str],
    *,
    slack_client: ClientFactory,
    aws_clients: Callable[[], tuple[Any, Any]],
    engine_for: Callable[[str], Engine],
    sandbox: bool = False,
    aws_accounts: Callable[[BotConfig], Any] | None = None,
) -> list[CheckResult]:
    """Every check, in order. Factories build the real clients only when a check needs them.

    `sandbox`: check what `run --sandbox` needs instead: its own database (as `run
    --sandbox` picks it), the `sandbox` extra, and no AWS at all."""
    if sandbox:
        from bot.sandbox import SANDBOX_DATABASE_URL

        env = {**env, "DATABASE_URL": env.get("DATABASE_URL") or SANDBOX_DATABASE_URL}
    try:
        settings = load_settings(env, need_config=False)
    except SettingsError as exc:
        return [fail(line) for line in exc.problems]
    config, results = check_config(settings)

    engine = engine_for(settings.database_url)
    try:
        results += check_database(engine, settings.database_url, settings.database_url_shown)
    finally:
        engine.dispose()

    try:
        load_settings(env, need_config=False, need_slack=True)
    except SettingsError as exc:
        results += [fail(line) for line in exc.problems]
    if settings.slack_bot_token:
        results += check_slack(slack_client(settings), config)

    if sandbox:
        results.append(check_sandbox())
    elif config is not None and config.accounts and aws_accounts is not None:
        # [[accounts]]: every account on its own lines (bot/aws/account_doctor.py).
        from bot.aws.account_doctor import check_accounts

        try:
            results += check_accounts(aws_accounts(config), config)
        except Exception as exc:  # no region/credentials configuration at all
            results.append(fail(f"AWS: cannot create clients: {type(exc).__name__}: {exc}"))
    elif config is not None:
        try:
            iam, sts = aws_clients()
        except Exception as exc:  # no region/credentials configuration at all
            results.append(fail(f"AWS: cannot create clients: {type(exc).__name__}: {exc}"))
        else:
            results += check_aws(iam, sts, config)

    results.append(check_public_url(settings.public_url))
    return results


def check_sandbox() -> CheckResult:
    from bot.sandbox import INSTALL_HINT, SANDBOX_ACCOUNT, sandbox_available

    if not sandbox_available():
        return fail(INSTALL_HINT)
    return ok(
        f"AWS: sandbox: an in-process moto (account {SANDBOX_ACCOUNT}) answers every AWS "
        "call; no AWS credentials are needed or used"
    )


def print_results(results: Iterable[CheckResult], out: TextIO) -> int:
    """Print one line per check; the exit status is 1 when any check failed."""
    failed = False
    for result in results:
        print(mark(result), file=out)
        failed = failed or not result.ok
    return 1 if failed else 0
