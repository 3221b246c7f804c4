"""The real `aws-access-bot run` process: Slack over signed HTTP, or Socket Mode."""

from __future__ import annotations

from pathlib import Path

from tests.slack.conftest import CONFIG, SECRET
from tests.support import slack_payloads as payloads
from tests.support.processes import run_env, running_bot
from tests.support.slack_api import SlackApiStub, post_signed


def test_run_serves_signed_slack_requests(tmp_path: Path, slack_api: SlackApiStub) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG)
    env = run_env(
        config,
        f"sqlite:///{tmp_path / 'run.db'}",
        slack_api_url=slack_api.base_url,
        signing_secret=SECRET,
    )
    with running_bot(["run", "--no-scheduler"], env, tmp_path) as bot:
        url = f"{bot.url}/slack/events"
        body = payloads.slash_command("U0ALICE", "developer need logs")
        assert post_signed(url, body, "wrong-secret")[0] == 401
        assert post_signed(url, body, None)[0] == 401
        assert slack_api.methods() == []
        status, raw, _ = post_signed(url, body, SECRET)
        assert (status, raw) == (200, b"")
        [opened] = slack_api.wait_for("views.open")
        assert opened["view"]["callback_id"] == "request_form"
        assert slack_api.calls[-1].token == "xoxb-test"
        assert bot.stop() == 0
    log = bot.text()
    assert "Traceback" not in log
    assert "xoxb-test" not in log and SECRET not in log


# Socket Mode runs are in tests/slack/test_socket_mode.py (events over a real socket).
