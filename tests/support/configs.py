"""The bot configs the tests run under, written as TOML text the way an operator writes
bot.toml, from one place: the `[slack]` head every config shares, the profiles, and the
Container over a test's own database.

    config_toml(DEVELOPER)                                       # MINIMAL_CONFIG
    config_toml(profile("ops", ...), aws={"iam_path": "/socket/"})  # a config of its own
    bot_config(config_toml(...))                                 # parsed as `run` does
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.container import Container
from bot.domain.ports import Clock
from bot.settings import BotConfig, Settings, parse_config
from bot.store import build_stores

APPROVAL_CHANNEL = "C0APPROVALS"
OWNERS = ("U0OWNER1", "U0OWNER2")
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
ONBOARDING_PATH = MappingProxyType({"iam_path": "/onboarding/"})


def profile(name: str, description: str, **settings: Any) -> dict[str, Any]:
    """One `[[profiles]]` entry: its name, description and whatever else it sets."""
    return {"name": name, "description": description, **settings}


# The profile most tests request: console and programmatic access, one approval.
DEVELOPER = profile(
    "developer",
    "Read/write on dev resources",
    groups=["developers"],
    policies=[],
    console=True,
    programmatic=True,
    approvals_required=1,
)


def config_toml(
    *profiles: Mapping[str, Any],
    owners: Sequence[str] = OWNERS,
    aws: Mapping[str, str] | None = ONBOARDING_PATH,
    reminders: Mapping[str, str] | None = None,
    extra: str = "",
) -> str:
    """A whole bot.toml: the approval channel and its `owners`, `[aws]` (none when None),
    `[reminders]` when given, `extra` TOML as it is, then the profiles in order."""
    tables = [_table("[slack]", {"approval_channel": APPROVAL_CHANNEL, "owners": list(owners)})]
    if aws is not None:
        tables.append(_table("[aws]", aws))
    if reminders is not None:
        tables.append(_table("[reminders]", reminders))
    if extra.strip():
        tables.append(extra.strip("\n") + "\n")
    tables += [_table("[[profiles]]", entry) for entry in profiles]
    return "\n" + "\n".join(tables)


def _table(header: str, values: Mapping[str, Any]) -> str:
    return header + "\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in values.items())


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    return "[" + ", ".join(_toml(item) for item in value) + "]"


MINIMAL_CONFIG = config_toml(DEVELOPER)


def bot_config(toml: str = MINIMAL_CONFIG, source: str = "test.toml") -> BotConfig:
    """`toml` parsed and checked as `run` does it (`source` names it in problems)."""
    return parse_config(tomllib.loads(toml), source)


def container_on(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, **settings: Any
) -> Container:
    """The Container `run` would build from `Settings(**settings)`, but over the test's
    own engine and sessions (so the test reads the rows the bot writes) and its clock."""
    return Container(
        settings=Settings(database_url=str(engine.url), **settings),
        engine=engine,
        sessions=sessions,
        stores=build_stores(sessions),
        clock=clock,
    )
