"""`run --sandbox` with [[accounts]] (flow 7): every configured account exists in the
in-process moto, with the role the bot assumes there and its profiles' groups, and a
request is provisioned in its own account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.aws.accounts import AccountProvisioners, AccountSessions
from bot.aws.calls import Backoff
from bot.domain.requests import RequestView
from bot.domain.states import Status
from tests.support.configs import bot_config

pytest.importorskip("moto")

CONFIG = bot_config(
    """
[slack]
approval_channel = "C0MAIN"
owners = ["U0MAIN"]

[[accounts]]
name = "main"
id = "123456789012"

[[accounts]]
name = "prod"
id = "111111111111"
role_arn = "arn:aws:iam::111111111111:role/ops/aws-access-bot"
external_id = "sandbox-ext"
owners = ["U0PROD"]
approval_channel = "C0PROD"

[[profiles]]
name = "developer"
groups = ["developers"]
account = "main"

[[profiles]]
name = "deploy"
groups = ["deployers"]
account = "prod"
"""
)


def test_the_sandbox_creates_every_account_and_provisions_in_each() -> None:
    from bot.sandbox import start_sandbox_aws

    sandbox = start_sandbox_aws(CONFIG)
    try:
        assert sandbox.created == [
            "group developers",
            "account prod: role arn:aws:iam::111111111111:role/ops/aws-access-bot",
            "account prod: group deployers",
        ]
        sessions = AccountSessions(CONFIG, sandbox.session)
        assert sessions.identity("prod")["Account"] == "111111111111"
        assert sessions.identity("main")["Account"] == "123456789012"
        made = AccountProvisioners(
            sessions, CONFIG, sleep=lambda _s: None, step_backoff=Backoff(2, 0, 0)
        )
        request = RequestView(
            id=1,
            requester_id="U0ALICE",
            profile="deploy",
            iam_user_name="alice",
            console=False,
            programmatic=True,
            reason="deploys",
            status=Status.PROVISIONING,
            created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
            groups=("deployers",),
            account="prod",
        )
        credentials = made.provision(request)
        prod_groups = sessions.iam("prod").list_groups_for_user(UserName="alice")["Groups"]
        assert [g["GroupName"] for g in prod_groups] == ["deployers"]
        main_users = sessions.iam("main").list_users()["Users"]
        assert "alice" not in [u["UserName"] for u in main_users]
        assert credentials.console_url == "https://111111111111.signin.aws.amazon.com/console"
    finally:
        sandbox.stop()
