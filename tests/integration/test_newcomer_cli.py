"""A newcomer's commands behave (issue 17): `.env` for every command, `--version`, help
with descriptions, argument validation, `postgres://`, `requests` never creating a
database, `requests show ID [--json]`, and `check` fitting the quickstart order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import _described, _parser
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker, upgrade
from tests.support.processes import NO_SLACK, run_cli
from tests.support.stores import submitted

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_check_reads_dotenv_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=from-dotenv\n"
        f"SLACK_API_URL={NO_SLACK}\nPUBLIC_URL=https://from-dotenv.example.com\n"
    )
    result = run_cli(["check"], {}, cwd=tmp_path)
    assert "SLACK_BOT_TOKEN is not set" not in result.stdout
    assert "SLACK_SIGNING_SECRET is not set" not in result.stdout
    assert "PUBLIC_URL https://from-dotenv.example.com uses https" in result.stdout
    # The environment wins over the file.
    env = {"PUBLIC_URL": "https://from-env.example.com"}
    assert "PUBLIC_URL https://from-env.example.com uses https" in (
        run_cli(["check"], env, cwd=tmp_path).stdout
    )
    assert not (tmp_path / "aws-access-bot.db").exists()


def test_every_command_reads_dotenv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'from-dotenv.db'}"
    (tmp_path / ".env").write_text(f"DATABASE_URL={url}\n")
    assert run_cli(["db", "upgrade"], {}, cwd=tmp_path).returncode == 0
    assert (tmp_path / "from-dotenv.db").exists()
    assert run_cli(["requests"], {}, cwd=tmp_path).stdout == "no requests\n"


def test_version_and_descriptions_on_every_subcommand(tmp_path: Path) -> None:
    result = run_cli(["--version"], {}, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("aws-access-bot ") and result.stdout.split()[1][0].isdigit()

    def walk(parser, path):
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for name, child in action.choices.items():
                    yield [*path, name], child
                    yield from walk(child, [*path, name])

    commands = list(walk(_described(_parser()), []))
    assert {"run", "check", "requests", "manifest"} <= {p[0] for p, _ in commands}
    for path, child in commands:
        assert child.description, f"`{' '.join(path)} --help` has no description"
        assert child.description in child.format_help()
    # And through the real command line.
    help_text = run_cli(["requests", "show", "--help"], {}, cwd=tmp_path).stdout
    assert "whole history" in help_text


@pytest.mark.parametrize(
    "args",
    [
        ["requests", "--limit", "-1"],
        ["requests", "--limit", "0"],
        ["requests", "--limit", "many"],
        ["requests", "show", "0"],
        ["requests", "show", "x"],
        ["requests", "--status", "nope"],
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(args, {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "error: argument" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_requests_never_creates_a_database(tmp_path: Path) -> None:
    for args in (["requests"], ["requests", "show", "1"], ["requests", "--json"]):
        result = run_cli(args, {}, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "database: sqlite:///aws-access-bot.db does not exist yet: run "
            "`aws-access-bot db upgrade` (or start `run`, which creates and migrates it); "
            "nothing was created"
        )
        assert list(tmp_path.iterdir()) == []


def test_postgres_scheme_is_accepted_and_shown_as_set(tmp_path: Path) -> None:
    # Nothing listens on port 9: the URL is accepted, and named as the user wrote it.
    env = {"DATABASE_URL": "postgres://bot:s3cret-pw@127.0.0.1:9/aws_access_bot"}
    result = run_cli(["check"], env, cwd=tmp_path)
    assert "DATABASE_URL must start with" not in result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if "database:" in x)
    assert (
        line
        == "✗ database: cannot use postgres://bot:***@127.0.0.1:9/aws_access_bot: "
        + (line.rsplit(": ", 1)[1])
    )
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "postgresql+psycopg" not in result.stdout
    requests = run_cli(["requests"], env, cwd=tmp_path)
    assert requests.returncode == 1 and "s3cret-pw" not in requests.stderr


def test_check_quickstart_order_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    result = run_cli(["check"], {}, cwd=tmp_path)
    assert (
        "⚠ database: sqlite:///aws-access-bot.db does not exist yet: run "
        "`aws-access-bot db upgrade` (`run` creates and migrates it at start)"
    ) in result.stdout.splitlines()
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect():
        pass  # an existing, unmigrated file
    engine.dispose()
    result = run_cli(["check"], {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}, tmp_path)
    line = next(x for x in result.stdout.splitlines() if "database:" in x)
    assert line.startswith("⚠ database:") and "is reachable but not migrated" in line


def test_check_sandbox_uses_the_sandbox_database_and_no_aws(tmp_path: Path) -> None:
    result = run_cli(["check", "--sandbox"], {}, cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert any(x.startswith("⚠ database: sqlite:///aws-access-bot-sandbox.db") for x in lines)
    assert any(x.startswith("✓ AWS: sandbox:") for x in lines)
    assert not any("sts:GetCallerIdentity" in x for x in lines)


def test_requests_show_the_whole_history(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    stores = build_stores(make_sessionmaker(engine))
    first = submitted(stores, NOW, requester_id="U0ALICE", iam_user_name="alice")
    stores.requests.approve(first.id, "U0OWNER1", 2, NOW)
    second = submitted(stores, NOW, requester_id="U0BOB", iam_user_name="bob")
    stores.requests.deny(second.id, "U0OWNER2", "not this quarter", NOW)
    engine.dispose()
    env = {"DATABASE_URL": db_url}

    text = run_cli(["requests", "show", str(first.id)], env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert f"request #{first.id}" in text.stdout
    assert "U0ALICE" in text.stdout and "alice" in text.stdout
    assert "1 of 2 (U0OWNER1)" in text.stdout
    assert "account" in text.stdout and "history:" in text.stdout

    shown = run_cli(["requests", "show", str(second.id), "--json"], env, cwd=tmp_path)
    data = json.loads(shown.stdout)
    assert data["status"] == "denied"
    assert data["decided_by"] == "U0OWNER2" and data["deny_reason"] == "not this quarter"
    assert data["account"] and data["requester"] == "U0BOB"
    assert [e["kind"] for e in data["events"]][0] == "requested"
    assert data["events"][-1]["actor"] == "U0OWNER2"

    listing = json.loads(run_cli(["requests", "--json"], env, cwd=tmp_path).stdout)
    assert [(r["id"], r["status"]) for r in listing] == [
        (second.id, "denied"),
        (first.id, "pending"),
    ]
    missing = run_cli(["requests", "show", "999"], env, cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.strip() == "no request #999"


def test_run_warns_without_aws_credentials_and_logs_quietly(
    tmp_path: Path, config_file: Path
) -> None:
    from tests.support.processes import run_env, running_bot

    nowhere = tmp_path / "no-aws"
    env = run_env(
        config_file,
        f"sqlite:///{tmp_path / 'run.db'}",
        AWS_CONFIG_FILE=str(nowhere),
        AWS_SHARED_CREDENTIALS_FILE=str(nowhere),
    )
    with running_bot(["run"], env, tmp_path) as bot:
        assert bot.stop() == 0
    log = bot.text()
    assert "WARNING bot: no AWS credentials found" in log
    assert "token will be unused" not in log
    assert "Running job" not in log and "executed successfully" not in log


def test_make_check_reads_dotenv(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    from tests.support.processes import REPO

    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent)
    (venv / ".installed").touch()  # newer than the copied files: nothing is installed
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=s\nSLACK_API_URL={NO_SLACK}\n"
    )
    result = subprocess.run(
        ["make", "--no-print-directory", "check", f"VENV={venv}"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "✗ BOT_CONFIG: config file config/bot.toml does not exist" in result.stdout
    assert "SLACK_BOT_TOKEN is not set" not in result.stdout
    # It used the token and Slack URL from .env (nothing answers there).
    assert f"✗ Slack: cannot reach {NO_SLACK}" in result.stdout
