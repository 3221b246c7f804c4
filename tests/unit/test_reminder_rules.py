"""Pure reminder/expiry rules and the Block Kit builders of flow 5."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.reminders import (
    escalates,
    is_expired,
    owners_to_nudge,
    period_grace,
    reminder_due,
    wait_text,
)
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import Reminders
from bot.slack.surfaces.blockkit import MAX_MESSAGE_BLOCKS, MAX_TEXT
from bot.slack.surfaces.channel import (
    MAX_SUMMARY_ROWS,
    escalation_message,
    expired_approval_message,
    pending_summary_message,
    reminder_message,
)
from bot.slack.surfaces.dms import expired_message as expired_requester_message

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = Reminders(
    every=timedelta(hours=4), remind_after=timedelta(hours=1), expire_after=timedelta(days=7)
)
H = timedelta(hours=1)
GRACE = period_grace(POLICY.every)


@pytest.mark.parametrize(
    ("created_ago", "reminded_ago", "due"),
    [
        (H - timedelta(seconds=1), None, False),  # not pending long enough yet
        (H, None, True),
        (3 * H, None, True),
        (3 * H, H, False),  # reminded within the period
        (9 * H, 4 * H - GRACE - timedelta(seconds=1), False),
        (9 * H, 4 * H - GRACE, True),  # scheduler drift does not cost a period
        (9 * H, 4 * H, True),
        (timedelta(days=7) - timedelta(seconds=1), 5 * H, True),
        (timedelta(days=7), None, False),  # the expiry sweep's, not a reminder's
    ],
)
def test_reminder_due(created_ago, reminded_ago, due) -> None:  # noqa: ANN001
    last = None if reminded_ago is None else NOW - reminded_ago
    assert (
        reminder_due(created_at=NOW - created_ago, last_reminded_at=last, now=NOW, policy=POLICY)
        is due
    )


@pytest.mark.parametrize(
    ("every", "grace"),
    [
        (timedelta(seconds=1), timedelta(milliseconds=50)),
        (timedelta(minutes=10), timedelta(seconds=30)),
        (timedelta(hours=4), timedelta(minutes=1)),  # capped
    ],
)
def test_period_grace_is_small_and_capped(every, grace) -> None:  # noqa: ANN001
    assert period_grace(every) == grace


@pytest.mark.parametrize(
    ("created_ago", "expired"),
    [
        (timedelta(days=7) - timedelta(seconds=1), False),
        (timedelta(days=7), True),
        (timedelta(days=30), True),
    ],
)
def test_is_expired(created_ago, expired) -> None:  # noqa: ANN001
    assert is_expired(created_at=NOW - created_ago, now=NOW, policy=POLICY) is expired


@pytest.mark.parametrize(
    ("approvers", "requester", "expected"),
    [
        ((), "U0ALICE", ("U1", "U2", "U3")),
        (("U2",), "U0ALICE", ("U1", "U3")),
        ((), "U3", ("U1", "U2")),
        (("U1",), "U2", ("U3",)),
        (("U1", "U3"), "U2", ()),
    ],
)
def test_owners_to_nudge(approvers, requester, expected) -> None:  # noqa: ANN001
    assert owners_to_nudge(("U1", "U2", "U3"), approvers, requester) == expected


@pytest.mark.parametrize(("number", "escalated"), [(1, False), (3, False), (4, True), (9, True)])
def test_escalates_after_three_reminders(number, escalated) -> None:  # noqa: ANN001
    assert escalates(number) is escalated


@pytest.mark.parametrize(
    ("waited", "text"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=5), "12m"),
        (timedelta(hours=3, minutes=59), "3h"),
        (timedelta(days=2, hours=4, minutes=3), "2d 4h"),
        (timedelta(days=7), "7d"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_wait_text(waited, text) -> None:  # noqa: ANN001
    assert wait_text(NOW - waited, NOW) == text


# --- builders ----------------------------------------------------------------------

HOSTILE = "<!channel> & <https://evil.example|click>"


def view(request_id: int = 7, **kw) -> RequestView:  # noqa: ANN003
    values = {
        "id": request_id,
        "requester_id": "U0ALICE",
        "profile": "developer",
        "iam_user_name": "alice",
        "console": True,
        "programmatic": False,
        "reason": HOSTILE,
        "status": Status.PENDING,
        "created_at": NOW - timedelta(hours=3),
        "approval_channel": "C0APPROVALS",
        "approval_ts": "1700000001.000100",
    }
    values.update(kw)
    return RequestView(**values)


def all_text(blocks: list) -> str:
    return json.dumps(blocks)


def test_reminder_mentions_owners_and_shows_age_in_the_readers_zone() -> None:
    text, blocks = reminder_message(view(), ("U0OWNER1", "U0OWNER2"), 2, NOW)
    assert "<@U0OWNER1> <@U0OWNER2>" in text
    assert "request #7 from <@U0ALICE> for *developer*" in text
    created = int((NOW - timedelta(hours=3)).timestamp())
    assert f"waiting 3h (since <!date^{created}^" in text
    assert "Reminder 2" in all_text(blocks)
    assert "actions" not in all_text(blocks)


def test_reminder_shows_progress_towards_several_approvals() -> None:
    _, blocks = reminder_message(
        view(approvals_required=2, approvers=("U0OWNER1",)), ("U0OWNER2",), 1, NOW
    )
    assert "1 of 2 approvals so far" in all_text(blocks)


def test_builders_escape_user_text() -> None:
    request = view(iam_user_name="<@U0EVIL>", profile="dev<x>")
    outputs = [
        reminder_message(request, ("U0OWNER1",), 1, NOW),
        escalation_message(request, 4, NOW, None),
        pending_summary_message([(request, None)], 1, NOW),
        expired_approval_message(request, timedelta(days=7)),
        expired_requester_message(request, timedelta(days=7)),
    ]
    for text, blocks in outputs:
        rendered = text + all_text(blocks)
        assert "<!channel>" not in rendered
        assert "<@U0EVIL>" not in rendered
        assert "<https://evil" not in rendered
        assert "dev<x>" not in rendered


def test_escalation_links_the_approval_message() -> None:
    text, _ = escalation_message(view(), 4, NOW, "https://t.slack.com/archives/C0APPROVALS/p1")
    assert text.startswith("Request #7 from <@U0ALICE>")  # capitalised without lowercasing ids
    assert "after 4 reminders" in text
    assert "<https://t.slack.com/archives/C0APPROVALS/p1|the approval message>" in text


def test_summary_lists_in_the_given_order_with_links() -> None:
    entries = [(view(3), "https://t/p3"), (view(5), None), (view(9), "https://t/p9")]
    title, blocks = pending_summary_message(entries, 3, NOW)
    assert title == "3 access requests waiting for a decision"
    body = all_text(blocks)
    assert body.index("<https://t/p3|#3>") < body.index("#5") < body.index("<https://t/p9|#9>")


def test_summary_stays_inside_slack_limits_with_many_requests() -> None:
    entries = [(view(i, reason="x" * 2000), f"https://t/p{i}") for i in range(500)]
    _, blocks = pending_summary_message(entries, 500, NOW)
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in blocks:
        element = block.get("text") or block["elements"][0]
        assert len(element["text"]) <= MAX_TEXT
    body = all_text(blocks)
    assert f"#{MAX_SUMMARY_ROWS - 1}>" in body and f"#{MAX_SUMMARY_ROWS}>" not in body
    assert f"and {500 - MAX_SUMMARY_ROWS} more" in body


def test_expired_messages_drop_the_buttons_and_invite_a_new_request() -> None:
    text, blocks = expired_approval_message(view(), timedelta(days=7))
    assert all(block["type"] != "actions" for block in blocks)
    assert "expired after 7d without a decision" in text
    assert "&lt;!channel&gt;" in all_text(blocks)  # the reason is still shown, escaped
    dm, _ = expired_requester_message(view(), timedelta(days=7))
    assert "`/request-aws-access developer`" in dm
