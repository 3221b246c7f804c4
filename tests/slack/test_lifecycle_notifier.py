"""SlackNotifier.notify(event) through the real WebClient against the Web API stand-in:
for each domain event, which messages are posted, updated, threaded or DMed, and which
failures raise DeliveryFailed for the outbox (docs/architecture.md, "Deliveries (outbox)")."""

from __future__ import annotations

import json
import logging
import typing
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.domain.credentials import IssuedLink
from bot.domain.errors import DeliveryFailed, DeliveryKind
from bot.domain.events import (
    AccessExtended,
    AccessRevoked,
    CredentialsExpired,
    CredentialsIssued,
    CredentialsOpened,
    DeliveryGivenUp,
    Event,
    ExpiryWarning,
    IamNameTaken,
    KeyRotated,
    KeyRotationDue,
    MemberDeactivated,
    PendingSummary,
    ProvisioningFailed,
    ReminderDue,
    ReminderEscalated,
    RequestApproved,
    RequestCancelled,
    RequestChanged,
    RequestDenied,
    RequesterOutcome,
    RequestExpired,
    RequestSubmitted,
    RevokeFailed,
    RevokeRefusedNotice,
    RolledBack,
)
from bot.domain.requests import MessageRef, RequestView
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status
from bot.slack.notifier import SlackNotifier
from tests.support.configs import bot_config
from tests.support.slack_api import SlackApiStub

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LINK_URL = "https://bot.example/credentials/L1#the-key"


@pytest.fixture
def notifier(stub: SlackApiStub) -> SlackNotifier:
    return SlackNotifier(WebClient(token="xoxb-test", base_url=stub.base_url), bot_config())


