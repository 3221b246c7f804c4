"""The access review store (bot/store/reviews.py) on SQLite and PostgreSQL: a review is
opened once per account and period however many replicas try, lists the account's
active grants only, and each grant is decided once (compare-and-set) whoever clicks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.requests import MessageRef
from bot.domain.reviews import Decision, GrantUsage, ReviewStatus
from bot.domain.states import Status
from bot.store import Stores
from bot.store.models import AccessReview
from tests.support.concurrency import race
from tests.support.requests import audit_events
from tests.support.stores import NOW, RULES, provisioned, submitted

ACCOUNT = RULES.account
PERIOD = NOW.replace(hour=0)
DEADLINE = NOW + timedelta(days=14)


def open_review(stores: Stores, account: str = ACCOUNT, period=PERIOD):
    return stores.reviews.open_review(
        account, period_start=period, channel="C0APPROVALS", deadline_at=DEADLINE, now=NOW
    )


def two_grants(stores: Stores) -> list[int]:
    first = provisioned(stores, iam_user_name="alice", requester_id="U0ALICE", link_id="l1")
    second = provisioned(stores, iam_user_name="bob", requester_id="U0BOB", link_id="l2")
    return [first.id, second.id]


def test_a_review_lists_the_accounts_active_grants_and_is_audited(stores: Stores, sessions):
    grants = two_grants(stores)
    submitted(stores, iam_user_name="carol", requester_id="U0CAROL")  # pending: not a grant
    provisioned(stores, iam_user_name="dave", requester_id="U0DAVE", link_id="l3")
    state = open_review(stores)
    assert state is not None
    assert state.review.status is ReviewStatus.OPEN
    assert state.review.deadline_at == DEADLINE
    assert [item.request_id for item in state.items][:2] == grants
    assert {item.iam_user_name for item in state.items} == {"alice", "bob", "dave"}
    assert all(item.decision is None and item.message is None for item in state.items)
    # Another account's review lists none of them.
    other = open_review(stores, account="staging")
    assert other is not None and other.items == ()
    opened = audit_events(sessions, "review_opened")
    assert [(e.account, e.detail["grants"], e.detail["review"]) for e in opened] == [
        (ACCOUNT, 3, state.review.id),
        ("staging", 0, other.review.id),
    ]


def test_one_review_per_account_and_period_however_many_replicas_open_it(
    stores: Stores, sessions
) -> None:
    two_grants(stores)
    results = race(6, lambda _: open_review(stores))
    assert sum(1 for r in results if r is not None) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessReview)) == 1
    assert len(audit_events(sessions, "review_opened")) == 1
    # The next period opens a new one.
    assert open_review(stores, period=PERIOD + timedelta(days=90)) is not None
    assert stores.reviews.last_opened_at(ACCOUNT) == NOW


def test_one_decision_per_grant_when_owners_click_at_once(stores: Stores, sessions) -> None:
    two_grants(stores)
    state = open_review(stores)
    item = state.items[0]
    decisions = [Decision.KEEP, Decision.REVOKE] * 3
    results = race(
        6,
        lambda i: stores.reviews.decide(
            item.id, decisions[i], actor=f"U0OWNER{i}", now=NOW + timedelta(hours=1)
        ),
    )
    won = [r for r in results if r is not None]
    assert len(won) == 1
    stored = stores.reviews.item(item.id)
    assert stored.decision is won[0].decision and stored.decided_by == won[0].decided_by
    kinds = [e.kind for e in audit_events(sessions, "review_kept")] + [
        e.kind for e in audit_events(sessions, "review_revoked")
    ]
    assert len(kinds) == 1
    # A later click changes nothing.
    assert stores.reviews.decide(item.id, Decision.KEEP, actor="U0OWNER1", now=NOW) is None


def test_usage_messages_reminders_and_closing(stores: Stores, sessions) -> None:
    two_grants(stores)
    state = open_review(stores)
    first, second = state.items
    used = NOW - timedelta(days=3)
    stores.reviews.record_usage(first.id, GrantUsage(last_key_use=used, last_console_use=None))
    stores.reviews.record_usage(second.id, GrantUsage(known=False))
    # Posting is claimed by one sweep at a time.
    assert stores.reviews.claim_posting(state.review.id, now=NOW, until=NOW + timedelta(minutes=5))
    assert not stores.reviews.claim_posting(state.review.id, now=NOW, until=NOW + timedelta(1))
    ref = MessageRef("C0APPROVALS", "1700000001.000100")
    stores.reviews.set_messages(state.review.id, [((first.id, second.id), ref)])
    state = stores.reviews.get_review(state.review.id)
    assert state.review.message == ref
    assert [i.message for i in state.items] == [ref, ref]
    assert state.items[0].usage == GrantUsage(last_key_use=used)
    assert state.items[1].usage == GrantUsage(known=False)
    # One reminder per period: the claim moves last_reminded_at.
    later = NOW + timedelta(days=1)
    claims = race(4, lambda _: stores.reviews.claim_reminder(state.review.id, seen=None, now=later))
    assert [c.review.reminder_count for c in claims if c is not None] == [1]
    stale = stores.reviews.claim_reminder(state.review.id, seen=None, now=later)
    assert stale is None
    # Closing is once; the counts are audited.
    stores.reviews.decide(first.id, Decision.KEEP, actor="U0OWNER1", now=later)
    stores.reviews.decide(second.id, Decision.REVOKE, actor="bot", now=DEADLINE, automatic=True)
    closed = stores.reviews.close(state.review.id, now=DEADLINE, unreviewed="revoke")
    assert closed is not None and closed.review.status is ReviewStatus.CLOSED
    assert stores.reviews.close(state.review.id, now=DEADLINE, unreviewed="revoke") is None
    assert stores.reviews.open_reviews() == []
    (event,) = audit_events(sessions, "review_closed")
    assert (event.detail["kept"], event.detail["revoked"], event.detail["automatic"]) == (1, 1, 1)
    trail = stores.reviews.review_trail(state.review.id)
    assert [line.kind for line in trail] == [
        "review_opened",
        "review_kept",
        "review_revoked",
        "review_closed",
    ]
    statuses = stores.reviews.request_statuses([first.request_id])
    assert statuses == {first.request_id: Status.PROVISIONED.value}
