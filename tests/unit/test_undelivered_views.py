"""What owners and requesters read about deliveries
(docs/architecture.md, "Deliveries (outbox)"): the approval message claims a link went
only once its DM was accepted, and what the outbox gave up on is on the owners' App
Home and in `aws-access-bot requests`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain.errors import DeliveryKind
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import Delivery, DeliveryStatus
from bot.services.listing import RequestRow, render_table
from bot.slack.surfaces import approval_message
from bot.slack.surfaces.app_home import home_view

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def view(**kw) -> RequestView:  # noqa: ANN003
    return RequestView(
        id=7,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name="alice",
        console=True,
        programmatic=True,
        reason="debug",
        status=kw.pop("status", Status.PROVISIONED),
        created_at=NOW - timedelta(hours=1),
        decided_by="U0OWNER1",
        **kw,
    )


def test_the_message_says_the_link_went_only_once_its_dm_was_accepted() -> None:
    _, waiting = approval_message.build(view())
    assert "delivering the link to the requester" in json.dumps(waiting)
    assert "got a link" not in json.dumps(waiting)
    _, sent = approval_message.build(view(requester_dm_channel="D0ALICE", requester_dm_ts="1.2"))
    assert "the requester got a link" in json.dumps(sent)


def test_given_up_deliveries_are_on_the_owners_home() -> None:
    delivery = Delivery(
        id=1,
        request_id=7,
        kind=DeliveryKind.CREDENTIALS,
        status=DeliveryStatus.GIVEN_UP,
        attempts=6,
        next_attempt_at=NOW,
        created_at=NOW,
        last_error="fatal_error",
    )
    home = json.dumps(home_view([], [], undelivered=[(view(), delivery)]))
    assert "Undelivered" in home
    assert "credentials link after 6 attempts (fatal_error)" in home
    assert "Undelivered" not in json.dumps(home_view([], []))


def test_the_listing_marks_undelivered_messages() -> None:
    rows = [
        RequestRow(2, "provisioned", "U0BOB", "developer", "bob", NOW, ("credentials (given_up)",)),
        RequestRow(1, "pending", "U0ALICE", "developer", "alice", NOW),
    ]
    header, bob, alice = render_table(rows, NOW).splitlines()
    assert header.split()[-1] == "UNDELIVERED"
    assert bob.endswith("credentials (given_up)") and "given_up" not in alice
    assert "UNDELIVERED" not in render_table(rows[1:], NOW)
