"""The DeliveryStore (bot/store/deliveries.py) on SQLite and PostgreSQL: one pending row
per request and kind, claims that replicas never share, every change under the claim,
and nothing but ids, kinds and Slack's error codes in the table."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from bot.domain.errors import DeliveryKind
from bot.domain.storage import DeliveryStatus
from bot.store.models import AccessRequest, DeliveryRecord
from tests.support.concurrency import race
from tests.support.stores import NOW, submitted

POST = DeliveryKind.APPROVAL_POST
UPDATE = DeliveryKind.APPROVAL_UPDATE
LINK = DeliveryKind.CREDENTIALS
CLAIM = timedelta(minutes=5)


def queue(stores, request_id: int, kind: DeliveryKind = POST, at=NOW) -> bool:  # noqa: ANN001
    return stores.deliveries.queue(
        request_id, kind, error="fatal_error", next_attempt_at=at, now=NOW
    )


def claim(stores, now=NOW):  # noqa: ANN001, ANN201
    return stores.deliveries.claim_due(now, until=now + CLAIM, limit=20)


def rows(sessions) -> list[DeliveryRecord]:  # noqa: ANN001
    with sessions() as session:
        return list(session.scalars(select(DeliveryRecord).order_by(DeliveryRecord.id)))


def test_repeated_failures_collapse_into_one_pending_row(stores, sessions) -> None:  # noqa: ANN001
    request = submitted(stores)
    assert queue(stores, request.id) is True
    assert queue(stores, request.id) is False  # the same message failed again
    assert queue(stores, request.id, UPDATE) is True  # another kind is another row
    assert [(r.kind, r.status, r.attempts) for r in rows(sessions)] == [
        ("approval_post", "pending", 1),
        ("approval_update", "pending", 1),
    ]
    failures = [e for e in stores.requests.audit_of(request.id) if e.kind == "delivery_failed"]
    assert [e.detail["queued"] for e in failures] == [True, False, True]
    # Once sent, a new failure of the same kind is a new row (the index is partial).
    [post, _] = claim(stores)
    assert stores.deliveries.sent(post, NOW)
    assert queue(stores, request.id) is True
    assert len(rows(sessions)) == 3


def test_a_row_is_due_at_its_time_and_claimed_once(stores) -> None:  # noqa: ANN001
    request = submitted(stores)
    queue(stores, request.id, at=NOW + timedelta(seconds=30))
    assert claim(stores) == []
    [delivery] = claim(stores, NOW + timedelta(seconds=30))
    assert delivery.kind is POST and delivery.status is DeliveryStatus.PENDING
    assert delivery.claimed_until == NOW + timedelta(seconds=30) + CLAIM
    assert claim(stores, NOW + timedelta(seconds=31)) == []  # still claimed
    # A sweep that died holding it: its claim runs out and another sweep takes it.
    [again] = claim(stores, NOW + timedelta(seconds=30) + CLAIM)
    assert again.id == delivery.id
    assert not stores.deliveries.sent(delivery, NOW)  # the first claim is no longer held
    assert stores.deliveries.sent(again, NOW)


def test_racing_sweeps_never_claim_the_same_row(stores) -> None:  # noqa: ANN001
    for name in ("a", "b", "c", "d"):
        queue(stores, submitted(stores, requester_id=f"U0{name}", iam_user_name=name).id)
    claims = race(6, lambda _: claim(stores))
    claimed = [d.id for batch in claims for d in batch]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 4


def test_retry_later_counts_and_releases_the_claim(stores, sessions) -> None:  # noqa: ANN001
    request = submitted(stores)
    queue(stores, request.id, LINK)
    [delivery] = claim(stores)
    later = NOW + timedelta(minutes=1)
    assert stores.deliveries.retry_later(
        delivery, error="ratelimited", next_attempt_at=later, now=NOW
    )
    [row] = rows(sessions)
    assert (row.attempts, row.last_error, row.claimed_until) == (2, "ratelimited", None)
    assert row.next_attempt_at == later
    assert claim(stores) == []
    [delivery] = claim(stores, later)
    assert stores.deliveries.give_up(delivery, error="fatal_error", now=later)
    assert [(d.request_id, d.kind, d.attempts) for d in stores.deliveries.given_up(limit=5)] == [
        (request.id, LINK, 3)
    ]
    assert claim(stores, later + timedelta(days=1)) == []  # given up: never retried
    kinds = [e.kind for e in stores.requests.audit_of(request.id)]
    assert kinds[-3:] == ["delivery_failed", "delivery_failed", "delivery_given_up"]


def test_settle_closes_unclaimed_rows_of_the_kinds_that_got_through(stores, sessions) -> None:  # noqa: ANN001
    request = submitted(stores)
    queue(stores, request.id, UPDATE)
    queue(stores, request.id, LINK)
    assert stores.deliveries.settle(request.id, [POST], NOW) == 0
    assert stores.deliveries.settle(request.id, [UPDATE], NOW) == 1
    assert {r.kind: r.status for r in rows(sessions)} == {
        "approval_update": "sent",
        "credentials": "pending",
    }
    [link] = claim(stores)
    assert stores.deliveries.settle(request.id, [LINK], NOW) == 0  # a sweep holds it
    assert stores.deliveries.give_up(link, error="x", now=NOW)
    assert stores.deliveries.settle(request.id, [LINK], NOW) == 1  # given up, then got through
    assert stores.deliveries.given_up(limit=5) == []
    assert "delivery_settled" in [e.kind for e in stores.requests.audit_of(request.id)]


def test_undelivered_kinds_for_the_listing(stores) -> None:  # noqa: ANN001
    first, second = submitted(stores), submitted(stores, requester_id="U0BOB", iam_user_name="b")
    queue(stores, first.id, LINK)
    queue(stores, second.id, UPDATE)
    [link, update] = claim(stores)
    stores.deliveries.give_up(link, error="x", now=NOW)
    stores.deliveries.sent(update, NOW)
    assert stores.deliveries.undelivered_kinds([first.id, second.id, 999]) == {
        first.id: ["credentials (given_up)"]
    }
    assert stores.deliveries.undelivered_kinds([]) == {}


def test_rows_go_with_their_request(stores, sessions) -> None:  # noqa: ANN001
    request = submitted(stores)
    queue(stores, request.id)
    with sessions.begin() as session:
        session.execute(delete(AccessRequest).where(AccessRequest.id == request.id))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryRecord)) == 0
