"""Accounts and their owners (flow 7), through signed requests to the real Bolt app and
the whole runtime (`build_runtime`: its per-account AWS Sessions, the provisioning
worker, the sweeps) against a two-account moto (tests/support/moto_accounts.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.aws.accounts import AccountProvisioners, AccountSessions
from bot.aws.calls import Backoff
from bot.container import build_runtime
from bot.slack.app import build_app, http_handler
from bot.web.router import Router
from tests.slack.conftest import ALICE, SECRET, Bot
from tests.support import slack_payloads as payloads
from tests.support.configs import bot_config, container_on
from tests.support.moto import unique
from tests.support.moto_accounts import (
    ADMIN,
    PROD_ID,
    PROD_ROLE,
    TwoAccounts,
    accounts_toml,
)
from tests.support.polling import wait_until
from tests.support.wsgi import serve_wsgi

MAIN_OWNER, PROD_OWNER = "U0MAINOWNER", "U0PRODOWNER"
CONFIG = accounts_toml(main_owner=MAIN_OWNER, prod_owner=PROD_OWNER)


@pytest.fixture
def two(two_accounts: TwoAccounts) -> TwoAccounts:
    return two_accounts


@pytest.fixture
def make_accounts_bot(engine, sessions, clock, slack_api, two, monkeypatch):
    """The bot as `run` builds it, its AWS clients pointed at the two-account moto and
    running with `base` (the bot's own credentials; main's admin by default)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", two.endpoint)
    for user in (MAIN_OWNER, PROD_OWNER):
        slack_api.add_user(user, f"{user.lower()}@example.com")

    @contextmanager
    def make(provision_with: boto3.Session | None = None) -> Iterator[Bot]:
        config = bot_config(CONFIG)
        container = container_on(
            engine,
            sessions,
            clock,
            slack_bot_token="xoxb-test",  # noqa: S106 - a test value
            slack_signing_secret=SECRET,
            slack_api_url=slack_api.base_url,
            config=config,
        )
        provisioner = None
        if provision_with is not None:  # other credentials for provisioning, fast backoff
            provisioner = AccountProvisioners(
                AccountSessions(config, provision_with, now=clock.now),
                config,
                backoff=Backoff(3, 0, 0),
                sleep=lambda _s: None,
            )
        runtime = build_runtime(container, aws_session=two.base_session(), provisioner=provisioner)
        router = Router()
        router.mount(
            "/slack/events",
            http_handler(
                build_app(
                    container.settings,
                    runtime.services,
                    runtime.client,
                    after_ack=runtime.after_ack,
                )
            ),
        )
        try:
            with serve_wsgi(router) as url:
                yield Bot(f"{url}/slack/events", slack_api, container)
        finally:
            runtime.close()

    return make


@pytest.fixture
def accounts_bot(make_accounts_bot) -> Iterator[Bot]:
    with make_accounts_bot() as bot:
        yield bot


def approval_posts(bot: Bot) -> list[dict]:
    """Posts to channels (not DMs, whose ids start with D)."""
    return [c for c in bot.api.calls_to("chat.postMessage") if c["channel"].startswith("C")]


