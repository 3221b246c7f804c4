"""Flow 6 from Slack: `/revoke-aws-access` by an owner and by anyone else, the Revoke
button on the approval message, and App Home's "Active access" list. Signed requests
through the real Bolt app (behind waitress) to the Slack Web API stand-in, the real
stores, and IAM in moto server mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.calls import Backoff
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.aws.revoke import IamRevoker
from bot.container import build_iam_directory, build_services, durable_notifier
from bot.domain.credentials import Credentials
from bot.domain.requests import MessageRef, RequestView
from bot.services.revoke import RevokeService
from bot.slack.after_ack import AfterAck
from bot.slack.client import build_web_client
from tests.slack.conftest import ALICE, BOB, OWNER1, SECRET, Bot
from tests.support import slack_payloads as payloads
from tests.support.configs import DEVELOPER, bot_config, config_toml, container_on
from tests.support.moto import unique
from tests.support.requests import approved, provision
from tests.support.wsgi import serve_slack_app

CONFIG = config_toml(DEVELOPER, extra='[offboarding]\nmode = "disable"\n')
APPROVAL = MessageRef("C0APPROVALS", "1700000000.000100")
FAST = Backoff(attempts=2, base=0.0, cap=0.0)


class MotoIam:
    """moto lacks ListServiceSpecificCredentials; everything else is moto over HTTP."""

    def __init__(self, iam: Any) -> None:
        self._iam = iam

    def __getattr__(self, name: str) -> Any:
        return getattr(self._iam, name)

    def list_service_specific_credentials(self, **_: Any) -> dict[str, Any]:
        return {"ServiceSpecificCredentials": []}


@pytest.fixture
def after_ack() -> Iterator[AfterAck]:
    lanes = AfterAck()
    yield lanes
    lanes.shutdown(wait=True)


@contextmanager
def default_lane_busy(lanes: AfterAck) -> Iterator[None]:
    """Every default-lane worker held (as behind a burst of Approve clicks)."""
    gate = threading.Event()
    for _ in range(lanes.workers):
        lanes(gate.wait, 30)
    try:
        yield
    finally:
        gate.set()


@pytest.fixture
def revoke_bot(engine, sessions, clock, slack_api, iam, after_ack) -> Iterator[Bot]:
    @contextmanager
    def make() -> Iterator[Bot]:
        container = container_on(
            engine,
            sessions,
            clock,
            slack_bot_token="xoxb-test",  # noqa: S106 - a test value
            slack_signing_secret=SECRET,
            slack_api_url=slack_api.base_url,
            config=bot_config(CONFIG),
        )
        settings = container.settings
        client = build_web_client(settings)
        config = settings.bot
        revoke = RevokeService(
            container.stores.revocations,
            container.stores.requests,
            IamRevoker(MotoIam(iam), config.aws, sleep=lambda _: None, step_backoff=FAST),
            durable_notifier(container, client),
            container.clock,
            config,
        )
        services = build_services(container, client, build_iam_directory(iam), revoke=revoke)
        with serve_slack_app(settings, services, client, after_ack) as events:
            yield Bot(events, slack_api, container)

    with make() as bot:
        yield bot


def grant(bot: Bot, iam, requester: str = ALICE) -> RequestView:
    """A provisioned request with its approval message, and its IAM user in moto made as
    provisioning makes it: the bot's path and tags, a password, a key, a group, a policy."""
    stores, config, now = bot.container.stores, bot.container.settings.bot, bot.container.clock
    name = unique("member")
    view = approved(
        stores,
        config,
        now=now.now(),
        requester_id=requester,
        iam_user_name=name,
        approval_message=APPROVAL,
    )
    credentials = Credentials(
        user_name=name,
        console_url="https://123456789012.signin.aws.amazon.com/console",
        password="pw-for-test",  # noqa: S106 - a test value
        access_key_id="AKIATESTTESTTESTTEST",
        secret_access_key="test-secret-key",
    )
    provisioned, _ = provision(stores, config, view.id, credentials, now=now.now())
    iam.create_user(
        UserName=name,
        Path="/onboarding/",
        Tags=[
            {"Key": REQUEST_TAG, "Value": str(view.id)},
            {"Key": SLACK_USER_TAG, "Value": requester},
        ],
    )
    iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    iam.create_access_key(UserName=name)
    group = unique("developers")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    return provisioned


