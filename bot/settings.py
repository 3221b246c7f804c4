"""Environment + TOML config file -> one frozen Settings object.

Loaded once by the CLI and passed down; nothing else reads os.environ. Every error
names the setting and what was expected, so start-up fails with one useful line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The config file's types and parser; imported here too so callers have one module to
# load settings from.
from bot.config_file import (  # noqa: F401
    SettingsError,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from bot.domain.config import (  # noqa: F401
    AwsConfig,
    BotConfig,
    Links,
    Profile,
    ProvisioningConfig,
    Reminders,
    SlackConfig,
)

DEFAULT_CONFIG = "config/bot.toml"
DEFAULT_DATABASE_URL = "sqlite:///aws-access-bot.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. Secrets are excluded from repr."""

    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    # DATABASE_URL as the user wrote it (postgres://..., before the driver is added):
    # what messages show, with the password masked (redacted_url). repr=False: it holds
    # the password.
    database_url_as_set: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = "http://localhost:3000"
    config_path: str = DEFAULT_CONFIG
    log_level: str = "INFO"
    log_format: str = "text"
    slack_api_url: str | None = None
    # Seconds one Slack Web API call may take before it counts as failed (and, for a
    # message that must be delivered, is retried by the outbox).
    slack_api_timeout: float = 10.0
    # The load balancer's address (or "*"): its X-Forwarded-For names the client.
    trusted_proxy: str | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    config: BotConfig | None = None

    @property
    def database_url_shown(self) -> str:
        """DATABASE_URL as set, password masked: for messages."""
        return redacted_url(self.database_url_as_set)

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
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", url):
            problems.append(
                "DATABASE_URL must start with sqlite://, postgresql:// or postgres:// "
                f"(got {url.split(':', 1)[0]!r})"
            )
        else:
            values["database_url"] = _normalise_database_url(url)
            values["database_url_as_set"] = url
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
    if (timeout := get("SLACK_API_TIMEOUT")) is not None:
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds <= 300:
            problems.append(f"SLACK_API_TIMEOUT must be seconds from 0 to 300 (got {timeout!r})")
        else:
            values["slack_api_timeout"] = seconds
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
    """What SQLAlchemy is given. `postgres://` (the form Heroku, Render and others hand
    out) means `postgresql://`; psycopg 3 is the driver we ship, and plain
    postgresql:// would ask SQLAlchemy for psycopg2."""
    for scheme in ("postgres://", "postgresql://", "postgres+psycopg://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def redacted_url(url: str) -> str:
    """`url` with its password replaced by ***, as the user wrote it otherwise."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


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
