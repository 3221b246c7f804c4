"""Issue 17's small promises, each checked where it lives: AWS_REGION honoured, the
manifest's header and https rule, quiet logs (Bolt's token warning, APScheduler's
bookkeeping, one INFO line per sweep that did something), and `run`'s warning when no
AWS credentials resolve."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.aws.clients import iam_client, sts_client
from bot.aws.region import local_credentials_found, new_session, region_from
from bot.logs import configure_logging
from bot.scheduler import SweepJob, run_job, sweep_summary
from bot.settings import load_settings
from bot.slack.manifest import ManifestError, manifest, render_manifest

# --- AWS region -----------------------------------------------------------------------


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # No ~/.aws/config region either.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def test_aws_region_alone_is_honoured(no_region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-3")  # AWS_DEFAULT_REGION unset
    assert region_from() == "eu-west-3"
    assert new_session().region_name == "eu-west-3"
    assert sts_client().meta.region_name == "eu-west-3"
    assert iam_client().meta.region_name in ("eu-west-3", "aws-global")


def test_aws_default_region_wins(no_region, monkeypatch: pytest.MonkeyPatch) -> None:
    assert region_from({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-west-2"}) == (
        "us-west-2"
    )
    assert region_from({"AWS_REGION": " "}) is None
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert new_session(region_name="ap-south-1").region_name == "ap-south-1"


def test_no_credentials_are_found_without_asking_the_network(
    no_region, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    assert local_credentials_found() is False
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    assert local_credentials_found() is True


# --- DATABASE_URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "engine_url"),
    [
        ("postgres://u:pw@db/x", "postgresql+psycopg://u:pw@db/x"),
        ("postgresql://u:pw@db/x", "postgresql+psycopg://u:pw@db/x"),
        ("postgresql+psycopg://u:pw@db/x", "postgresql+psycopg://u:pw@db/x"),
        ("sqlite:///bot.db", "sqlite:///bot.db"),
    ],
)
def test_database_url_forms(given: str, engine_url: str) -> None:
    settings = load_settings({"DATABASE_URL": given}, need_config=False)
    assert settings.database_url == engine_url
    assert settings.database_url_as_set == given
    assert "pw" not in settings.database_url_shown
    assert settings.database_url_shown == given.replace(":pw@", ":***@")
    assert "pw" not in repr(settings)


# --- manifest -------------------------------------------------------------------------


def test_manifest_header_states_the_real_arguments() -> None:
    socket = render_manifest(None, socket_mode=True)
    assert socket.splitlines()[1] == "#   aws-access-bot manifest --socket-mode"
    assert "example.com" not in socket
    http = render_manifest("https://bot.acme.test")
    assert http.splitlines()[1] == "#   aws-access-bot manifest --url https://bot.acme.test"


@pytest.mark.parametrize("url", ["http://bot.example.com", "http://10.0.0.5:3000"])
def test_manifest_needs_https(url: str) -> None:
    with pytest.raises(ManifestError, match="must use https"):
        manifest(url)


@pytest.mark.parametrize("url", ["http://localhost:3000", "http://127.0.0.1:3000"])
def test_manifest_accepts_plain_http_on_localhost(url: str) -> None:
    assert manifest(url)["settings"]["event_subscriptions"]["request_url"].startswith(url)


def test_messages_tab_is_read_only() -> None:
    doc = yaml.safe_load(render_manifest("https://bot.example.com"))
    app_home = doc["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True  # the bot's DMs are shown there
    assert app_home["messages_tab_read_only_enabled"] is True  # nobody DMs into a void


# --- quiet logs -----------------------------------------------------------------------


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", "text", stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


def test_bolt_token_warning_is_gone(log_stream, monkeypatch: pytest.MonkeyPatch) -> None:
    from slack_sdk import WebClient

    from bot.settings import Settings
    from bot.slack import app as slack_app

    # Only the App's construction matters here, not the listeners.
    monkeypatch.setattr(slack_app, "register_all", lambda *args: None)
    # Bolt reads SLACK_BOT_TOKEN from the environment even when given a client.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-in-the-environment")
    built = slack_app.build_app(Settings(slack_signing_secret="s"), None, WebClient(token="xoxb-x"))
    assert built.client.token == "xoxb-x"
    assert "token will be unused" not in log_stream.getvalue()


def test_scheduler_bookkeeping_is_debug_only(log_stream) -> None:
    logging.getLogger("apscheduler.executors.default").info('Running job "remind"')
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.types")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0007 -> 0008")
    out = log_stream.getvalue()
    assert "Running job" not in out and "Added job" not in out and "setup plugin" not in out
    assert "INFO alembic.runtime.migration: Running upgrade 0007 -> 0008" in out
    assert "WARNING apscheduler.scheduler: Run time of job was missed" in out
    logging.getLogger().setLevel("DEBUG")
    logging.getLogger("apscheduler.executors.default").info('Running job "remind"')
    assert 'DEBUG apscheduler.executors.default: Running job "remind"' in log_stream.getvalue()


@dataclass
class _Report:
    reminded: list[int] = field(default_factory=list)
    summary_posted: bool = False


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 11, 1, tzinfo=UTC)


def test_one_info_line_per_sweep_that_did_something(log_stream) -> None:
    every = timedelta(minutes=1)
    for job in (
        SweepJob("remind", every, lambda now: _Report()),
        SweepJob("purge", every, lambda now: 0),
        SweepJob("recover", every, lambda now: None),
    ):
        assert run_job(job, _Clock()).ok
    assert log_stream.getvalue() == ""
    run_job(SweepJob("remind", every, lambda now: _Report([1, 2], True)), _Clock())
    run_job(SweepJob("purge", every, lambda now: 3), _Clock())
    lines = log_stream.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO bot.scheduler: sweep remind: reminded=2, summary_posted",
        "INFO bot.scheduler: sweep purge: 3",
    ]


@pytest.mark.parametrize(
    ("result", "summary"),
    [(None, None), (0, None), ([], None), ([1], "1"), (True, "done"), (_Report(), None)],
)
def test_sweep_summary(result: object, summary: str | None) -> None:
    assert sweep_summary(result) == summary


# --- the set-up guide and Chromium ------------------------------------------------------


def test_sandbox_guide_has_no_aws_step() -> None:
    from bot.setup_guide import first_run_guide

    full = first_run_guide(".venv/bin/aws-access-bot")
    assert "iam-policy" in full and "AWS_REGION" in full
    assert "`.venv/bin/aws-access-bot check` (or `make check`)" in full
    sandbox = first_run_guide(".venv/bin/aws-access-bot", sandbox=True)
    assert "iam-policy" not in sandbox and "AWS_" not in sandbox
    assert "4. Run `.venv/bin/aws-access-bot check --sandbox`, then start again." in sandbox


def test_chromium_is_found_through_the_env_or_path(tmp_path) -> None:
    from tests.support.browser import find_chromium

    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium({"CHROMIUM": str(fake), "PATH": ""}) == fake
    assert find_chromium({"CHROMIUM": str(tmp_path / "missing"), "PATH": ""}) is None
    assert find_chromium({"PATH": str(tmp_path)}) == fake


def test_request_history_renders_everything_known() -> None:
    from bot.domain.requests import RequestView
    from bot.domain.states import Status
    from bot.domain.storage import AuditRecord
    from bot.services.history import history_dict, render_history, request_history

    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    view = RequestView(
        7, "U0ALICE", "developer", "alice", True, False, "deploy", Status.DENIED, at,
        account="prod", decided_by="U0DANA", decided_at=at, deny_reason="not now",
        max_duration=timedelta(days=30),
    )  # fmt: skip
    events = [AuditRecord(1, 7, "U0ALICE", "requested", at, {"profile": "developer"})]

    class Store:
        def get(self, request_id: int):
            return view if request_id == 7 else None

        def audit_of(self, request_id: int):
            return events

    history = request_history(Store(), 7)
    assert request_history(Store(), 8) is None
    text = render_history(history)
    for expected in ("request #7", "prod", "U0DANA", "not now", "30d", "requested"):
        assert expected in text
    data = history_dict(history)
    assert data["max_duration_seconds"] == 30 * 86400
    assert data["events"] == [
        {
            "id": 1,
            "at": at.isoformat(),
            "actor": "U0ALICE",
            "kind": "requested",
            "detail": {"profile": "developer"},
        }
    ]