def view(request_id: int = 7, *, posted: bool = True, **kw) -> RequestView:  # noqa: ANN003
    return RequestView(
        id=request_id,
        requester_id=kw.pop("requester_id", "U0ALICE"),
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


def link() -> IssuedLink:
    return IssuedLink("L1", LINK_URL, NOW + timedelta(days=1))


def actions(call: dict) -> list[str]:
    blocks = [b for b in call.get("blocks") or [] if b["type"] == "actions"]
    return [e["action_id"] for b in blocks for e in b["elements"]]


def no_unfurl(call: dict) -> bool:
    return call["unfurl_links"] in (False, "false", "0") and call["unfurl_media"] in (
        False,
        "false",
        "0",
    )


# --- requests and decisions (flows 1-2) --------------------------------------------


def test_submitted_posts_the_approval_message_and_confirms(stub, notifier) -> None:  # noqa: ANN001
    ref = notifier.notify(RequestSubmitted(view(posted=False)))
    approval, dm = stub.calls_to("chat.postMessage")
    assert ref == MessageRef("C0APPROVALS", ref.ts)
    assert approval["channel"] == "C0APPROVALS" and "thread_ts" not in approval
    assert actions(approval) == ["approve_request", "deny_request"]
    assert dm["channel"] == "D0ALICE" and "#7" in dm["text"] and "waiting" in dm["text"]


def test_a_pending_request_whose_profile_is_gone_cannot_be_approved(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(RequestSubmitted(view(posted=False, profile_available=False)))
    approval = stub.calls_to("chat.postMessage")[0]
    assert actions(approval) == ["deny_request"]
    assert f"cannot be approved: {PROFILE_GONE}" in json.dumps(approval["blocks"])
    notifier.notify(RequestChanged(view(profile_available=False, approvers=("U0OWNER1",))))
    [update] = stub.calls_to("chat.update")
    assert actions(update) == ["deny_request"] and PROFILE_GONE in json.dumps(update["blocks"])


@pytest.mark.parametrize("kind", [RequestChanged, RequestCancelled])
def test_changes_update_the_approval_message_in_place(stub, notifier, kind) -> None:  # noqa: ANN001
    status = Status.CANCELLED if kind is RequestCancelled else Status.PENDING
    assert notifier.notify(kind(view(status=status, decided_by="U0ALICE"))) is None
    [update] = stub.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("C0APPROVALS", "1700000007.000100")
    assert stub.methods() == ["chat.update"]  # nobody is DMed


def test_a_change_without_an_approval_message_sends_nothing(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(RequestChanged(view(posted=False)))
    assert stub.methods() == []


def test_approved_updates_and_tells_the_requester(stub, notifier) -> None:  # noqa: ANN001
    request = view(status=Status.APPROVED, decided_by="U0OWNER1", decided_at=NOW)
    notifier.notify(RequestApproved(request, "U0OWNER1"))
    [update] = stub.calls_to("chat.update")
    assert "approved by <@U0OWNER1>" in json.dumps(update["blocks"]) and not actions(update)
    [dm] = stub.calls_to("chat.postMessage")
    assert dm["channel"] == "D0ALICE"
    assert "request #7 for *developer* was approved by <@U0OWNER1>" in dm["text"]
    assert "being created" in dm["text"]


def test_denied_updates_and_tells_the_requester_why(stub, notifier) -> None:  # noqa: ANN001
    request = view(status=Status.DENIED, decided_by="U0OWNER2", deny_reason="<!here> no")
    notifier.notify(RequestDenied(request, "U0OWNER2"))
    [update] = stub.calls_to("chat.update")
    assert "denied by <@U0OWNER2>" in json.dumps(update["blocks"])
    [dm] = stub.calls_to("chat.postMessage")
    assert dm["text"].endswith("was denied by <@U0OWNER2>. Reason: &lt;!here&gt; no")


def test_expiry_closes_the_approval_message_and_tells_the_requester(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(RequestExpired(view(status=Status.EXPIRED), timedelta(days=7)))
    [update] = stub.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("C0APPROVALS", "1700000007.000100")
    assert all(block["type"] != "actions" for block in update["blocks"])
    assert "expired after 7d" in update["text"]
    [dm] = stub.calls_to("chat.postMessage")
    assert dm["channel"] == "D0ALICE"
    assert "/request-aws-access developer" in dm["text"]


# --- provisioning (flow 3) -----------------------------------------------------------


def test_provisioning_failed_tells_owners_in_the_thread_and_the_requester(stub, notifier) -> None:  # noqa: ANN001
    failed = view(status=Status.FAILED, last_error="AccessDenied: no", decided_by="U0OWNER1")
    assert notifier.notify(ProvisioningFailed(failed)) is None
    [update] = stub.calls_to("chat.update")
    assert actions(update) == ["provision_retry", "provision_rollback"]
    reply, dm = stub.calls_to("chat.postMessage")
    assert reply["channel"] == "C0APPROVALS" and reply["thread_ts"] == "1700000007.000100"
    assert "AccessDenied: no" in reply["text"] and "Retry or roll back above" in reply["text"]
    assert json.dumps(reply).count("Retry") == 1  # the buttons are in the message only
    assert dm["channel"] == "D0ALICE" and "hit a problem" in dm["text"]


def test_rolled_back_updates_the_message(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(RolledBack(view(status=Status.REVOKED, decided_by="U0OWNER1"), "U0OWNER1"))
    [update] = stub.calls_to("chat.update")
    assert "rolled back" in json.dumps(update["blocks"]) and not actions(update)
    assert stub.methods() == ["chat.update"]


# --- credentials link (flow 4) -------------------------------------------------------


def test_first_credentials_dm_the_link_and_update_the_message(stub, notifier) -> None:  # noqa: ANN001
    provisioned = view(status=Status.PROVISIONED, decided_by="U0OWNER1")
    ref = notifier.notify(CredentialsIssued(provisioned, link()))
    [dm] = stub.calls_to("chat.postMessage")
    assert ref is not None and ref.channel == "D0ALICE" and ref.ts
    assert dm["channel"] == "D0ALICE" and no_unfurl(dm)
    assert LINK_URL in json.dumps(dm["blocks"]) and LINK_URL not in dm["text"]
    [update] = stub.calls_to("chat.update")
    assert actions(update) == ["credentials_reissue", "revoke_access"]
    assert "the requester got a link" in json.dumps(update["blocks"])  # the DM went first
    assert LINK_URL not in json.dumps(update)


def test_reissued_credentials_dm_the_link_and_note_it_in_the_thread(stub, notifier) -> None:  # noqa: ANN001
    provisioned = view(status=Status.PROVISIONED, decided_by="U0OWNER1")
    ref = notifier.notify(CredentialsIssued(provisioned, link(), reissued_by="U0OWNER2"))
    dm, note = stub.calls_to("chat.postMessage")
    assert ref is not None and ref.channel == "D0ALICE" and no_unfurl(dm)
    assert note["channel"] == "C0APPROVALS" and note["thread_ts"] == "1700000007.000100"
    assert "<@U0OWNER2> re-issued the credentials of request #7" in note["text"]
    assert LINK_URL not in json.dumps(note)
    [update] = stub.calls_to("chat.update")  # the new link's DM was accepted
    assert "the requester got a link" in json.dumps(update["blocks"])
    assert LINK_URL not in json.dumps(update)


def test_opened_replies_under_the_link_dm_and_in_the_approval_thread(stub, notifier) -> None:  # noqa: ANN001
    request = view(status=Status.PROVISIONED, requester_dm_channel="D0ALICE", requester_dm_ts="5.5")
    notifier.notify(CredentialsOpened(request, NOW))
    dm, owners = stub.calls_to("chat.postMessage")
    assert (dm["channel"], dm["thread_ts"]) == ("D0ALICE", "5.5")
    assert (owners["channel"], owners["thread_ts"]) == ("C0APPROVALS", "1700000007.000100")
    assert all("was opened <!date^" in c["text"] for c in (dm, owners))
    assert stub.calls_to("conversations.open") == []  # the DM's place was known


def test_expired_link_offers_a_reissue_and_tells_the_requester(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(CredentialsExpired(view(status=Status.PROVISIONED)))
    offer, dm = stub.calls_to("chat.postMessage")
    assert offer["thread_ts"] == "1700000007.000100"
    assert actions(offer) == ["credentials_reissue"]
    assert dm["channel"] == "D0ALICE" and "expired before it was opened" in dm["text"]
    stub.clear()
    notifier.notify(CredentialsExpired(view(status=Status.PROVISIONED, posted=False)))
    offer = stub.calls_to("chat.postMessage")[0]
    assert offer["channel"] == "C0APPROVALS" and "thread_ts" not in offer


# --- reminders and lifecycle (flow 5) ------------------------------------------------


def test_reminder_is_a_thread_reply_mentioning_owners(stub, notifier) -> None:  # noqa: ANN001
    ref = notifier.notify(ReminderDue(view(), ("U0OWNER1", "U0OWNER3"), 1, NOW))
    [call] = stub.calls_to("chat.postMessage")
    assert call["channel"] == "C0APPROVALS"
    assert call["thread_ts"] == "1700000007.000100"
    assert "<@U0OWNER1> <@U0OWNER3>" in call["text"]
    assert ref == MessageRef("C0APPROVALS", ref.ts)


def test_reminder_without_an_approval_message_goes_to_the_channel(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(ReminderDue(view(posted=False), ("U0OWNER1",), 1, NOW))
    [call] = stub.calls_to("chat.postMessage")
    assert call["channel"] == "C0APPROVALS" and "thread_ts" not in call


def test_summary_links_each_request_oldest_first(stub, notifier) -> None:  # noqa: ANN001
    requests = (view(3, created_at=NOW - timedelta(days=1)), view(5, posted=False), view(9))
    notifier.notify(PendingSummary("C0SUMMARY", requests, 3, NOW))
    assert [c["message_ts"] for c in stub.calls_to("chat.getPermalink")] == [
        "1700000003.000100",
        "1700000009.000100",
    ]
    [post] = stub.calls_to("chat.postMessage")
    assert post["channel"] == "C0SUMMARY" and "thread_ts" not in post
    assert no_unfurl(post)
    body = str(post["blocks"])
    first = "<https://test.slack.com/archives/C0APPROVALS/p1700000003.000100|#3>"
    last = "<https://test.slack.com/archives/C0APPROVALS/p1700000009.000100|#9>"
    assert body.index(first) < body.index("#5") < body.index(last)


def test_summary_survives_a_failing_permalink(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.getPermalink", "message_not_found")
    notifier.notify(PendingSummary("C0APPROVALS", (view(3), view(4)), 2, NOW))
    [post] = stub.calls_to("chat.postMessage")
    body = str(post["blocks"])
    assert "#3" in body and "|#3>" not in body and "|#4>" in body


def test_escalation_dms_each_owner_with_a_link(stub, notifier) -> None:  # noqa: ANN001
    notifier.notify(ReminderEscalated(view(), ("U0OWNER1", "U0OWNER2"), 4, NOW))
    assert [c["users"] for c in stub.calls_to("conversations.open")] == ["U0OWNER1", "U0OWNER2"]
    posts = stub.calls_to("chat.postMessage")
    assert [p["channel"] for p in posts] == ["D0OWNER1", "D0OWNER2"]
    assert all("p1700000007.000100|the approval message>" in p["text"] for p in posts)
    assert all(no_unfurl(p) for p in posts)


# --- delivery ------------------------------------------------------------------------


def test_best_effort_messages_swallow_slack_errors(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.postMessage", "channel_not_found", times=3)
    assert notifier.notify(ReminderDue(view(), ("U0OWNER1",), 1, NOW)) is None
    assert notifier.notify(PendingSummary("C0APPROVALS", (view(),), 1, NOW)) is None
    assert notifier.notify(CredentialsOpened(view(), NOW)) is None


def test_a_refused_approval_post_raises_and_dms_nobody(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.postMessage", "fatal_error", status=500)
    with pytest.raises(DeliveryFailed) as failed:
        notifier.notify(RequestSubmitted(view(posted=False)))
    assert failed.value.kinds == (DeliveryKind.APPROVAL_POST,)
    assert failed.value.error == "fatal_error"
    # The outbox's retry posts and DMs: the requester hears "waiting" once.
    assert [c["channel"] for c in stub.calls_to("chat.postMessage")] == ["C0APPROVALS"]


def test_every_part_is_tried_and_each_failed_kind_named(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.update", "message_not_found")
    stub.rate_limit("chat.postMessage", retry_after=7)
    client = notifier.client
    client.retry_handlers = []  # a bare client: the 429 reaches the notifier at once
    with pytest.raises(DeliveryFailed) as failed:
        notifier.notify(RequestExpired(view(status=Status.EXPIRED), timedelta(days=7)))
    assert failed.value.kinds == (DeliveryKind.APPROVAL_UPDATE, DeliveryKind.REQUESTER_OUTCOME)
    assert failed.value.retry_after == 7.0
    assert stub.methods() == ["chat.update", "conversations.open", "chat.postMessage"]


def test_a_timed_out_update_raises(stub, notifier, monkeypatch) -> None:  # noqa: ANN001
    def timeout(**kwargs: object) -> None:
        raise TimeoutError("timed out")

    monkeypatch.setattr(notifier.client, "chat_update", timeout)
    with pytest.raises(DeliveryFailed) as failed:
        notifier.notify(RequestChanged(view()))
    assert failed.value.kinds == (DeliveryKind.APPROVAL_UPDATE,)
    assert failed.value.error == "TimeoutError"


def test_a_lost_credentials_dm_never_claims_the_link_went(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.postMessage", "fatal_error", status=500)
    provisioned = view(status=Status.PROVISIONED, decided_by="U0OWNER1")
    with pytest.raises(DeliveryFailed) as failed:
        notifier.notify(CredentialsIssued(provisioned, link()))
    assert failed.value.kinds == (DeliveryKind.CREDENTIALS,)
    [update] = stub.calls_to("chat.update")
    blocks = json.dumps(update["blocks"])
    assert "delivering the link" in blocks and "got a link" not in blocks


def test_an_update_lost_after_the_link_went_still_returns_the_dm(stub, notifier) -> None:  # noqa: ANN001
    stub.fail("chat.update", "fatal_error", status=500)
    provisioned = view(status=Status.PROVISIONED, decided_by="U0OWNER1")
    with pytest.raises(DeliveryFailed) as failed:
        notifier.notify(CredentialsIssued(provisioned, link()))
    assert failed.value.kinds == (DeliveryKind.APPROVAL_UPDATE,)
    assert isinstance(failed.value.result, MessageRef)  # the DM's ref, to store
    assert failed.value.result.channel == "D0ALICE"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.APPROVED, "was approved by <@U0OWNER1>"),
        (Status.PROVISIONING, "was approved by <@U0OWNER1>"),
        (Status.DENIED, "was denied by <@U0OWNER1>"),
        (Status.EXPIRED, "expired after 7d"),
        (Status.FAILED, "hit a problem"),
        (Status.CANCELLED, None),
        (Status.PROVISIONED, None),
        (Status.REVOKED, None),
    ],
)
def test_the_outcome_dm_is_the_current_states(stub, notifier, status, expected) -> None:  # noqa: ANN001
    request = view(status=status, decided_by="U0OWNER1")
    notifier.notify(RequesterOutcome(request, timedelta(days=7)))
    posts = stub.calls_to("chat.postMessage")
    if expected is None:
        assert posts == []
    else:
        [dm] = posts
        assert dm["channel"] == "D0ALICE" and expected in dm["text"]
    assert stub.calls_to("chat.update") == []  # only the DM is re-sent


def test_given_up_is_said_in_the_approval_thread(stub, notifier) -> None:  # noqa: ANN001
    request = view(status=Status.PROVISIONED)
    notifier.notify(DeliveryGivenUp(request, DeliveryKind.CREDENTIALS, 6, "fatal_error"))
    [reply] = stub.calls_to("chat.postMessage")
    assert reply["thread_ts"] == "1700000007.000100"
    assert "credentials link for request #7 after 6 attempts (fatal_error)" in reply["text"]
    assert "Re-issue" in reply["text"]


def test_dm_channel_is_opened_once_per_user(notifier: SlackNotifier, stub: SlackApiStub) -> None:
    denied = view(status=Status.DENIED, posted=False)
    notifier.notify(RequestDenied(denied, "U0OWNER1"))
    notifier.notify(RequestDenied(denied, "U0OWNER2"))
    notifier.notify(RequestDenied(replace(denied, requester_id="U0BOB"), "U0OWNER1"))
    assert [c["users"] for c in stub.calls_to("conversations.open")] == ["U0ALICE", "U0BOB"]
    posts = stub.calls_to("chat.postMessage")
    assert [p["channel"] for p in posts] == ["D0ALICE", "D0ALICE", "D0BOB"]


def test_a_failed_open_is_not_cached(notifier: SlackNotifier, stub: SlackApiStub) -> None:
    stub.fail("conversations.open", "user_not_found")
    lost = view(status=Status.PROVISIONED, requester_id="U0CAROL", posted=False)
    with pytest.raises(DeliveryFailed):
        notifier.notify(CredentialsIssued(lost, link()))
    assert notifier.notify(CredentialsIssued(lost, link())) is not None
    assert len(stub.calls_to("conversations.open")) == 2


def sample(kind: type) -> Event:
    request = view(status=Status.PROVISIONED)
    samples = {
        RequestSubmitted: lambda: RequestSubmitted(request),
        RequestChanged: lambda: RequestChanged(request),
        RequestApproved: lambda: RequestApproved(request, "U0OWNER1"),
        RequestDenied: lambda: RequestDenied(request, "U0OWNER1"),
        RequestCancelled: lambda: RequestCancelled(request),
        RequestExpired: lambda: RequestExpired(request, timedelta(days=7)),
        ProvisioningFailed: lambda: ProvisioningFailed(request),
        RolledBack: lambda: RolledBack(request, "U0OWNER1"),
        CredentialsIssued: lambda: CredentialsIssued(request, link()),
        CredentialsOpened: lambda: CredentialsOpened(request, NOW),
        CredentialsExpired: lambda: CredentialsExpired(request),
        ReminderDue: lambda: ReminderDue(request, ("U0OWNER1",), 1, NOW),
        ReminderEscalated: lambda: ReminderEscalated(request, ("U0OWNER1",), 4, NOW),
        PendingSummary: lambda: PendingSummary("C0APPROVALS", (request,), 1, NOW),
        RequesterOutcome: lambda: RequesterOutcome(
            replace(request, status=Status.DENIED, decided_by="U0OWNER1"), timedelta(days=7)
        ),
        DeliveryGivenUp: lambda: DeliveryGivenUp(request, DeliveryKind.APPROVAL_UPDATE, 6, "x"),
        # flow 6
        AccessRevoked: lambda: AccessRevoked(
            replace(
                request,
                status=Status.REVOKED,
                revoked_at=NOW,
                revoked_by="U0OWNER1",
                revoke_cause="owner",
                revoke_mode="disable",
            )
        ),
        RevokeFailed: lambda: RevokeFailed(
            replace(request, status=Status.REVOKING, last_error="AccessDenied: no")
        ),
        RevokeRefusedNotice: lambda: RevokeRefusedNotice(request, "not the bot's user"),
        # flow 6: time-bound access and Slack deactivation
        ExpiryWarning: lambda: ExpiryWarning(
            replace(request, access_expires_at=NOW + timedelta(hours=1)), NOW
        ),
        AccessExtended: lambda: AccessExtended(
            replace(request, access_expires_at=NOW + timedelta(days=30)), "U0OWNER1", NOW
        ),
        MemberDeactivated: lambda: MemberDeactivated("U0ALICE", (request,), revoking=False),
        # flow 1: the full IAM check found the name taken after the form's ack
        IamNameTaken: lambda: IamNameTaken(view(status=Status.CANCELLED, posted=False)),
        # flow 6: key rotation
        KeyRotationDue: lambda: KeyRotationDue(
            request, "AKIAOLDKEY", NOW - timedelta(days=91), NOW, timedelta(days=7)
        ),
        KeyRotated: lambda: KeyRotated(
            request, link(), "AKIAOLDKEY", "AKIANEWKEY", NOW + timedelta(days=7)
        ),
    }
    return samples[kind]()


@pytest.mark.parametrize("kind", typing.get_args(Event), ids=lambda k: k.__name__)
def test_every_event_reaches_slack(stub, notifier, kind, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.INFO, logger="bot.slack"):
        notifier.notify(sample(kind))
    assert stub.methods(), f"{kind.__name__} sent nothing"
    assert "no Slack rendering" not in caplog.text