def text_of(call: dict) -> str:
    return json.dumps(call.get("blocks")) + (call.get("text") or "")


def wait_status(bot: Bot, request_id: int, status: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if bot.row(request_id).status == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"request #{request_id} is {bot.row(request_id).status}, not {status}")


def disabled(iam, name: str) -> bool:
    try:
        iam.get_login_profile(UserName=name)
    except ClientError:
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        groups = iam.list_groups_for_user(UserName=name)["Groups"]
        return {k["Status"] for k in keys} == {"Inactive"} and groups == []
    return False


def reason_values(reason: str | None) -> dict[str, Any]:
    return {"revoke_reason": {"revoke_reason": {"type": "plain_text_input", "value": reason}}}


def assert_told_everyone(bot: Bot, request: RequestView, reason: str) -> None:
    """The approval message shows revoked (who, why, no buttons), the requester got a
    DM and the owners a note in the approval channel."""
    updates = bot.api.wait_for("chat.update", 2)
    final = updates[-1]
    assert (final["channel"], final["ts"]) == (APPROVAL.channel, APPROVAL.ts)
    assert not any(b["type"] == "actions" for b in final["blocks"])
    assert f"Access revoked* by <@{OWNER1}>" in text_of(final)
    assert reason in text_of(final)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        posts = bot.api.calls_to("chat.postMessage")
        dm = [p for p in posts if p["channel"] == "D" + request.requester_id.lstrip("UW")]
        note = [p for p in posts if p["channel"] == APPROVAL.channel and p.get("thread_ts")]
        if dm and note:
            break
        time.sleep(0.02)
    assert dm and "was revoked by" in dm[-1]["text"] and reason in dm[-1]["text"]
    assert (
        note
        and f"<@{OWNER1}> revoked the AWS access of <@{request.requester_id}>" in (note[-1]["text"])
    )
    assert note[-1]["thread_ts"] == APPROVAL.ts


def test_owner_revokes_a_member_with_the_command(revoke_bot: Bot, iam) -> None:
    bot = revoke_bot
    request = grant(bot, iam)
    status, raw = bot.post(
        payloads.slash_command(
            OWNER1, f"<@{ALICE}|alice> left the team", command="/revoke-aws-access"
        )
    )
    assert (status, raw) == (200, b"")
    [opened] = bot.api.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "revoke_form"
    assert request.iam_user_name in text_of(view)
    # Then what IAM holds: the key and the group it will remove.
    [updated] = bot.api.wait_for("views.update")
    full = updated["view"]
    assert "Access keys: `AKIA" in json.dumps(full["blocks"])
    assert "Groups: `developers-" in json.dumps(full["blocks"])
    reason_input = [b for b in full["blocks"] if b.get("block_id") == "revoke_reason"][0]
    assert reason_input["element"]["initial_value"] == "left the team"
    assert bot.row(request.id).status == "provisioned"  # nothing until submitted

    status, raw = bot.post(payloads.view_submission(OWNER1, full, reason_values("left the team")))
    assert (status, raw) == (200, b"")
    wait_status(bot, request.id, "revoked")
    assert disabled(iam, request.iam_user_name)
    row = bot.row(request.id)
    assert (row.revoked_by, row.revoke_reason, row.revoke_mode) == (
        OWNER1,
        "left the team",
        "disable",
    )
    assert bot.events(request.id)[-2:] == ["revoke_started", "revoked"]
    assert_told_everyone(bot, request, "left the team")
    [answer] = bot.api.wait_for("chat.postEphemeral")
    assert answer["user"] == OWNER1 and f"Revoked request #{request.id}" in answer["text"]


def test_a_non_owner_is_refused_and_nothing_opens(revoke_bot: Bot, iam) -> None:
    bot = revoke_bot
    request = grant(bot, iam)
    status, raw = bot.post(
        payloads.slash_command(BOB, f"<@{ALICE}|alice>", command="/revoke-aws-access")
    )
    assert status == 200
    answer = json.loads(raw)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Only the AWS account owners can use /revoke-aws-access."
    time.sleep(0.2)
    assert bot.api.calls_to("views.open") == []
    assert bot.row(request.id).status == "provisioned"
    assert "revoke_started" not in bot.events(request.id)


