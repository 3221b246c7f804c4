"""The real `aws-access-bot run` process: Slack over signed HTTP, or Socket Mode."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.slack.conftest import CONFIG, SECRET
from tests.support import slack_payloads as payloads
from tests.support.processes import free_port, start_bot, wait_http
from tests.support.slack_api import SlackApiStub, post_signed


@pytest.fixture
def slack_stub():
    api = SlackApiStub()
    api.start()
    api.add_user("U0ALICE", "alice@example.com")
    yield api
    api.stop()


def _env(tmp_path: Path, api: SlackApiStub, port: int, **extra: str) -> dict[str, str]:
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG)
    return {
        "BOT_CONFIG": str(config),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api.base_url,
        **extra,
    }


def _stop(proc, log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    text = log.read_text()
    assert "Traceback" not in text
    return text


def test_run_serves_signed_slack_requests(tmp_path: Path, slack_stub: SlackApiStub) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    proc = start_bot(["run", "--no-scheduler"], _env(tmp_path, slack_stub, port), tmp_path, log)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc) == 200
        url = f"http://127.0.0.1:{port}/slack/events"
        body = payloads.slash_command("U0ALICE", "developer need logs")
        assert post_signed(url, body, "wrong-secret")[0] == 401
        assert post_signed(url, body, None)[0] == 401
        assert slack_stub.methods() == []
        status, raw, _ = post_signed(url, body, SECRET)
        assert (status, raw) == (200, b"")
        [opened] = slack_stub.wait_for("views.open")
        assert opened["view"]["callback_id"] == "request_form"
        assert slack_stub.calls[-1].token == "xoxb-test"
    finally:
        if proc.poll() is None:
            _stop(proc, log)
    assert "xoxb-test" not in log.read_text() and SECRET not in log.read_text()


# Socket Mode runs are in tests/slack/test_socket_mode.py (events over a real socket).
