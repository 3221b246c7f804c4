"""The Slack side of flow 5 through the real WebClient against the Web API stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.domain.requests import MessageRef, RequestView
from bot.domain.states import Status
from bot.slack.notifier import SlackNotifier
from tests.support.lifecycle import lifecycle_config
from tests.support.slack_api import SlackApiStub

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def running_stub():
    stub = SlackApiStub()
    stub.start()
    yield stub
    stub.stop()  # waits out serve_forever's poll: once per module, not per test


@pytest.fixture
def stub(running_stub: SlackApiStub) -> SlackApiStub:
    running_stub.clear()
    return running_stub


@pytest.fixture
def notifier(stub: SlackApiStub) -> SlackNotifier:
    return SlackNotifier(WebClient(token="xoxb-test", base_url=stub.base_url), lifecycle_config())


def view(request_id: int = 7, *, posted: bool = True, **kw) -> RequestView:  # noqa: ANN003
    return RequestView(
        id=request_id,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name="alice",
        console=True,
        programmatic=False,
        reason="debug billing",
        status=kw.pop("status", Status.PENDING),
        created_at=kw.pop("created_at", NOW - timedelta(hours=2)),
        approval_channel="C0APPROVALS" if posted else None,
        approval_ts=f"17000000{request_id:02d}.000100" if posted else None,
        **kw,
    )


def test_reminder_is_a_thread_reply_mentioning_owners(stub, notifier) -> None:  # noqa: ANN001
    ref = notifier.remind(view(), ("U0OWNER1", "U0OWNER3"), 1, NOW)
    [call] = stub.calls_to("chat.postMessage")
    assert call["channel"] == "C0APPROVALS"
    assert call["thread_ts"] == "1700000007.000100"
    assert "<@U0OWNER1> <@U0OWNER3>" in call["text"]
    assert ref == MessageRef("C0APPROVALS", ref.ts)


def test_reminder_without_an_approval_message_goes_to_the_channel(stub, notifier) -> None:  # noqa: ANN001
    notifier.remind(view(posted=False), ("U0OWNER1",), 1, NOW)
    [call] = stub.calls_to("chat.postMessage")
    assert call["channel"] == "C0APPROVALS" and "thread_ts" not in call


def test_summary_links_each_request_oldest_first(stub, notifier) -> None:  # noqa: ANN001
    requests = [view(3, created_at=NOW - timedelta(days=1)), view(5, posted=False), view(9)]
    notifier.pending_summary(requests, 3, NOW)
    assert [c["message_ts"] for c in stub.calls_to("chat.getPermalink")] == [
        "1700000003.000100",
        "1700000009.000100",
    ]
    [post] = stub.calls_to("chat.postMessage")
    assert post["channel"] == "C0APPROVALS" and "thread_ts" not in post
    assert post["unfurl_links"] in (False, "false", "0")
    body = str(post["blocks"])
    first = "<https://test.slack.com/archives/C0APPROVALS/p1700000003.000100|#3>"
    last = "<https://test.slack.com/archives/C0APPROVALS/p1700000009.000100|#9>"
    assert body.index(first) < body.index("#5") < body.index(last)


def test_summary_survives_a_failing_permalink(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.getPermalink", "message_not_found")
    notifier.pending_summary([view(3), view(4)], 2, NOW)
    [post] = stub.calls_to("chat.postMessage")
    body = str(post["blocks"])
    assert "#3" in body and "|#3>" not in body and "|#4>" in body


def test_escalation_dms_each_owner_with_a_link(stub, notifier) -> None:  # noqa: ANN001
    notifier.escalate(view(), ("U0OWNER1", "U0OWNER2"), 4, NOW)
    assert [c["users"] for c in stub.calls_to("conversations.open")] == ["U0OWNER1", "U0OWNER2"]
    posts = stub.calls_to("chat.postMessage")
    assert [p["channel"] for p in posts] == ["D0OWNER1", "D0OWNER2"]
    assert all("p1700000007.000100|the approval message>" in p["text"] for p in posts)


def test_expiry_closes_the_approval_message_and_tells_the_requester(stub, notifier) -> None:  # noqa: ANN001
    notifier.request_expired(view(status=Status.EXPIRED), timedelta(days=7))
    [update] = stub.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("C0APPROVALS", "1700000007.000100")
    assert all(block["type"] != "actions" for block in update["blocks"])
    assert "expired after 7d" in update["text"]
    [dm] = stub.calls_to("chat.postMessage")
    assert dm["channel"] == "D0ALICE"
    assert "/request-aws-access developer" in dm["text"]


def test_slack_errors_are_swallowed(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.update", "message_not_found")
    stub.fail("chat.postMessage", "channel_not_found", times=3)
    notifier.request_expired(view(), timedelta(days=7))
    assert notifier.remind(view(), ("U0OWNER1",), 1, NOW) is None
    assert notifier.pending_summary([view()], 1, NOW) is None


def test_dm_channel_is_opened_once_per_user(notifier: SlackNotifier, stub: SlackApiStub) -> None:
    notifier.dm("U0ALICE", "one")
    notifier.dm("U0ALICE", "two")
    notifier.dm("U0BOB", "three")
    assert [c["users"] for c in stub.calls_to("conversations.open")] == ["U0ALICE", "U0BOB"]
    posts = stub.calls_to("chat.postMessage")
    assert [(p["channel"], p["text"]) for p in posts] == [
        ("D0ALICE", "one"),
        ("D0ALICE", "two"),
        ("D0BOB", "three"),
    ]


def test_a_failed_open_is_not_cached(notifier: SlackNotifier, stub: SlackApiStub) -> None:
    stub.fail("conversations.open", "user_not_found")
    assert notifier.dm("U0CAROL", "lost") is None
    assert notifier.dm("U0CAROL", "found") is not None
    assert len(stub.calls_to("conversations.open")) == 2
