"""The `aws-access-bot` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker
from tests.support.configs import MINIMAL_CONFIG
from tests.support.processes import free_port, run_cli, run_env, running_bot
from tests.support.stores import submitted


def test_unknown_config_key_stops_run_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(MINIMAL_CONFIG.replace('iam_path = "/onboarding/"', 'iam_pth = "/x/"'))
    tokens = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    # With or without Slack tokens, the bad key is the one line printed.
    for env in ({"BOT_CONFIG": str(config), **tokens}, {"BOT_CONFIG": str(config)}):
        result = run_cli(["run"], env, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{config}: aws.iam_pth is not a known setting "
            "(expected one of: iam_path, permissions_boundary)"
        ]


def test_malformed_env_stops_run_with_one_line(tmp_path: Path, config_file: Path) -> None:
    result = run_cli(["run"], {"BOT_CONFIG": str(config_file), "PORT": "eighty"}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["PORT must be a number from 1 to 65535 (got 'eighty')"]


def test_fresh_clone_run_says_what_to_set_and_where(tmp_path: Path) -> None:
    # No config file, no .env, no tokens: every problem at once, then the set-up steps.
    result = run_cli(["run"], {}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "BOT_CONFIG: config file config/bot.toml does not exist "
        "(copy config/bot.example.toml there and edit it)",
        "SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-...) from your Slack "
        "app's OAuth & Permissions page",
        "SLACK_SIGNING_SECRET is not set: expected the signing secret from your Slack app's "
        "Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)",
    ]
    guide = result.stderr
    for step in (
        "cp config/bot.example.toml config/bot.toml",
        "aws-access-bot manifest --url https://",
        "--socket-mode",
        "SLACK_BOT_TOKEN=xoxb-...     OAuth & Permissions",
        "SLACK_SIGNING_SECRET=...     Basic Information",
        "SLACK_APP_TOKEN=xapp-...",
        "aws-access-bot iam-policy",
        "aws-access-bot check",
    ):
        assert step in guide, step
    assert not list(tmp_path.iterdir())  # nothing created (no database file)


def test_db_upgrade_then_requests_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = run_cli(["requests"], {"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert "aws-access-bot db upgrade" in result.stderr

    result = run_cli(["db", "upgrade"], {"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_cli(["requests"], {"DATABASE_URL": url}, cwd=tmp_path).stdout == "no requests\n"

    engine = make_engine(url)
    stores = build_stores(make_sessionmaker(engine))
    for requester, name in (("U0ALICE", "alice"), ("U0BOB", "bob")):
        submitted(
            stores,
            datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
            requester_id=requester,
            profile="developer",
            iam_user_name=name,
        )
    engine.dispose()
    listing = run_cli(["requests"], {"DATABASE_URL": url}, cwd=tmp_path).stdout.splitlines()
    assert listing[0].split() == [
        "#",
        "STATUS",
        "REQUESTER",
        "ACCOUNT",  # the rows' frozen account (tests/support/stores.py): not the default
        "PROFILE",
        "IAM",
        "USER",
        "CREATED",
        "(UTC)",
        "AGE",
    ]
    assert [line.split()[:6] for line in listing[1:]] == [
        ["2", "pending", "U0BOB", "prod-account", "developer", "bob"],
        ["1", "pending", "U0ALICE", "prod-account", "developer", "alice"],
    ]
    pending = run_cli(["requests", "--status", "denied"], {"DATABASE_URL": url}, cwd=tmp_path)
    assert pending.stdout == "no requests\n"
    bad = run_cli(["requests", "--status", "nope"], {"DATABASE_URL": url}, cwd=tmp_path)
    assert bad.returncode == 2
    assert "invalid choice: 'nope'" in bad.stderr


def test_run_serves_healthz_and_stops_on_sigterm(tmp_path: Path, config_file: Path) -> None:
    env = run_env(config_file, f"sqlite:///{tmp_path / 'run.db'}")
    with running_bot(["run", "--no-scheduler"], env, tmp_path) as bot:
        with urllib.request.urlopen(f"{bot.url}/healthz") as response:  # noqa: S310
            # backlog: after-ack jobs still queued or running (bot/slack/after_ack.py)
            assert json.load(response) == {"status": "ok", "backlog": 0}
            assert response.headers["Server"] == "aws-access-bot"
        assert bot.stop() == 0
    log = bot.text()
    assert "Traceback" not in log
    assert "server stopped" in log


UNKNOWN_LINK = "A" * 32  # shaped like a link id, stored nowhere


def _reveal_statuses(base: str, client: str, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/credentials/{UNKNOWN_LINK}/reveal",
            data=b"{}",
            headers={"Content-Type": "application/json", "X-Forwarded-For": client},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    return statuses


@pytest.mark.parametrize("trusted", [True, False])
def test_reveal_rate_limit_per_client_behind_a_trusted_proxy(
    tmp_path: Path, config_file: Path, trusted: bool
) -> None:
    """Behind a load balancer (here: the test, from 127.0.0.1) clients are told apart by
    X-Forwarded-For only when TRUSTED_PROXY names the balancer; otherwise the header is
    ignored (anyone could send it) and everyone shares the balancer's budget."""
    env = run_env(config_file, f"sqlite:///{tmp_path / 'proxy.db'}")
    if trusted:
        env["TRUSTED_PROXY"] = "127.0.0.1"
    with running_bot(["run", "--no-scheduler"], env, tmp_path) as bot:
        # Attempts on a link that does not exist (404) count: the limit is on attempts.
        first = _reveal_statuses(bot.url, "203.0.113.7", 11)
        assert first == [404] * 10 + [429]
        other = _reveal_statuses(bot.url, "198.51.100.9", 1)
        assert other == ([404] if trusted else [429])
        bot.stop()


def test_socket_mode_with_slack_unreachable_says_so_in_one_line(
    tmp_path: Path, config_file: Path
) -> None:
    env = run_env(
        config_file,
        f"sqlite:///{tmp_path / 'socket.db'}",
        slack_api_url=f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
        signing_secret=None,
        SLACK_APP_TOKEN="xapp-test",
        PORT=str(free_port()),
    )
    result = run_cli(["run", "--no-scheduler"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "could not reach Slack to open a Socket Mode connection (URLError): check the network "
        "(and SLACK_API_URL if set)"
    ) in result.stderr.splitlines()


def test_unreachable_database_is_one_line(tmp_path: Path, config_file: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://bot:hunter2-secret@127.0.0.1:{port}/bot"
    for args in (["run", "--no-scheduler"], ["db", "upgrade"], ["requests"]):
        result = run_cli(args, run_env(config_file, url, slack_api_url=None), cwd=tmp_path)
        assert result.returncode == 1, args
        [line] = [x for x in result.stderr.splitlines() if "cannot use the database" in x]
        assert line.endswith("(check DATABASE_URL)") and str(port) in line
        assert "Traceback" not in result.stderr
        assert "hunter2-secret" not in result.stderr


def test_missing_token_with_a_config_is_one_line(tmp_path: Path, config_file: Path) -> None:
    result = run_cli(
        ["run"], {"BOT_CONFIG": str(config_file), "SLACK_SIGNING_SECRET": "s"}, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-...) from your Slack "
        "app's OAuth & Permissions page"
    ]
