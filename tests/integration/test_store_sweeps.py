"""The SweepStore (bot/store/sweeps.py): reminder claims and once-per-period jobs.
(The sweeps' query plans are checked in test_lifecycle_sweeps.py.)"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.config import Reminders
from bot.domain.reminders import reminder_window
from bot.domain.states import Status
from tests.support.concurrency import race
from tests.support.stores import NOW, OWNERS, submitted

POLICY = Reminders()  # every 4h, after 1h, expire after 7d


def test_due_requests_are_claimed_once_per_period(stores) -> None:
    old = submitted(stores, NOW - timedelta(hours=2))
    young = submitted(
        stores, NOW - timedelta(minutes=10), requester_id="U0BOB", iam_user_name="bob"
    )
    due = stores.sweeps.due_for_reminder(reminder_window(NOW, POLICY), limit=10)
    assert due == [(old.id, None)]

    claim = stores.sweeps.claim_reminder(old.id, seen=None, now=NOW)
    assert claim.number == 1 and claim.request.reminder_count == 1
    assert stores.sweeps.claim_reminder(old.id, seen=None, now=NOW) is None  # taken
    assert stores.sweeps.due_for_reminder(reminder_window(NOW, POLICY), limit=10) == []
    assert [e.kind for e in stores.requests.audit_of(old.id)] == ["requested"]

    later = NOW + POLICY.every
    assert stores.sweeps.due_for_reminder(reminder_window(later, POLICY), limit=10) == [
        (old.id, NOW),
        (young.id, None),
    ]
    second = stores.sweeps.claim_reminder(old.id, seen=NOW, now=later, owners=list(OWNERS))
    assert second.number == 2
    event = stores.requests.audit_of(old.id)[-1]
    assert (event.actor, event.kind, event.detail) == (
        "scheduler",
        "reminded",
        {"number": 2, "owners": list(OWNERS)},
    )


def test_a_decided_request_is_not_claimed(stores) -> None:
    view = submitted(stores, NOW - timedelta(hours=2))
    stores.requests.deny(view.id, OWNERS[0], "", NOW)
    assert stores.sweeps.claim_reminder(view.id, seen=None, now=NOW) is None
    assert stores.sweeps.status_of(view.id) is Status.DENIED
    assert stores.sweeps.status_of(404) is None


def test_concurrent_reminder_claims_give_one(stores) -> None:
    view = submitted(stores, NOW - timedelta(hours=2))
    results = race(6, lambda _: stores.sweeps.claim_reminder(view.id, seen=None, now=NOW))
    assert [r.number for r in results if r is not None] == [1]


def test_pending_queue_and_expiry_candidates(stores) -> None:
    oldest = submitted(stores, NOW - timedelta(days=8))
    newer = submitted(stores, NOW - timedelta(days=1), requester_id="U0BOB", iam_user_name="bob")
    decided = submitted(stores, NOW - timedelta(days=9), requester_id="U0C", iam_user_name="c")
    stores.requests.cancel(decided.id, "U0C", NOW)
    assert stores.sweeps.count_pending() == 2
    assert [v.id for v in stores.sweeps.pending_oldest_first(limit=10)] == [oldest.id, newer.id]
    assert [v.id for v in stores.sweeps.pending_oldest_first(limit=1)] == [oldest.id]
    assert stores.sweeps.expired_pending(NOW - POLICY.expire_after, limit=10) == [oldest.id]


def test_a_job_runs_once_per_period(stores) -> None:
    claim = stores.sweeps.claim_job_run
    results = race(5, lambda _: claim("pending_summary", now=NOW, ran_before=NOW - POLICY.every))
    assert sorted(results) == [False] * 4 + [True]
    later = NOW + POLICY.every
    assert not claim("pending_summary", now=later, ran_before=NOW - timedelta(seconds=1))
    assert claim("pending_summary", now=later, ran_before=NOW)
    assert claim("another_job", now=later, ran_before=NOW)
