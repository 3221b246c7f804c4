"""Reminders, the pending summary, escalation, expiry and the owners' queues go to each
account's own channel and owners (flow 7), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.events import PendingSummary, ReminderDue, ReminderEscalated, RequestExpired
from bot.services.expire import ExpirySweep
from bot.services.queries import RequestQueries
from bot.services.remind import ReminderSweep
from tests.support.configs import bot_config
from tests.support.lifecycle import ids_of, seed_request
from tests.support.notifier import RecordingNotifier

CONFIG = bot_config(
    """
[slack]
approval_channel = "C0MAIN"
owners = ["U0MAINOWNER"]

[reminders]
every = "4h"
remind_after = "1h"
expire_after = "7d"

[[accounts]]
name = "main"
id = "123456789012"

[[accounts]]
name = "prod"
id = "111111111111"
role_arn = "arn:aws:iam::111111111111:role/aws-access-bot"
owners = ["U0PRODOWNER1", "U0PRODOWNER2"]
approval_channel = "C0PROD"

[[accounts]]
name = "staging"
id = "222222222222"
owners = ["U0STAGEOWNER"]
approval_channel = "C0PROD"

[[profiles]]
name = "developer"
account = "main"

[[profiles]]
name = "deploy"
account = "prod"

[[profiles]]
name = "stage"
account = "staging"
"""
)


def seed(stores, clock, profile: str, name: str, hours: float) -> int:
    return seed_request(
        stores,
        created_at=clock.now() - timedelta(hours=hours),
        profile=profile,
        iam_user_name=name,
        config=CONFIG,
    )


def test_reminders_and_summaries_go_to_each_accounts_channel_and_owners(stores, clock) -> None:
    main = seed(stores, clock, "developer", "ann", 2)
    prod = seed(stores, clock, "deploy", "bea", 3)
    stage = seed(stores, clock, "stage", "cid", 2.5)
    notifier = RecordingNotifier()

    report = ReminderSweep(stores.sweeps, stores.requests, notifier, CONFIG)(clock.now())

    assert sorted(report.reminded) == sorted([main, prod, stage])
    owners = {event.request.id: event.owners for event in notifier.of(ReminderDue)}
    assert owners == {
        main: ("U0MAINOWNER",),
        prod: ("U0PRODOWNER1", "U0PRODOWNER2"),
        stage: ("U0STAGEOWNER",),
    }
    # One summary per channel, each of the accounts posted there (oldest first).
    summaries = {s.channel: [r.id for r in s.requests] for s in notifier.of(PendingSummary)}
    assert summaries == {"C0MAIN": [main], "C0PROD": [prod, stage]}
    assert {s.channel: s.total for s in notifier.of(PendingSummary)} == {"C0MAIN": 1, "C0PROD": 2}

    # Once per period and channel: a second sweep posts no summary anywhere.
    again = RecordingNotifier()
    ReminderSweep(stores.sweeps, stores.requests, again, CONFIG)(clock.advance(minutes=5))
    assert again.of(PendingSummary) == []


def test_escalation_dms_the_accounts_own_owners(stores, clock) -> None:
    prod = seed(stores, clock, "deploy", "dee", 1.5)
    notifier = RecordingNotifier()
    sweep = ReminderSweep(stores.sweeps, stores.requests, notifier, CONFIG)
    for _ in range(4):  # escalation from the fourth reminder on
        sweep(clock.now())
        clock.advance(hours=4)

    [escalated] = notifier.of(ReminderEscalated)
    assert escalated.request.id == prod
    assert escalated.owners == ("U0PRODOWNER1", "U0PRODOWNER2")


def test_expiry_keeps_the_request_in_its_account(stores, clock) -> None:
    prod = seed(stores, clock, "deploy", "eve", 24 * 7 + 1)
    notifier = RecordingNotifier()

    ExpirySweep(stores.sweeps, stores.requests, notifier, CONFIG)(clock.now())

    assert ids_of(notifier, RequestExpired) == [prod]
    [expired] = notifier.of(RequestExpired)
    assert expired.request.account == "prod"
    assert CONFIG.approval_channel_of(expired.request.account) == "C0PROD"


def test_owners_queue_is_the_accounts_they_own(stores, clock) -> None:
    main = seed(stores, clock, "developer", "fay", 2)
    prod = seed(stores, clock, "deploy", "gus", 3)
    stage = seed(stores, clock, "stage", "hal", 1)
    queries = RequestQueries(stores.requests, CONFIG)

    assert [v.id for v in queries.pending("U0MAINOWNER")] == [main]
    assert [v.id for v in queries.pending("U0PRODOWNER2")] == [prod]
    assert [v.id for v in queries.pending("U0STAGEOWNER")] == [stage]
    assert queries.pending("U0NOBODY") == []
    assert [v.id for v in queries.pending()] == [prod, main, stage]
    assert queries.is_owner("U0STAGEOWNER") and not queries.is_owner("U0NOBODY")
    # A small limit still fills an owner's queue with their own accounts' requests.
    assert [v.id for v in queries.pending("U0MAINOWNER", limit=1)] == [main]