def wait_status(bot: Bot, request_id: int, status: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = bot.row(request_id).status
        if current == status:
            return current
        time.sleep(0.05)
    return bot.row(request_id).status


def user_exists(iam, name: str) -> bool:
    try:
        iam.get_user(UserName=name)
    except ClientError:
        return False
    return True


def test_a_prod_request_is_posted_in_the_prod_channel_only(accounts_bot: Bot) -> None:
    request_id = accounts_bot.request(ALICE, "deploy", unique("alice"))

    [post] = approval_posts(accounts_bot)
    assert post["channel"] == "C0PROD"
    assert f"#{request_id}" in post["text"]
    assert "*AWS account*\\n`prod`" in json.dumps(post["blocks"])
    row = accounts_bot.row(request_id)
    assert (row.account, row.approval_channel) == ("prod", "C0PROD")


def test_a_main_request_is_posted_in_slacks_channel(accounts_bot: Bot) -> None:
    accounts_bot.request(ALICE, "developer", unique("alice"))

    assert [p["channel"] for p in approval_posts(accounts_bot)] == ["C0MAIN"]


def test_only_the_prod_owner_decides_and_approving_provisions_in_prod(
    accounts_bot: Bot, two: TwoAccounts
) -> None:
    name = unique("alice")
    request_id = accounts_bot.request(ALICE, "deploy", name)

    # main's owner is an owner, but not of prod: refused, nothing changes.
    assert accounts_bot.click(MAIN_OWNER, "approve_request", request_id, channel="C0PROD") == 200
    [ephemeral] = accounts_bot.api.wait_for("chat.postEphemeral")
    assert ephemeral["user"] == MAIN_OWNER
    assert ephemeral["text"] == "Only the account owners can approve."
    time.sleep(0.1)
    assert accounts_bot.row(request_id).status == "pending"
    assert accounts_bot.events(request_id) == ["requested"]
    assert accounts_bot.api.calls_to("chat.update") == []

    # prod's owner approves: the user is made in prod, in prod's group, nowhere else.
    assert accounts_bot.click(PROD_OWNER, "approve_request", request_id, channel="C0PROD") == 200
    assert wait_status(accounts_bot, request_id, "provisioned") == "provisioned"
    row = accounts_bot.row(request_id)
    assert row.decided_by == PROD_OWNER
    prod = two.prod_iam()
    user = prod.get_user(UserName=name)["User"]
    assert user["Arn"] == f"arn:aws:iam::{PROD_ID}:user/onboarding/{name}"
    assert [g["GroupName"] for g in prod.list_groups_for_user(UserName=name)["Groups"]] == [
        "prod-deployers"
    ]
    assert not user_exists(two.main_iam(), name)
    # Every message about it went to prod's channel (or to people), never main's.
    assert {p["channel"] for p in approval_posts(accounts_bot)} == {"C0PROD"}
    assert {u["channel"] for u in accounts_bot.api.calls_to("chat.update")} == {"C0PROD"}


def test_owners_app_home_shows_the_queues_of_their_own_accounts(accounts_bot: Bot) -> None:
    in_prod = accounts_bot.request(ALICE, "deploy", unique("alice"))
    in_main = accounts_bot.request("U0BOB", "developer", unique("bob"))

    homes = {}
    for owner in (MAIN_OWNER, PROD_OWNER):
        before = len(accounts_bot.api.calls_to("views.publish"))
        status, _ = accounts_bot.post(
            payloads.app_home_opened(owner), content_type="application/json"
        )
        assert status == 200
        homes[owner] = json.dumps(accounts_bot.api.wait_for("views.publish", before + 1)[-1])

    assert f"#{in_main}" in homes[MAIN_OWNER] and f"#{in_prod}" not in homes[MAIN_OWNER]
    assert f"#{in_prod}" in homes[PROD_OWNER] and f"#{in_main}" not in homes[PROD_OWNER]


def test_a_role_the_bot_cannot_assume_fails_provisioning_for_the_owners_to_see(
    make_accounts_bot, two: TwoAccounts
) -> None:
    """By the time a prod request is approved, the bot's credentials may no longer assume
    prod's role (here: provisioning runs as a main user without sts:AssumeRole): the
    request fails after retries, the owners are told why in prod's thread, and nothing
    is made anywhere. Nothing crashes: the next request (in main) still works."""
    iam = two.main_iam()
    user = unique("bot-no-assume")
    iam.create_user(UserName=user)
    no_assume = ADMIN.replace('"Action": "*"', '"Action": ["iam:*", "sts:GetCallerIdentity"]')
    iam.put_user_policy(UserName=user, PolicyName="no-assume", PolicyDocument=no_assume)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    base = two.base_session(key["AccessKeyId"], key["SecretAccessKey"])

    with make_accounts_bot(base) as bot:
        name = unique("alice")
        request_id = bot.request(ALICE, "deploy", name)
        bot.click(PROD_OWNER, "approve_request", request_id, channel="C0PROD")
        assert wait_status(bot, request_id, "failed") == "failed"

        row = bot.row(request_id)
        assert row.last_error.startswith(
            f"AccessDenied: account prod: AccessDenied on sts:AssumeRole of {PROD_ROLE}"
        )
        assert "external_id does not match" in row.last_error
        # The owners' note follows the commit of the failure: wait for it.
        replies = wait_until(
            lambda: [
                c
                for c in bot.api.calls_to("chat.postMessage")
                if c.get("thread_ts") and "failed" in (c.get("text") or "")
            ],
            what="the owners' note about the failure",
        )
        assert replies and {r["channel"] for r in replies} == {"C0PROD"}
        assert "AccessDenied on sts:AssumeRole" in replies[0]["text"]
        assert key["SecretAccessKey"] not in json.dumps(bot.api.calls_to("chat.postMessage"))
        assert not user_exists(two.prod_iam(), name) and not user_exists(two.main_iam(), name)
        # main's requests still work with the same credentials.
        other = bot.request("U0BOB", "developer", unique("bob"))
        bot.click(MAIN_OWNER, "approve_request", other, channel="C0MAIN")
        assert wait_status(bot, other, "provisioned") == "provisioned"
