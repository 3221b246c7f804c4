from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import (
    SettingsError,
    format_duration,
    load_config,
    load_settings,
    parse_config,
    parse_duration,
)
from tests.support.configs import MINIMAL_CONFIG, bot_config

SRC = "config/bot.toml"


def base_doc() -> dict:
    return {
        "slack": {"approval_channel": "C0APPROVALS", "owners": ["U0OWNER1", "U0OWNER2"]},
        "profiles": [
            {"name": "developer", "groups": ["developers"], "approvals_required": 1},
            {"name": "admin", "groups": ["admins"], "approvals_required": 2},
        ],
    }


def problems_for(doc: dict) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_config(doc, SRC)
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("7d", timedelta(days=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert format_duration(expected) == text


@pytest.mark.parametrize("text", ["", "4", "h", "4 h", "4w", "-1h", "0s", "1.5h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_valid_config_parses_with_defaults() -> None:
    config = parse_config(base_doc(), SRC)
    assert config.slack.owners == ("U0OWNER1", "U0OWNER2")
    # Never "/" (issue 12, item 7): the bot's IAM policy covers the users under its path.
    assert config.aws.iam_path == "/aws-access-bot/"
    assert config.reminders.every == timedelta(hours=4)
    assert config.links.ttl == timedelta(hours=24)
    assert config.profile("admin").approvals_required == 2
    assert config.profile("developer").console is True
    assert config.profile("nope") is None


def mutate(path: list, value=None, delete=False) -> dict:
    doc = base_doc()
    target = doc
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


CASES = [
    (
        mutate(["profiles", 1, "approvals_required"], 0),
        "config/bot.toml: profiles[1].approvals_required must be >= 1 (got 0)",
    ),
    (
        mutate(["profiles", 1, "approvals_required"], 3),
        "config/bot.toml: profiles[1].approvals_required must be <= the number of "
        "slack.owners, 2 (got 3)",
    ),
    (
        mutate(["profiles", 0, "approvals_required"], "2"),
        "config/bot.toml: profiles[0].approvals_required must be a whole number (got '2')",
    ),
    (
        mutate(["profiles", 0, "grups"], ["x"]),
        "config/bot.toml: profiles[0].grups is not a known setting (expected one of: name, "
        "description, groups, policies, console, programmatic, approvals_required, account, "
        "max_duration)",
    ),
    (
        mutate(["slack", "ownerz"], ["U1"]),
        "config/bot.toml: slack.ownerz is not a known setting (expected one of: "
        "approval_channel, owners)",
    ),
    (
        mutate(["extra"], {}),
        "config/bot.toml: extra is not a known setting (expected one of: slack, aws, "
        "reminders, links, provisioning, profiles, audit, accounts, offboarding, reviews)",
    ),
    (mutate(["slack"], delete=True), "config/bot.toml: [slack] is missing"),
    (
        mutate(["slack", "approval_channel"], "#approvals"),
        "config/bot.toml: slack.approval_channel must be a Slack channel id like C0123ABCD, "
        "not a name (got '#approvals')",
    ),
    (
        mutate(["slack", "owners"], ["alice", "U0OWNER2"]),
        "config/bot.toml: slack.owners[0] must be a Slack user id like U0123ABCD (got 'alice')",
    ),
    (
        mutate(["slack", "owners"], "U0OWNER1"),
        "config/bot.toml: slack.owners must be a list of strings (got 'U0OWNER1')",
    ),
    (
        mutate(["aws"], {"iam_path": "onboarding"}),
        "config/bot.toml: aws.iam_path must start and end with / like /onboarding/ "
        "(got 'onboarding')",
    ),
    (
        mutate(["aws"], {"iam_path": "/"}),
        'config/bot.toml: aws.iam_path must not be "/": the bot\'s IAM policy is scoped to '
        'this path, and "/" would let it create access keys for and delete every IAM user, '
        "admins included (use a path of its own, e.g. /aws-access-bot/)",
    ),
    (
        mutate(["aws"], {"iam_path": ""}),
        "config/bot.toml: aws.iam_path must start and end with / like /onboarding/ (got '')",
    ),
    (
        mutate(["aws"], {"permissions_boundary": "PowerUser"}),
        "config/bot.toml: aws.permissions_boundary must be empty or a policy ARN like "
        "arn:aws:iam::aws:policy/PowerUserAccess (got 'PowerUser')",
    ),
    (
        mutate(["reminders"], {"every": "4 hours"}),
        "config/bot.toml: reminders.every must be a duration like 30s, 15m, 4h or 7d "
        "(got '4 hours')",
    ),
    (
        mutate(["reminders"], {"remind_after": "2d", "expire_after": "1d"}),
        "config/bot.toml: reminders.expire_after must be longer than reminders.remind_after "
        "(got 1d <= 2d)",
    ),
    (
        mutate(["links"], {"ttl": 24}),
        "config/bot.toml: links.ttl must be a duration like 30s, 15m, 4h or 7d (got 24)",
    ),
    (
        mutate(["profiles", 0, "name"], "Dev Team"),
        "config/bot.toml: profiles[0].name must be lowercase letters, digits, - or _ "
        "(at most 32) (got 'Dev Team')",
    ),
    (
        mutate(["profiles", 1, "name"], "developer"),
        "config/bot.toml: profiles[1].name repeats the profile name 'developer'",
    ),
    (
        mutate(["profiles", 0, "policies"], ["ReadOnlyAccess"]),
        "config/bot.toml: profiles[0].policies[0] must be a managed policy ARN like "
        "arn:aws:iam::aws:policy/ReadOnlyAccess (got 'ReadOnlyAccess')",
    ),
    (
        mutate(["profiles", 0, "groups"], ["bad group"]),
        "config/bot.toml: profiles[0].groups[0] is not a valid IAM group name (got 'bad group')",
    ),
    (
        mutate(["profiles", 0, "console"], "yes"),
        "config/bot.toml: profiles[0].console must be true or false (got 'yes')",
    ),
    (
        {**base_doc(), "profiles": [{"name": "x", "console": False, "programmatic": False}]},
        "config/bot.toml: profiles[0] must allow console or programmatic access (both are false)",
    ),
    (
        {k: v for k, v in base_doc().items() if k != "profiles"},
        "config/bot.toml: [[profiles]] is missing: define at least one access profile",
    ),
]


@pytest.mark.parametrize(("doc", "message"), CASES)
def test_config_error_names_the_setting(doc: dict, message: str) -> None:
    assert problems_for(doc) == [message]


def test_several_problems_are_all_reported() -> None:
    doc = mutate(["profiles", 0, "approvals_required"], 0)
    doc["profiles"][1]["colour"] = "red"
    assert len(problems_for(doc)) == 2


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_config(tmp_path / "nope.toml")
    [line] = info.value.problems
    assert line.startswith("BOT_CONFIG: config file ")
    assert "does not exist" in line


def test_load_config_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[slack\n")
    with pytest.raises(SettingsError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(f"{path}: is not valid TOML")


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "config" / "bot.example.toml")
    assert [p.name for p in config.profiles] == ["developer", "readonly"]


def env(**overrides: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", **overrides}


def test_env_defaults(config_file: Path) -> None:
    settings = load_settings(env(BOT_CONFIG=str(config_file)), need_slack=True)
    assert settings.host == "127.0.0.1"
    assert settings.port == 3000
    assert settings.public_url == "http://localhost:3000"
    assert settings.database_url == "sqlite:///aws-access-bot.db"
    assert settings.config.slack.approval_channel == "C0APPROVALS"
    assert "xoxb" not in repr(settings)


def test_public_url_defaults_to_port(config_file: Path) -> None:
    settings = load_settings(env(BOT_CONFIG=str(config_file), PORT="8080"))
    assert settings.public_url == "http://localhost:8080"


def test_postgres_url_uses_psycopg3(config_file: Path) -> None:
    settings = load_settings(
        env(BOT_CONFIG=str(config_file), DATABASE_URL="postgresql://u@h/db"), need_config=False
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PORT": "http"}, "PORT must be a number from 1 to 65535 (got 'http')"),
        ({"PORT": "70000"}, "PORT must be a number from 1 to 65535 (got '70000')"),
        (
            {"DATABASE_URL": "mysql://x"},
            "DATABASE_URL must start with sqlite://, postgresql:// or postgres:// (got 'mysql')",
        ),
        (
            {"PUBLIC_URL": "bot.example.com"},
            "PUBLIC_URL must be an http(s) URL such as https://bot.example.com "
            "(got 'bot.example.com')",
        ),
        (
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'loud')",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json (got 'xml')"),
        (
            {"SLACK_API_URL": "localhost:9"},
            "SLACK_API_URL must be an http(s) URL (got 'localhost:9')",
        ),
        (
            {"SLACK_BOT_TOKEN": ""},
            "SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-...) from your Slack "
            "app's OAuth & Permissions page",
        ),
        ({"SLACK_BOT_TOKEN": "xoxp-1"}, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
        (
            {"SLACK_SIGNING_SECRET": ""},
            "SLACK_SIGNING_SECRET is not set: expected the signing secret from your Slack app's "
            "Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)",
        ),
        (
            {"SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN must be an app-level token starting with xapp-",
        ),
    ],
)
def test_env_errors(config_file: Path, overrides: dict, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env(BOT_CONFIG=str(config_file), **overrides), need_slack=True)
    assert info.value.problems == [message]


def test_socket_mode_needs_no_signing_secret(config_file: Path) -> None:
    settings = load_settings(
        env(BOT_CONFIG=str(config_file), SLACK_SIGNING_SECRET="", SLACK_APP_TOKEN="xapp-1"),
        need_slack=True,
    )
    assert settings.socket_mode


def test_config_checked_before_tokens(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(MINIMAL_CONFIG + "\nsurprise = 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings({"BOT_CONFIG": str(path)}, need_slack=True)
    assert len(info.value.problems) == 1
    assert "surprise is not a known setting" in info.value.problems[0]


def test_provisioning_lease_defaults_and_parses() -> None:
    assert bot_config(MINIMAL_CONFIG, "t").provisioning.lease == timedelta(minutes=15)
    short = bot_config(MINIMAL_CONFIG + '\n[provisioning]\nlease = "2s"\n', "t")
    assert short.provisioning.lease == timedelta(seconds=2)
    with pytest.raises(SettingsError) as raised:
        bot_config(MINIMAL_CONFIG + "\n[provisioning]\nlease = 5\n", "t")
    assert raised.value.problems == [
        "t: provisioning.lease must be a duration like 30s, 15m, 4h or 7d (got 5)"
    ]


@pytest.mark.parametrize(("value", "expected"), [("10.0.0.5", "10.0.0.5"), ("*", "*")])
def test_trusted_proxy(config_file: Path, value: str, expected: str) -> None:
    settings = load_settings(env(BOT_CONFIG=str(config_file), TRUSTED_PROXY=value))
    assert settings.trusted_proxy == expected


def test_trusted_proxy_must_be_an_address(config_file: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env(BOT_CONFIG=str(config_file), TRUSTED_PROXY="lb.internal"))
    assert info.value.problems == [
        "TRUSTED_PROXY must be the IP address of the proxy in front of the bot, "
        "or * (got 'lb.internal')"
    ]
