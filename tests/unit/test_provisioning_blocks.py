"""Pure Block Kit builders of the provisioning section."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.slack.surfaces.approval_message import (
    PROVISION_RETRY,
    PROVISION_ROLLBACK,
    build,
    provisioning_blocks,
    provisioning_failed_text,
)
from bot.slack.surfaces.blockkit import MAX_TEXT
from bot.slack.surfaces.revoke_messages import REVOKE_ACTION
from bot.slack.surfaces.time_bound import EXTEND_ACTION

REISSUE = "credentials_reissue"
REQUEST = RequestView(
    id=17,
    requester_id="U0REQ",
    profile="developer",
    iam_user_name="alice",
    console=True,
    programmatic=True,
    reason="deploys",
    status=Status.FAILED,
    created_at=datetime(2026, 11, 28, tzinfo=UTC),
    last_error="NoSuchEntity: Group developers not found",
)


def texts(blocks) -> str:
    return repr(blocks)


def test_failed_request_shows_error_and_owner_buttons() -> None:
    blocks = provisioning_blocks(REQUEST)
    assert "NoSuchEntity: Group developers not found" in blocks[0]["text"]["text"]
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        (PROVISION_RETRY, "17", "primary"),
        (PROVISION_ROLLBACK, "17", "danger"),
    ]
    assert "confirm" in actions["elements"][1]  # destructive: asks first


def test_error_text_is_escaped_and_within_limits() -> None:
    nasty = replace(REQUEST, last_error="<!channel> " + "x" * 5000, iam_user_name="<@U1>")
    blocks = provisioning_blocks(nasty)
    text = blocks[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U1>" not in texts(blocks)
    assert len(text) <= MAX_TEXT
    assert len(provisioning_failed_text(nasty)) <= MAX_TEXT
    assert "<!channel>" not in provisioning_failed_text(nasty)


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (Status.PROVISIONING, "Creating IAM user `alice`"),
        (Status.PROVISIONED, "created"),
        (Status.REVOKED, "removed"),
    ],
)
def test_other_statuses_show_one_line_and_no_retry(status, needle) -> None:
    blocks = provisioning_blocks(replace(REQUEST, status=status))
    assert blocks[0]["type"] == "context"
    assert needle in blocks[0]["elements"][0]["text"]
    actions = [e["action_id"] for b in blocks[1:] for e in b.get("elements", [])]
    # Only a provisioned request offers something: the owners' Re-issue and Revoke
    # (no Extend: this grant has no end).
    assert actions == ([REISSUE, REVOKE_ACTION] if status is Status.PROVISIONED else [])


def test_a_time_bound_grant_says_when_it_ends_and_offers_extend() -> None:
    ends = datetime(2026, 12, 28, tzinfo=UTC)
    blocks = provisioning_blocks(
        replace(
            REQUEST,
            status=Status.PROVISIONED,
            requester_dm_ts="1.2",
            access_expires_at=ends,
            max_duration=timedelta(days=30),
        )
    )
    assert "Access ends" in texts(blocks) and str(int(ends.timestamp())) in texts(blocks)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [REISSUE, REVOKE_ACTION, EXTEND_ACTION]
    extend = actions["elements"][2]
    assert extend["value"] == "17" and "30d" in texts(extend["confirm"])


def test_undecided_requests_have_no_provisioning_section() -> None:
    assert provisioning_blocks(replace(REQUEST, status=Status.PENDING)) == []


def test_the_approval_message_itself_carries_the_provisioning_section() -> None:
    # The notifier re-renders the approval message on every change: a failed request's
    # buttons must be in it, and gone again once it is provisioned.
    _, failed = build(REQUEST)
    actions = [b for b in failed if b["type"] == "actions"]
    assert [e["action_id"] for a in actions for e in a["elements"]] == [
        PROVISION_RETRY,
        PROVISION_ROLLBACK,
    ]
    assert "NoSuchEntity: Group developers not found" in texts(failed)
    _, done = build(replace(REQUEST, status=Status.PROVISIONED, last_error=None))
    # Provisioned: no Retry / Roll back, but owners can re-issue a lost link or revoke.
    [actions] = [b for b in done if b["type"] == "actions"]
    [reissue, revoke] = actions["elements"]
    assert (reissue["action_id"], reissue["value"]) == (REISSUE, "17")
    assert "confirm" in reissue
    # Revoke is destructive but asks in its own modal (a reason, the mode), not a confirm.
    assert (revoke["action_id"], revoke["value"], revoke["style"]) == (
        REVOKE_ACTION,
        "17",
        "danger",
    )
    assert "created" in texts(done)
