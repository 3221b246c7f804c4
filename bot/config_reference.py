"""The configuration reference: every environment variable and config-file key, whether
it is required or its default, and what it means, as Markdown for the README.

One declarative table (ENVIRONMENT, CONFIG_FILE) is the source; defaults are read from
the dataclasses the loader fills (bot/settings.py's Settings, bot/domain/config.py), so
a changed default changes the reference. tests/unit/test_config_reference.py checks the
table against the loader itself (every key it accepts has a row, every row is a key it
accepts, "required" keys really are) and that README.md's marked section is this output.

    python -m bot.config_reference            # print the reference
    python -m bot.config_reference --write    # rewrite README.md's marked section
    python -m bot.config_reference --check    # exit 1 if README.md's section is stale

To document a new key: add a Key(...) row below, in the table's order (its `default`
taken from the dataclass field where there is one), then run `--write`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.config_file import format_duration
from bot.domain.config import (
    DEFAULT_ACCOUNT,
    Account,
    AuditConfig,
    AwsConfig,
    Links,
    OffboardingConfig,
    Profile,
    ProvisioningConfig,
    Reminders,
    ReviewsConfig,
)
from bot.settings import DEFAULT_CONFIG, DEFAULT_DATABASE_URL, Settings

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
REQUIRED = "**required**"


@dataclass(frozen=True)
class Key:
    """One setting. `table` is "" for an environment variable, else the config-file
    table ("slack", "profiles", ...). `default` is shown as given (None: no default)."""

    table: str
    name: str
    description: str
    required: bool = False
    default: str | None = None


def toml(value: object) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return str(value)


def _env(name: str, description: str, default: object = None, required: bool = False) -> Key:
    shown = None if default is None else str(default)
    return Key("", name, description, required, shown)


# --- the environment (bot/settings.py) ----------------------------------------------

ENVIRONMENT: tuple[Key, ...] = (
    _env(
        "SLACK_BOT_TOKEN",
        "Bot token (`xoxb-…`): the app's **OAuth & Permissions** page.",
        required=True,
    ),
    _env(
        "SLACK_SIGNING_SECRET",
        "HTTP mode: verifies Slack's requests (**Basic Information → App Credentials**). "
        "Required unless `SLACK_APP_TOKEN` is set.",
    ),
    _env("SLACK_APP_TOKEN", "Socket Mode app-level token (`xapp-…`, `connections:write`)."),
    _env("SLACK_API_URL", "Slack Web API base URL.", "Slack's"),
    _env(
        "SLACK_API_TIMEOUT",
        "Seconds one Web API call may take; a message that must be delivered is then "
        "retried by the outbox.",
        f"`{Settings.slack_api_timeout:g}`",
    ),
    _env(
        "DATABASE_URL",
        "`sqlite:///file.db`, or PostgreSQL as `postgresql://…` or `postgres://…`.",
        f"`{DEFAULT_DATABASE_URL}`",
    ),
    _env(
        "PUBLIC_URL",
        "Base of credential links; https in production.",
        "`http://localhost:PORT`",
    ),
    _env("HOST", "Where the HTTP server listens (`0.0.0.0` in Docker).", f"`{Settings.host}`"),
    _env("PORT", "The HTTP server's port.", f"`{Settings.port}`"),
    _env("BOT_CONFIG", "The TOML config file (below).", f"`{DEFAULT_CONFIG}`"),
    _env("LOG_LEVEL", "`DEBUG`, `INFO`, `WARNING`, `ERROR`.", f"`{Settings.log_level}`"),
    _env("LOG_FORMAT", "`text`, or `json` for one JSON object a line.", f"`{Settings.log_format}`"),
    _env(
        "TRUSTED_PROXY",
        "Address of the load balancer in front of the bot (or `*`): client addresses "
        "come from its `X-Forwarded-For`.",
    ),
)

# Read by the AWS SDK (and bot/aws/region.py), not by bot/settings.py.
AWS_ENVIRONMENT = (
    "AWS credentials and region come from the AWS SDK's own settings: `AWS_PROFILE`, "
    "`AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), an instance "
    "or task role; the region from `AWS_DEFAULT_REGION`, else `AWS_REGION` (the bot "
    "honours it; boto3 alone does not), else the profile's `region`; `AWS_ENDPOINT_URL` "
    "to point at another endpoint."
)

# --- the config file (bot/config_file.py) --------------------------------------------

_AWS, _REM, _ACC = AwsConfig(), Reminders(), Account(DEFAULT_ACCOUNT)
_PROFILE = Profile("x", "", (), (), True, True, 1)

# Tables in file order; a table is required when any of its keys is.
TABLE_NOTES = {
    "slack": "Required.",
    "profiles": "Required: one `[[profiles]]` table per kind of access people can ask for.",
    "accounts": (
        "Optional. Without `[[accounts]]`, `[slack]`'s approval channel and owners and the "
        "bot's own credentials form the one account."
    ),
}
ARRAY_TABLES = frozenset({"profiles", "accounts"})

CONFIG_FILE: tuple[Key, ...] = (
    Key(
        "slack",
        "approval_channel",
        "Channel id (not name) where owners approve or deny requests. The bot must be a member.",
        required=True,
    ),
    Key(
        "slack",
        "owners",
        "Slack user ids (Profile → ⋯ → Copy member ID) allowed to approve. Nobody approves "
        "their own request.",
        required=True,
    ),
    Key(
        "aws",
        "iam_path",
        "Every IAM user the bot creates lives under this path; the bot's own IAM policy is "
        'limited to it. Must start and end with "/"; "/" is refused (it holds every IAM '
        "user, admins included).",
        default=toml(_AWS.iam_path),
    ),
    Key(
        "aws",
        "permissions_boundary",
        "Managed policy ARN set as the permissions boundary of every created user; empty "
        "means none.",
        default=toml(_AWS.permissions_boundary),
    ),
    Key(
        "reminders",
        "every",
        "How often the reminder and expiry sweeps run.",
        default=toml(_REM.every),
    ),
    Key(
        "reminders",
        "remind_after",
        "A request pending this long gets a reminder in the approval thread.",
        default=toml(_REM.remind_after),
    ),
    Key(
        "reminders",
        "expire_after",
        "A request pending this long expires; the requester is told to ask again. Longer "
        "than `remind_after`.",
        default=toml(_REM.expire_after),
    ),
    Key(
        "links",
        "ttl",
        "How long a one-time credentials link works before it must be re-issued.",
        default=toml(Links().ttl),
    ),
    Key(
        "provisioning",
        "lease",
        "How long a worker owns a request it is creating in IAM; if the bot dies mid-way, "
        "the recovery sweep finishes the request once this runs out.",
        default=toml(ProvisioningConfig().lease),
    ),
    Key(
        "audit",
        "log",
        'Also write every audit event as one JSON line on the "bot.audit" logger, for a '
        "log shipper.",
        default=toml(AuditConfig().log),
    ),
    Key(
        "offboarding",
        "mode",
        'What revoking does: "disable" (login profile deleted, keys deactivated, groups and '
        'policies removed; the user stays for the audit trail) or "delete" (the user and '
        "everything attached).",
        default=toml(OffboardingConfig().mode),
    ),
    Key(
        "offboarding",
        "on_deactivation",
        'When a Slack member is deactivated: "revoke" their grants, or "notify" the owners only.',
        default=toml(OffboardingConfig().on_deactivation),
    ),
    Key(
        "offboarding",
        "key_max_age",
        "Bot-made access keys older than this get a rotation nudge.",
        default=toml(OffboardingConfig().key_max_age),
    ),
    Key(
        "offboarding",
        "rotation_grace",
        'After "Rotate my key", the old key stays active until the new one is used, or '
        "this long at most; then it is deactivated, and deleted a day later.",
        default=toml(OffboardingConfig().rotation_grace),
    ),
    Key(
        "reviews",
        "every",
        "Access reviews: every this long, each account's owners get its active grants "
        "(last key use, last console sign-in) to Keep or Revoke. Unset: no reviews.",
    ),
    Key(
        "reviews",
        "deadline",
        "How long owners have to decide each grant of a review (shorter than `every`); "
        "reminders run until then.",
        default=toml(ReviewsConfig(every=timedelta(days=90)).deadline),
    ),
    Key(
        "reviews",
        "unreviewed",
        'What happens to grants nobody decided by the deadline: "keep" or "revoke".',
        default=toml(ReviewsConfig(every=timedelta(days=90)).unreviewed),
    ),
    Key(
        "accounts",
        "name",
        "Short id of the account; profiles name it in `account`.",
        required=True,
    ),
    Key("accounts", "id", "The 12-digit AWS account id.", required=True),
    Key(
        "accounts",
        "role_arn",
        "Role the bot assumes to work in the account; empty: the bot's own credentials "
        "(which must belong to `id`).",
        default=toml(_ACC.role_arn),
    ),
    Key(
        "accounts",
        "external_id",
        "The role's external id, if its trust policy asks for one.",
        default=toml(_ACC.external_id),
    ),
    Key(
        "accounts",
        "owners",
        "Slack user ids who decide this account's requests; empty: `[slack]` owners.",
        default=toml(_ACC.owners),
    ),
    Key(
        "accounts",
        "approval_channel",
        "Where this account's requests are posted; empty: `[slack]` approval_channel.",
        default=toml(_ACC.approval_channel),
    ),
    Key(
        "profiles",
        "name",
        "Short id shown in Slack and accepted by `/request-aws-access <profile>`.",
        required=True,
    ),
    Key(
        "profiles",
        "description",
        "One line telling requesters what this profile is for.",
        default=toml(_PROFILE.description),
    ),
    Key("profiles", "groups", "IAM groups the new user joins (they must exist).", default="[]"),
    Key("profiles", "policies", "Managed policy ARNs attached to the user.", default="[]"),
    Key(
        "profiles",
        "console",
        "Whether the profile grants a console password (reset at first sign-in).",
        default=toml(_PROFILE.console),
    ),
    Key(
        "profiles",
        "programmatic",
        "Whether the profile grants an access key pair for the CLI and SDKs.",
        default=toml(_PROFILE.programmatic),
    ),
    Key(
        "profiles",
        "approvals_required",
        "How many different owners must approve (1 to the number of owners).",
        default=toml(_PROFILE.approvals_required),
    ),
    Key(
        "profiles",
        "account",
        "The `[[accounts]]` name the users are made in; required when `[[accounts]]` exist.",
    ),
    Key(
        "profiles",
        "max_duration",
        "Time-bound access: the longest a grant lasts, counted from provisioning (the "
        "request form asks for a duration up to it; warnings before the end, then it is "
        "revoked with `[offboarding] mode`). Unset: until revoked.",
    ),
)


# --- Markdown -----------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(key: Key) -> str:
    if key.required:
        return REQUIRED
    if key.default is None:
        return "—"
    return key.default if key.default.startswith("`") or key.table == "" else f"`{key.default}`"


def tables(keys: Iterable[Key]) -> dict[str, list[Key]]:
    grouped: dict[str, list[Key]] = {}
    for key in keys:
        grouped.setdefault(key.table, []).append(key)
    return grouped


def reference(
    environment: Sequence[Key] = ENVIRONMENT, config_file: Sequence[Key] = CONFIG_FILE
) -> str:
    out = [
        "#### Environment variables",
        "",
        "Every command also reads `.env` from the working directory; variables already set "
        "in the environment win over it.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    out += [f"| `{k.name}` | {_default(k)} | {_cell(k.description)} |" for k in environment]
    out += ["", AWS_ENVIRONMENT, ""]
    out += [
        "#### The config file",
        "",
        "TOML at `BOT_CONFIG`; durations are `30s`, `15m`, `4h`, `7d`; unknown keys are "
        "errors. [`config/bot.example.toml`](config/bot.example.toml) is a commented example.",
        "",
    ]
    for table, keys in tables(config_file).items():
        title = f"[[{table}]]" if table in ARRAY_TABLES else f"[{table}]"
        out += [f"##### `{title}`", ""]
        if table in TABLE_NOTES:
            out += [TABLE_NOTES[table], ""]
        out += ["| key | default | meaning |", "| --- | --- | --- |"]
        out += [f"| `{k.name}` | {_default(k)} | {_cell(k.description)} |" for k in keys]
        out.append("")
    return "\n".join(out)


def updated_readme(readme: str, section: str | None = None) -> str:
    """`readme` with the text between the markers replaced by the reference."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md has no {START} ... {END} section")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{section if section is not None else reference()}{END}{tail}"


def main(argv: Sequence[str] | None = None, readme: Path | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.config_reference",
        description="Print (or update README.md with) the configuration reference.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite README.md's section")
    group.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=readme or Path("README.md"))
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(reference(), end="")
        return 0
    text = args.readme.read_text(encoding="utf-8")
    fresh = updated_readme(text)
    if args.check:
        if fresh != text:
            print(
                f"{args.readme}'s configuration reference is stale: run "
                "`python -m bot.config_reference --write`",
                file=sys.stderr,
            )
            return 1
        return 0
    args.readme.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