def test_the_command_says_how_to_use_it_and_when_there_is_nothing(revoke_bot: Bot) -> None:
    bot = revoke_bot
    _, raw = bot.post(payloads.slash_command(OWNER1, "", command="/revoke-aws-access"))
    assert json.loads(raw)["text"].startswith("Usage: `/revoke-aws-access @member [reason]`")
    _, raw = bot.post(payloads.slash_command(OWNER1, f"<@{BOB}|bob>", command="/revoke-aws-access"))
    assert json.loads(raw)["text"] == f"<@{BOB}> holds no AWS access that you can revoke."


def test_the_revoke_button_on_the_approval_message(revoke_bot: Bot, iam, after_ack) -> None:
    bot = revoke_bot
    request = grant(bot, iam)
    # The confirm modal opens on the modal lane: not queued behind other clicks' work,
    # as the click's trigger_id dies 3 s after it.
    with default_lane_busy(after_ack):
        assert bot.click(OWNER1, "revoke_access", request.id) == 200
        [opened] = bot.api.wait_for("views.open")
    assert opened["view"]["callback_id"] == "revoke_form"
    assert f"Revoke #{request.id}" == opened["view"]["title"]["text"]
    [updated] = bot.api.wait_for("views.update")

    bot.post(payloads.view_submission(OWNER1, updated["view"], reason_values("contract ended")))
    wait_status(bot, request.id, "revoked")
    assert disabled(iam, request.iam_user_name)
    assert_told_everyone(bot, request, "contract ended")


def test_the_revoke_button_refuses_anyone_but_owners(revoke_bot: Bot, iam) -> None:
    bot = revoke_bot
    request = grant(bot, iam)
    assert bot.click(BOB, "revoke_access", request.id) == 200
    [refusal] = bot.api.wait_for("chat.postEphemeral")
    assert refusal["user"] == BOB
    assert refusal["text"] == "Only the account owners can revoke access."
    time.sleep(0.1)
    assert bot.api.calls_to("views.open") == []
    assert bot.row(request.id).status == "provisioned"


def test_a_forged_submission_revokes_nothing_it_may_not(revoke_bot: Bot, iam) -> None:
    """The modal's metadata is the bot's own, but a forged one is still checked."""
    bot = revoke_bot
    request = grant(bot, iam)
    view = {
        "type": "modal",
        "callback_id": "revoke_form",
        "private_metadata": json.dumps({"request_ids": [request.id], "channel": "C0GEN"}),
    }
    bot.post(payloads.view_submission(BOB, view, reason_values("mine now")))
    [answer] = bot.api.wait_for("chat.postEphemeral")
    assert "only the account owners can revoke access" in answer["text"].lower()
    assert bot.row(request.id).status == "provisioned"


def test_the_approval_message_and_app_home_offer_revoke(revoke_bot: Bot, iam) -> None:
    bot = revoke_bot
    request = grant(bot, iam)
    status, _ = bot.post(payloads.app_home_opened(OWNER1), content_type="application/json")
    assert status == 200
    [home] = bot.api.wait_for("views.publish")
    blocks = home["view"]["blocks"]
    assert {
        "type": "header",
        "text": {"type": "plain_text", "text": "Active access", "emoji": True},
    } in blocks
    [entry] = [b for b in blocks if b.get("accessory", {}).get("action_id") == "revoke_access"]
    assert entry["accessory"]["value"] == str(request.id)
    assert request.iam_user_name in entry["text"]["text"]
    # From App Home, the answer comes back to App Home.
    bot.post(payloads.block_action(OWNER1, "revoke_access", str(request.id), home=True))
    [updated] = bot.api.wait_for("views.update")
    bot.post(payloads.view_submission(OWNER1, updated["view"], reason_values("")))
    wait_status(bot, request.id, "revoked")
    homes = bot.api.wait_for("views.publish", 2)
    assert f"Revoked request #{request.id}" in json.dumps(homes[-1]["view"]["blocks"])
    assert "revoke_access" not in json.dumps(homes[-1]["view"]["blocks"])
