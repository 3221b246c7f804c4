"""Environment + TOML config file -> one frozen Settings object.

Loaded once by the CLI and passed down; nothing else reads os.environ. Every error
names the setting and what was expected, so start-up fails with one useful line.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONFIG = "config/bot.toml"
DEFAULT_DATABASE_URL = "sqlite:///aws-access-bot.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_POLICY_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")
_GROUP_NAME = re.compile(r"^[\w+=,.@-]{1,128}$", re.ASCII)
_IAM_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")


class SettingsError(Exception):
    """One or more settings are missing or malformed; each line names one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `4h`, `7d` -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(text)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    groups: tuple[str, ...]
    policies: tuple[str, ...]
    console: bool
    programmatic: bool
    approvals_required: int


@dataclass(frozen=True)
class SlackConfig:
    approval_channel: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class AwsConfig:
    iam_path: str = "/"
    permissions_boundary: str = ""


@dataclass(frozen=True)
class Reminders:
    every: timedelta = timedelta(hours=4)
    remind_after: timedelta = timedelta(hours=1)
    expire_after: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Links:
    ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ProvisioningConfig:
    # How long a worker owns a request it is provisioning; a process that died holding
    # it is resumed by the recovery sweep once it runs out.
    lease: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class BotConfig:
    """The TOML file, validated."""

    slack: SlackConfig
    aws: AwsConfig
    reminders: Reminders
    links: Links
    profiles: tuple[Profile, ...]
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. Secrets are excluded from repr."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = "http://localhost:3000"
    config_path: str = DEFAULT_CONFIG
    log_level: str = "INFO"
    log_format: str = "text"
    slack_api_url: str | None = None
    # The load balancer's address (or "*"): its X-Forwarded-For names the client.
    trusted_proxy: str | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    config: BotConfig | None = None

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def bot(self) -> BotConfig:
        if self.config is None:  # pragma: no cover - guarded by load_settings(need_config)
            raise RuntimeError("settings were loaded without the config file")
        return self.config


# --- environment -----------------------------------------------------------------


def _env_settings(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() else None

    if (url := get("DATABASE_URL")) is not None:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
            problems.append(
                "DATABASE_URL must start with sqlite:// or postgresql:// "
                f"(got {url.split(':', 1)[0]!r})"
            )
        else:
            values["database_url"] = _normalise_database_url(url)
    if (host := get("HOST")) is not None:
        values["host"] = host
    port = 3000
    if (raw_port := get("PORT")) is not None:
        if raw_port.isdigit() and 1 <= int(raw_port) <= 65535:
            port = int(raw_port)
            values["port"] = port
        else:
            problems.append(f"PORT must be a number from 1 to 65535 (got {raw_port!r})")
    public_url = get("PUBLIC_URL") or f"http://localhost:{port}"
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(
            "PUBLIC_URL must be an http(s) URL such as https://bot.example.com "
            f"(got {public_url!r})"
        )
    values["public_url"] = public_url.rstrip("/")
    values["config_path"] = get("BOT_CONFIG") or DEFAULT_CONFIG
    if (level := get("LOG_LEVEL")) is not None:
        if level.upper() not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {level!r})")
        else:
            values["log_level"] = level.upper()
    if (fmt := get("LOG_FORMAT")) is not None:
        if fmt.lower() not in LOG_FORMATS:
            problems.append(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {fmt!r})")
        else:
            values["log_format"] = fmt.lower()
    if (api := get("SLACK_API_URL")) is not None:
        if urlsplit(api).scheme not in ("http", "https"):
            problems.append(f"SLACK_API_URL must be an http(s) URL (got {api!r})")
        else:
            values["slack_api_url"] = api if api.endswith("/") else api + "/"
    if (proxy := get("TRUSTED_PROXY")) is not None:
        try:
            if proxy != "*":
                ipaddress.ip_address(proxy)
            values["trusted_proxy"] = proxy
        except ValueError:
            problems.append(
                "TRUSTED_PROXY must be the IP address of the proxy in front of the bot, "
                f"or * (got {proxy!r})"
            )
    values["slack_bot_token"] = get("SLACK_BOT_TOKEN")
    values["slack_signing_secret"] = get("SLACK_SIGNING_SECRET")
    values["slack_app_token"] = get("SLACK_APP_TOKEN")
    return values


