"""Sandbox marking (pure) and the sandbox's IAM seeding (moto in process, as `run
--sandbox` itself uses it)."""

from __future__ import annotations

import pytest

from bot.sandbox import SANDBOX_ACCOUNT, start_sandbox_aws
from bot.slack.sandbox import mark_payload
from bot.slack.surfaces.blockkit import MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS, mrkdwn
from bot.slack.surfaces.sandbox_marks import (
    SANDBOX_BLOCK_ID,
    SANDBOX_PREFIX,
    sandbox_blocks,
    sandbox_text,
    sandbox_view,
)
from tests.support.configs import DEVELOPER, READ_ONLY, bot_config, config_toml, profile


def test_text_is_prefixed_once() -> None:
    assert sandbox_text("Request #4 approved") == SANDBOX_PREFIX + "Request #4 approved"
    assert sandbox_text(sandbox_text("x")) == sandbox_text("x")
    assert sandbox_text("") == SANDBOX_PREFIX


@pytest.mark.parametrize("count", [0, 1, MAX_MESSAGE_BLOCKS - 1, MAX_MESSAGE_BLOCKS])
def test_message_blocks_get_the_note_first_within_slacks_limit(count: int) -> None:
    blocks = [mrkdwn(f"block {i}") for i in range(count)]
    marked = sandbox_blocks(blocks)
    assert marked[0]["block_id"] == SANDBOX_BLOCK_ID
    assert marked[1:] == blocks[: MAX_MESSAGE_BLOCKS - 1]
    assert len(marked) <= MAX_MESSAGE_BLOCKS
    assert sandbox_blocks(marked) == marked  # idempotent
    assert blocks == [mrkdwn(f"block {i}") for i in range(count)]  # input untouched


def test_no_blocks_stay_no_blocks() -> None:
    assert sandbox_blocks(None) is None


def test_views_get_the_note_within_the_view_limit() -> None:
    view = {"type": "modal", "callback_id": "x", "blocks": [mrkdwn("b")] * MAX_VIEW_BLOCKS}
    marked = sandbox_view(view)
    assert marked["blocks"][0]["block_id"] == SANDBOX_BLOCK_ID
    assert len(marked["blocks"]) == MAX_VIEW_BLOCKS
    assert marked["callback_id"] == "x" and len(view["blocks"]) == MAX_VIEW_BLOCKS


@pytest.mark.parametrize(
    ("method", "payload", "marked_keys"),
    [
        (
            "chat.postMessage",
            {"channel": "C1", "text": "hi", "blocks": [mrkdwn("hi")]},
            {"text", "blocks"},
        ),
        ("chat.postEphemeral", {"channel": "C1", "user": "U1", "text": "no"}, {"text"}),
        ("chat.update", {"channel": "C1", "ts": "1.2", "text": "t"}, {"text"}),
        ("views.publish", {"user_id": "U1", "view": {"type": "home", "blocks": []}}, {"view"}),
        ("conversations.open", {"users": "U1"}, set()),
        ("users.info", {"user": "U1"}, set()),
    ],
)
def test_only_what_people_see_is_marked(method: str, payload: dict, marked_keys: set) -> None:
    marked = mark_payload(method, payload)
    changed = {key for key in marked if marked[key] != payload.get(key)}
    assert changed == marked_keys


SANDBOX_CONFIG = config_toml(
    DEVELOPER,
    profile(
        "analyst",
        "Reads the warehouse",
        groups=["developers", "analysts"],
        policies=[READ_ONLY, f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/team/WarehouseRead"],
        console=True,
        programmatic=False,
        approvals_required=1,
    ),
    aws={
        "iam_path": "/onboarding/",
        "permissions_boundary": f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/boundaries/DevBoundary",
    },
)


def test_sandbox_creates_what_the_profiles_name_and_nothing_leaves_the_process() -> None:
    config = bot_config(SANDBOX_CONFIG, "sandbox.toml")
    sandbox = start_sandbox_aws(config)
    try:
        iam = sandbox.session.client("iam")
        groups = {g["GroupName"] for g in iam.list_groups()["Groups"]}
        assert groups == {"developers", "analysts"}
        local = {p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
        assert local == {
            f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/team/WarehouseRead",
            f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/boundaries/DevBoundary",
        }
        # AWS-managed policies exist too, so AttachUserPolicy works in the sandbox.
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        identity = sandbox.session.client("sts").get_caller_identity()
        assert identity["Account"] == SANDBOX_ACCOUNT
    finally:
        sandbox.stop()
