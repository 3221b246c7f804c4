"""`aws-access-bot check` against the Slack stand-in, real databases and moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.doctor import check_public_url, is_loopback, mark, run_checks
from bot.slack.client import build_web_client
from bot.store.db import make_engine, upgrade
from tests.support.configs import MINIMAL_CONFIG
from tests.support.moto import unique
from tests.support.processes import run_cli, run_env
from tests.support.slack_api import SlackApiStub


@pytest.fixture
def slack(slack_stub: SlackApiStub) -> SlackApiStub:
    """The Slack stand-in, knowing both owners."""
    slack_stub.add_user("U0OWNER1", "owner1@example.com")
    slack_stub.add_user("U0OWNER2", "owner2@example.com")
    return slack_stub


@pytest.fixture
def migrated(db_url: str) -> str:
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    return db_url


def env_for(slack: SlackApiStub, config: Path, db_url: str, **extra: str) -> dict[str, str]:
    return run_env(
        config,
        db_url,
        slack_api_url=slack.base_url,
        bot_token="xoxb-doctor",
        signing_secret="signing",
        **extra,
    )


def lines(env: dict[str, str], aws_clients=None) -> list[str]:
    def no_aws():
        raise AssertionError("AWS clients were not expected to be built")

    results = run_checks(
        env,
        slack_client=build_web_client,
        aws_clients=aws_clients or no_aws,
        engine_for=make_engine,
    )
    return [mark(r) for r in results]


def without_aws(found: list[str]) -> list[str]:
    return [line for line in found if " AWS" not in line and "AWS " not in line]


def test_everything_ready(slack, config_file, migrated, moto_server) -> None:
    found = lines(
        env_for(slack, config_file, migrated),
        aws_clients=lambda: (moto_server.client("iam"), moto_server.client("sts")),
    )
    assert without_aws(found) == [
        f"✓ config: {config_file} is valid (profiles: developer)",
        f"✓ database: {migrated} is reachable and migrated",
        "✓ Slack: auth.test ok (team Test, bot user U0BOT)",
        "✓ Slack: the bot is a member of approval channel C0APPROVALS",
        "✓ Slack: owner U0OWNER1 (@u0owner1) is an active user",
        "✓ Slack: owner U0OWNER2 (@u0owner2) is an active user",
        "⚠ PUBLIC_URL http://localhost:3000 is plain http on this machine: fine to try the "
        "bot, production needs https",
    ]
    assert [c["channel"] for c in slack.calls_to("conversations.info")] == ["C0APPROVALS"]
    assert sorted(c["user"] for c in slack.calls_to("users.info")) == ["U0OWNER1", "U0OWNER2"]
    assert {c.token for c in slack.calls} == {"xoxb-doctor"}


def test_aws_checks_against_moto(slack, tmp_path, migrated, moto_server) -> None:
    group = unique("developers")
    moto_server.client("iam").create_group(GroupName=group)
    config = tmp_path / "aws.toml"
    config.write_text(MINIMAL_CONFIG.replace('groups = ["developers"]', f'groups = ["{group}"]'))
    clients = lambda: (moto_server.client("iam"), moto_server.client("sts"))  # noqa: E731
    found = lines(env_for(slack, config, migrated), aws_clients=clients)
    assert not [line for line in found if line.startswith("✗")], found
    missing = tmp_path / "missing.toml"
    missing.write_text(MINIMAL_CONFIG.replace("developers", "no-such-group-x"))
    found = lines(env_for(slack, missing, migrated), aws_clients=clients)
    assert any(line.startswith("✗") and "no-such-group-x" in line for line in found), found


def test_slack_problems_each_get_a_line(slack, config_file, migrated) -> None:
    slack.reply("conversations.info", {"ok": True, "channel": {"id": "C0APPROVALS"}})
    slack.users["U0OWNER1"]["deleted"] = True
    slack.users["U0OWNER2"]["is_bot"] = True
    found = lines(env_for(slack, config_file, migrated), aws_clients=lambda: (None, None))
    assert (
        "✗ Slack: the bot is not a member of approval channel C0APPROVALS: "
        "/invite @aws-access there"
    ) in found
    assert "✗ Slack: owner U0OWNER1 is deactivated" in found
    assert "✗ Slack: owner U0OWNER2 is a bot, not a person" in found

    del slack.users["U0OWNER2"]
    slack.fail("conversations.info", "channel_not_found")
    found = lines(env_for(slack, config_file, migrated), aws_clients=lambda: (None, None))
    assert any(line.startswith("✗ Slack: approval channel C0APPROVALS not found") for line in found)
    assert "✗ Slack: owner U0OWNER2 is not a user of this workspace" in found


def test_bad_token_stops_slack_checks(slack, config_file, migrated) -> None:
    slack.fail("auth.test", "invalid_auth")
    found = lines(env_for(slack, config_file, migrated), aws_clients=lambda: (None, None))
    assert "✗ Slack: auth.test failed: invalid_auth (check SLACK_BOT_TOKEN)" in found
    assert slack.methods() == ["auth.test"]


def test_missing_tokens_and_unmigrated_database(slack, config_file, db_url) -> None:
    env = env_for(slack, config_file, db_url)
    del env["SLACK_BOT_TOKEN"]
    found = lines(env, aws_clients=lambda: (None, None))
    assert any(line.startswith("✗ SLACK_BOT_TOKEN is not set") for line in found)
    assert any("not migrated: run `aws-access-bot db upgrade`" in line for line in found) or any(
        "does not exist yet: run `aws-access-bot db upgrade`" in line for line in found
    )
    assert slack.calls == []


def test_unreachable_database_hides_its_password(slack, config_file) -> None:
    url = "postgresql+psycopg://bot:hunter2hunter2@127.0.0.1:1/nowhere"
    found = lines(env_for(slack, config_file, url), aws_clients=lambda: (None, None))
    [db_line] = [line for line in found if line.startswith("✗ database")]
    assert db_line.startswith("✗ database: cannot use postgresql+psycopg://bot:***@127.0.0.1:1")
    assert "hunter2" not in "\n".join(found)


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://bot.example.com", "✓"),
        ("http://localhost:3000", "⚠"),
        ("http://127.0.0.1:3000", "⚠"),
        ("http://[::1]:3000", "⚠"),
        ("http://bot.localhost", "⚠"),
        ("http://bot.example.com", "✗"),
        ("http://10.0.0.5:3000", "✗"),
        ("https://bot.example.com/?x=1", "✗"),
        ("bot.example.com", "✗"),
    ],
)
def test_public_url(url: str, verdict: str) -> None:
    assert mark(check_public_url(url)).startswith(verdict)


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.2") and is_loopback("LOCALHOST")
    assert not is_loopback("localhost.example.com") and not is_loopback("0.0.0.0")


def test_check_command_prints_marks_and_exits_1_on_failure(slack, config_file, tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_cli(["db", "upgrade"], {"DATABASE_URL": db_url}, cwd=tmp_path).returncode == 0
    env = env_for(slack, config_file, db_url, PUBLIC_URL="http://bot.example.com")
    result = run_cli(["check"], env, cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert out[0] == f"✓ config: {config_file} is valid (profiles: developer)"
    assert out[-1].startswith("✗ PUBLIC_URL http://bot.example.com must use https")
    assert all(line[:2] in ("✓ ", "✗ ", "⚠ ") for line in out)
    assert "xoxb-doctor" not in result.stdout + result.stderr

    bad_env = run_cli(["check"], {"PORT": "eighty"}, cwd=tmp_path)
    assert (bad_env.returncode, bad_env.stdout) == (
        1,
        "✗ PORT must be a number from 1 to 65535 (got 'eighty')\n",
    )