def _normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _slack_problems(values: Mapping[str, Any]) -> list[str]:
    problems = []
    token = values.get("slack_bot_token")
    if not token:
        problems.append(
            "SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-...) from your Slack "
            "app's OAuth & Permissions page"
        )
    elif not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    app_token = values.get("slack_app_token")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if not app_token and not values.get("slack_signing_secret"):
        problems.append(
            "SLACK_SIGNING_SECRET is not set: expected the signing secret from your Slack app's "
            "Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return problems


# --- config file -----------------------------------------------------------------


class _Reader:
    """Walks the TOML document, collecting problems with the key path they concern."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key} {message}")

    def table(self, doc: Any, key: str, allowed: tuple[str, ...], required: bool) -> dict:
        if key and key not in doc:
            if required:
                self.problem(f"[{key}]", "is missing")
            return {}
        table = doc[key] if key else doc
        if not isinstance(table, dict):
            self.problem(key, "must be a table")
            return {}
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                self.problem(
                    where, f"is not a known setting (expected one of: {', '.join(allowed)})"
                )
        return table

    def string(self, table: dict, path: str, name: str, default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            self.problem(f"{path}.{name}", "is missing")
            return ""
        if not isinstance(value, str):
            self.problem(f"{path}.{name}", f"must be a string (got {value!r})")
            return ""
        return value

    def boolean(self, table: dict, path: str, name: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{name}", f"must be true or false (got {value!r})")
            return default
        return value

    def strings(self, table: dict, path: str, name: str, default: list | None = None) -> list[str]:
        value = table.get(name, default)
        if value is None:
            self.problem(f"{path}.{name}", "is missing")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{path}.{name}", f"must be a list of strings (got {value!r})")
            return []
        return value

    def duration(self, table: dict, path: str, name: str, default: timedelta) -> timedelta:
        if name not in table:
            return default
        value = table[name]
        try:
            return parse_duration(value)
        except (ValueError, AttributeError):
            self.problem(
                f"{path}.{name}",
                f"must be a duration like 30s, 15m, 4h or 7d (got {value!r})",
            )
            return default


_TOP = ("slack", "aws", "reminders", "links", "provisioning", "profiles")
_SLACK = ("approval_channel", "owners")
_AWS = ("iam_path", "permissions_boundary")
_REMINDERS = ("every", "remind_after", "expire_after")
_LINKS = ("ttl",)
_PROVISIONING = ("lease",)
_PROFILE = (
    "name",
    "description",
    "groups",
    "policies",
    "console",
    "programmatic",
    "approvals_required",
)


def parse_config(doc: dict, source: str) -> BotConfig:
    """Validate a parsed TOML document; raise SettingsError listing every problem."""
    r = _Reader(source)
    r.table(doc, "", _TOP, True)

    slack = r.table(doc, "slack", _SLACK, True)
    channel, owners = "", []
    if "slack" in doc:
        channel = r.string(slack, "slack", "approval_channel")
        owners = r.strings(slack, "slack", "owners")
        if slack.get("owners") == []:
            r.problem("slack.owners", "must list at least one Slack user id")
    if channel and not _CHANNEL_ID.match(channel):
        r.problem(
            "slack.approval_channel",
            f"must be a Slack channel id like C0123ABCD, not a name (got {channel!r})",
        )
    for i, owner in enumerate(owners):
        if not _USER_ID.match(owner):
            r.problem(
                f"slack.owners[{i}]", f"must be a Slack user id like U0123ABCD (got {owner!r})"
            )
    if len(set(owners)) != len(owners):
        r.problem("slack.owners", "lists the same user more than once")

    aws = r.table(doc, "aws", _AWS, False)
    iam_path = r.string(aws, "aws", "iam_path", "/")
    if iam_path and (not _IAM_PATH.match(iam_path) or len(iam_path) > 512):
        r.problem("aws.iam_path", f"must start and end with / like /onboarding/ (got {iam_path!r})")
    boundary = r.string(aws, "aws", "permissions_boundary", "")
    if boundary and not _POLICY_ARN.match(boundary):
        r.problem(
            "aws.permissions_boundary",
            f"must be empty or a policy ARN like arn:aws:iam::aws:policy/PowerUserAccess "
            f"(got {boundary!r})",
        )

    rem = r.table(doc, "reminders", _REMINDERS, False)
    reminders = Reminders(
        every=r.duration(rem, "reminders", "every", Reminders.every),
        remind_after=r.duration(rem, "reminders", "remind_after", Reminders.remind_after),
        expire_after=r.duration(rem, "reminders", "expire_after", Reminders.expire_after),
    )
    if reminders.expire_after <= reminders.remind_after:
        r.problem(
            "reminders.expire_after",
            f"must be longer than reminders.remind_after "
            f"(got {format_duration(reminders.expire_after)} <= "
            f"{format_duration(reminders.remind_after)})",
        )
    lnk = r.table(doc, "links", _LINKS, False)
    links = Links(ttl=r.duration(lnk, "links", "ttl", Links.ttl))
    prov = r.table(doc, "provisioning", _PROVISIONING, False)
    provisioning = ProvisioningConfig(
        lease=r.duration(prov, "provisioning", "lease", ProvisioningConfig.lease)
    )

    profiles = _parse_profiles(r, doc, owners)
    if r.problems:
        raise SettingsError(r.problems)
    return BotConfig(
        slack=SlackConfig(approval_channel=channel, owners=tuple(owners)),
        aws=AwsConfig(iam_path=iam_path, permissions_boundary=boundary),
        reminders=reminders,
        links=links,
        profiles=tuple(profiles),
        provisioning=provisioning,
    )


def _parse_profiles(r: _Reader, doc: dict, owners: list[str]) -> list[Profile]:
    raw = doc.get("profiles")
    if raw is None:
        r.problem("[[profiles]]", "is missing: define at least one access profile")
        return []
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw) or not raw:
        r.problem("profiles", "must be one or more [[profiles]] tables")
        return []
    profiles: list[Profile] = []
    seen: set[str] = set()
    for i, table in enumerate(raw):
        path = f"profiles[{i}]"
        r.table({path: table}, path, _PROFILE, True)
        name = r.string(table, path, "name")
        if name and not _PROFILE_NAME.match(name):
            r.problem(
                f"{path}.name",
                f"must be lowercase letters, digits, - or _ (at most 32) (got {name!r})",
            )
        if name in seen:
            r.problem(f"{path}.name", f"repeats the profile name {name!r}")
        seen.add(name)
        groups = r.strings(table, path, "groups", [])
        for j, group in enumerate(groups):
            if not _GROUP_NAME.match(group):
                r.problem(f"{path}.groups[{j}]", f"is not a valid IAM group name (got {group!r})")
        policies = r.strings(table, path, "policies", [])
        for j, arn in enumerate(policies):
            if not _POLICY_ARN.match(arn):
                r.problem(
                    f"{path}.policies[{j}]",
                    f"must be a managed policy ARN like arn:aws:iam::aws:policy/ReadOnlyAccess "
                    f"(got {arn!r})",
                )
        console = r.boolean(table, path, "console", True)
        programmatic = r.boolean(table, path, "programmatic", True)
        if not console and not programmatic:
            r.problem(f"{path}", "must allow console or programmatic access (both are false)")
        required = table.get("approvals_required", 1)
        if not isinstance(required, int) or isinstance(required, bool):
            r.problem(f"{path}.approvals_required", f"must be a whole number (got {required!r})")
            required = 1
        elif required < 1:
            r.problem(f"{path}.approvals_required", f"must be >= 1 (got {required})")
        elif owners and required > len(owners):
            r.problem(
                f"{path}.approvals_required",
                f"must be <= the number of slack.owners, {len(owners)} (got {required})",
            )
        profiles.append(
            Profile(
                name=name,
                description=r.string(table, path, "description", ""),
                groups=tuple(groups),
                policies=tuple(policies),
                console=console,
                programmatic=programmatic,
                approvals_required=required,
            )
        )
    return profiles


def load_config(path: str | Path) -> BotConfig:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(
            [
                f"BOT_CONFIG: config file {source} does not exist "
                "(copy config/bot.example.toml there and edit it)"
            ]
        ) from None
    except OSError as exc:
        raise SettingsError([f"BOT_CONFIG: cannot read {source}: {exc.strerror}"]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{source}: is not valid TOML: {exc}"]) from None
    return parse_config(doc, source)


def load_settings(
    env: Mapping[str, str], *, need_config: bool = True, need_slack: bool = False
) -> Settings:
    """Build Settings from `env` (the process environment, passed in) and the config file."""
    problems: list[str] = []
    values = _env_settings(env, problems)
    if problems:
        raise SettingsError(problems)
    if need_config:
        values["config"] = load_config(values["config_path"])
    if need_slack and (problems := _slack_problems(values)):
        raise SettingsError(problems)
    return Settings(**values)
