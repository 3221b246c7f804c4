"""Approve / Deny / App Home through the real Bolt app, asserting on Web API calls."""

from __future__ import annotations

import json
import time

import pytest

from bot.domain.rules import PROFILE_GONE
from tests.slack.conftest import ALICE, BOB, CONFIG, OWNER1, OWNER2, Bot, without_profile
from tests.support import slack_payloads as payloads
from tests.support.concurrency import race
from tests.support.moto import unique


def _text(call: dict) -> str:
    return json.dumps(call.get("blocks")) + (call.get("text") or "")


def _has_buttons(call: dict) -> bool:
    return any(b["type"] == "actions" for b in call["blocks"])


def test_request_then_approve(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    assert bot.click(OWNER1, "approve_request", request_id) == 200
    [update] = bot.api.wait_for("chat.update")
    row = bot.row(request_id)
    assert update["channel"] == "C0APPROVALS" and update["ts"] == row.approval_ts
    assert not _has_buttons(update)
    assert f"approved by <@{OWNER1}> <!date^" in _text(update)
    assert "1 of 1 approvals" in _text(update)
    assert (row.status, row.decided_by) == ("approved", OWNER1)
    assert row.decided_at is not None
    assert bot.events(request_id) == ["requested", "approval", "approved"]
    dms = bot.api.wait_for("chat.postMessage", 3)
    assert dms[-1]["channel"] == "D0ALICE"
    assert f"request #{request_id}" in dms[-1]["text"] and "approved" in dms[-1]["text"]
    assert bot.wait_handed_off(request_id) == [request_id]  # after the commit
    assert bot.api.calls_to("chat.postEphemeral") == []


def test_deny_with_reason(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    assert bot.click(OWNER2, "deny_request", request_id) == 200
    [opened] = bot.api.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "deny_form"
    assert bot.row(request_id).status == "pending"  # nothing decided until submitted
    reason = "<!here> ask in #help & retry"
    status, raw = bot.post(payloads.view_submission(OWNER2, view, payloads.deny_values(reason)))
    assert (status, raw) == (200, b"")
    [update] = bot.api.wait_for("chat.update")
    assert not _has_buttons(update)
    body = _text(update)
    assert f"denied by <@{OWNER2}>" in body
    assert "&lt;!here&gt; ask in #help &amp; retry" in body and "<!here>" not in body
    row = bot.row(request_id)
    assert (row.status, row.decided_by, row.deny_reason) == ("denied", OWNER2, reason)
    dm = bot.api.wait_for("chat.postMessage", 3)[-1]
    assert dm["channel"] == "D0ALICE"
    assert "denied" in dm["text"] and "&lt;!here&gt;" in dm["text"]
    assert bot.events(request_id) == ["requested", "denied"]
    assert bot.approved == []


def test_deny_without_reason(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.click(OWNER1, "deny_request", request_id)
    view = bot.api.wait_for("views.open")[0]["view"]
    bot.post(payloads.view_submission(OWNER1, view, payloads.deny_values(None)))
    [update] = bot.api.wait_for("chat.update")
    assert "Reason:" not in _text(update)
    assert bot.row(request_id).deny_reason is None


@pytest.mark.parametrize(
    ("action", "refusal"),
    [
        ("approve_request", "Only the account owners can approve."),
        ("deny_request", "Only the account owners can deny."),
    ],
)
def test_non_owner_click_changes_nothing(bot: Bot, action: str, refusal: str) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    assert bot.click(BOB, action, request_id) == 200
    [ephemeral] = bot.api.wait_for("chat.postEphemeral")
    assert ephemeral["user"] == BOB and ephemeral["channel"] == "C0APPROVALS"
    assert ephemeral["text"] == refusal
    time.sleep(0.1)
    assert bot.api.calls_to("chat.update") == [] and bot.api.calls_to("views.open") == []
    assert bot.row(request_id).status == "pending"
    assert bot.events(request_id) == ["requested"]


def test_owner_cannot_approve_own_request(bot: Bot) -> None:
    request_id = bot.request(OWNER1, "developer", unique("owner"))
    bot.click(OWNER1, "approve_request", request_id)
    [ephemeral] = bot.api.wait_for("chat.postEphemeral")
    assert ephemeral["text"] == "You cannot approve your own request."
    assert bot.row(request_id).status == "pending"
    assert bot.events(request_id) == ["requested"]
    # Another owner still can.
    bot.click(OWNER2, "approve_request", request_id)
    bot.api.wait_for("chat.update")
    assert bot.row(request_id).status == "approved"


def test_two_of_two_approvals(bot: Bot) -> None:
    request_id = bot.request(ALICE, "prod", unique("alice"))
    first = bot.api.calls_to("chat.postMessage")[0]
    assert "0 of 2 approvals" in _text(first)

    bot.click(OWNER1, "approve_request", request_id)
    [partial] = bot.api.wait_for("chat.update")
    assert "1 of 2 approvals: <@U0OWNER1>" in _text(partial) and _has_buttons(partial)
    assert bot.row(request_id).status == "pending"
    assert bot.approved == []

    bot.click(OWNER1, "approve_request", request_id)  # the same owner again: counts once
    [dup] = bot.api.wait_for("chat.postEphemeral")
    assert "already approved" in dup["text"] and "1 of 2" in dup["text"]
    assert len(bot.api.calls_to("chat.update")) == 1

    bot.click(OWNER2, "approve_request", request_id)
    final = bot.api.wait_for("chat.update", 2)[-1]
    assert not _has_buttons(final)
    assert "2 of 2 approvals: <@U0OWNER1>, <@U0OWNER2>" in _text(final)
    assert f"approved by <@{OWNER2}>" in _text(final)
    assert bot.row(request_id).status == "approved"
    assert bot.events(request_id) == ["requested", "approval", "approval", "approved"]
    assert bot.wait_handed_off(request_id) == [request_id]


def test_click_on_decided_request_answers_with_its_state(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.click(OWNER1, "approve_request", request_id)
    bot.api.wait_for("chat.update")
    bot.click(OWNER2, "deny_request", request_id)
    [ephemeral] = bot.api.wait_for("chat.postEphemeral")
    assert ephemeral["text"] == f"Request #{request_id} is already approved by <@{OWNER1}>."
    assert bot.api.calls_to("views.open") == []
    assert bot.row(request_id).status == "approved"


def test_forged_button_value(bot: Bot) -> None:
    status, _ = bot.post(payloads.block_action(OWNER1, "approve_request", "1; DROP TABLE"))
    assert status == 200
    [ephemeral] = bot.api.wait_for("chat.postEphemeral")
    assert "does not belong to a request" in ephemeral["text"]
    bot.post(payloads.block_action(OWNER1, "approve_request", "999"))
    assert "does not exist" in bot.api.wait_for("chat.postEphemeral", 2)[-1]["text"]


def test_concurrent_clicks_make_one_transition(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    clickers = [OWNER1, OWNER2] * 4
    bodies = [payloads.block_action(user, "approve_request", str(request_id)) for user in clickers]
    statuses = race(len(bodies), lambda i: bot.post(bodies[i])[0])
    assert statuses == [200] * len(clickers)
    ephemerals = bot.api.wait_for("chat.postEphemeral", len(clickers) - 1)
    time.sleep(0.2)
    [update] = bot.api.calls_to("chat.update")
    assert not _has_buttons(update) and "approved by" in _text(update)
    assert len(ephemerals) == len(clickers) - 1
    assert all("already approved" in e["text"] for e in ephemerals)
    assert bot.events(request_id).count("approved") == 1
    assert bot.events(request_id).count("approval") == 1
    assert bot.wait_handed_off(request_id) == [request_id]
    assert bot.row(request_id).status == "approved"


def test_app_home_for_owner_and_non_owner(bot: Bot) -> None:
    mine = bot.request(ALICE, "developer", unique("alice"))
    other = bot.request(BOB, "prod", unique("bob"))

    assert bot.post(payloads.app_home_opened(ALICE), content_type="application/json")[0] == 200
    [home] = bot.api.wait_for("views.publish")
    assert home["user_id"] == ALICE and home["view"]["type"] == "home"
    text = json.dumps(home["view"]["blocks"])
    assert f"*#{mine}*" in text and f"*#{other}*" not in text
    assert "Waiting for you" not in text and "approve_request" not in text
    assert "cancel_request" in text  # own pending request can be withdrawn

    bot.post(payloads.app_home_opened(OWNER1), content_type="application/json")
    home = bot.api.wait_for("views.publish", 2)[-1]
    assert home["user_id"] == OWNER1
    text = json.dumps(home["view"]["blocks"])
    assert "Waiting for you" in text
    assert f"*#{mine}*" in text and f"*#{other}*" in text
    assert f'"action_id": "approve_request", "value": "{mine}"' in text
    assert "0 of 2 approvals" in text


def test_approve_from_app_home_works_like_the_channel(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.click(OWNER1, "approve_request", request_id, home=True)
    [update] = bot.api.wait_for("chat.update")  # the channel message follows
    assert not _has_buttons(update)
    [home] = bot.api.wait_for("views.publish")
    assert home["user_id"] == OWNER1
    text = json.dumps(home["view"]["blocks"])
    assert f"You approved request #{request_id}." in text
    assert "Nothing is waiting for approval." in text
    assert bot.row(request_id).status == "approved"
    # A non-owner's click from Home is refused on their Home, nothing changes.
    other = bot.request(ALICE, "readonly", unique("alice"))
    bot.click(BOB, "approve_request", other, home=True)
    home = bot.api.wait_for("views.publish", 2)[-1]
    assert home["user_id"] == BOB and "Only the account owners can approve." in json.dumps(home)
    assert bot.row(other).status == "pending"


def test_deny_from_app_home(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.click(OWNER2, "deny_request", request_id, home=True)
    view = bot.api.wait_for("views.open")[0]["view"]
    bot.post(payloads.view_submission(OWNER2, view, payloads.deny_values("no")))
    bot.api.wait_for("chat.update")
    home = bot.api.wait_for("views.publish")[-1]
    assert home["user_id"] == OWNER2 and f"You denied request #{request_id}." in json.dumps(home)
    assert bot.row(request_id).status == "denied"


def test_requester_cancels_from_app_home(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.click(BOB, "cancel_request", request_id, home=True)
    assert "Only the requester" in json.dumps(bot.api.wait_for("views.publish")[-1])
    bot.click(ALICE, "cancel_request", request_id, home=True)
    [update] = bot.api.wait_for("chat.update")
    assert f"cancelled by <@{ALICE}>" in _text(update) and not _has_buttons(update)
    assert bot.row(request_id).status == "cancelled"
    assert bot.events(request_id) == ["requested", "cancelled"]


def test_failed_update_does_not_undo_the_decision(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    bot.api.fail("chat.update", "message_not_found")
    bot.click(OWNER1, "approve_request", request_id)
    bot.api.wait_for("chat.update")
    bot.api.wait_for("chat.postMessage", 3)  # the requester is still told
    assert bot.row(request_id).status == "approved"
    assert bot.wait_handed_off(request_id) == [request_id]


def test_a_request_whose_profile_was_removed_can_be_denied_not_approved(bot: Bot, make_bot) -> None:
    request_id = bot.request(ALICE, "prod", unique("alice"))
    with make_bot(without_profile(CONFIG, "prod")) as restarted:
        assert restarted.click(OWNER1, "approve_request", request_id) == 200
        [ephemeral] = restarted.api.wait_for("chat.postEphemeral")
        assert ephemeral["text"] == f"Request #{request_id} cannot be approved: {PROFILE_GONE}."
        assert restarted.row(request_id).status == "pending"
        assert restarted.events(request_id) == ["requested"]

        # The owner's App Home offers Deny only, and says why.
        restarted.post(payloads.app_home_opened(OWNER1), content_type="application/json")
        [home] = restarted.api.wait_for("views.publish")
        queue = [b for b in home["view"]["blocks"] if b.get("block_id") == f"decision-{request_id}"]
        assert [e["action_id"] for e in queue[0]["elements"]] == ["deny_request"]
        assert PROFILE_GONE in json.dumps(home["view"])

        restarted.click(OWNER2, "deny_request", request_id)
        view = restarted.api.wait_for("views.open")[0]["view"]
        restarted.post(payloads.view_submission(OWNER2, view, payloads.deny_values("gone")))
        [update] = restarted.api.wait_for("chat.update")
        assert not _has_buttons(update) and f"denied by <@{OWNER2}>" in _text(update)
        assert restarted.row(request_id).status == "denied"
        assert restarted.approved == []
