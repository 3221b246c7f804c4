"""`check`'s Slack part with [[accounts]] (flow 7): every account's approval channel and
owners, each once, against the Slack Web API stand-in."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.doctor import check_slack
from tests.support.configs import bot_config

CONFIG = bot_config(
    """
[slack]
approval_channel = "C0MAIN"
owners = ["U0MAINOWNER"]

[[accounts]]
name = "main"
id = "123456789012"

[[accounts]]
name = "prod"
id = "111111111111"
owners = ["U0PRODOWNER", "U0MAINOWNER"]
approval_channel = "C0PROD"

[[accounts]]
name = "staging"
id = "222222222222"
approval_channel = "C0PROD"

[[profiles]]
name = "developer"
account = "main"
"""
)


def test_check_looks_at_every_accounts_channel_and_owners(slack_stub) -> None:
    slack_stub.add_user("U0MAINOWNER", "main@example.com")
    slack_stub.add_user("U0PRODOWNER", "prod@example.com")
    client = WebClient(token="xoxb-test", base_url=slack_stub.base_url)  # noqa: S106

    lines = [r.line for r in check_slack(client, CONFIG)]

    assert [c["channel"] for c in slack_stub.calls_to("conversations.info")] == [
        "C0MAIN",
        "C0PROD",
    ]
    assert [c["user"] for c in slack_stub.calls_to("users.info")] == [
        "U0MAINOWNER",
        "U0PRODOWNER",
    ]
    assert "Slack: the bot is a member of approval channel C0PROD" in lines
    assert all(r.ok for r in check_slack(client, CONFIG))
