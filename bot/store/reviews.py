"""Access reviews in the database (the ReviewStore port, bot/domain/storage.py).

Opening a review inserts its row under the unique key (account, period_start) with
ON CONFLICT DO NOTHING, and lists the account's active grants in the same transaction:
two sweeps or replicas opening "this period's" review make one. Each grant's decision
is `UPDATE ... WHERE id = :id AND decision IS NULL` and counts only when one row
changed, so of two owners clicking at once exactly one decides. Every change appends
its audit event in its own transaction (review_opened, review_kept, review_revoked,
review_closed); none carries a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.requests import MessageRef
from bot.domain.reviews import (
    REVIEW_CLOSED,
    REVIEW_KEPT,
    REVIEW_KINDS,
    REVIEW_OPENED,
    REVIEW_REVOKED,
    Decision,
    GrantUsage,
    Review,
    ReviewAuditLine,
    ReviewItem,
    ReviewState,
    ReviewStatus,
)
from bot.domain.states import Status
from bot.store.accounts import in_accounts
from bot.store.db import SqlStore
from bot.store.models import AccessRequest, AccessReview, AuditEvent
from bot.store.models import ReviewItem as ReviewItemRow
from bot.store.rows import audit, dialect_insert

_AUDIT_KIND = {Decision.KEEP: REVIEW_KEPT, Decision.REVOKE: REVIEW_REVOKED}


class SqlReviewStore(SqlStore):
    def open_review(
        self,
        account: str,
        *,
        period_start: datetime,
        channel: str,
        deadline_at: datetime,
        now: datetime,
    ) -> ReviewState | None:
        with self.sessions.begin() as session:
            inserted = session.execute(
                dialect_insert(session, AccessReview)
                .values(
                    account=account,
                    period_start=period_start,
                    status=ReviewStatus.OPEN.value,
                    channel=channel,
                    opened_at=now,
                    deadline_at=deadline_at,
                    reminder_count=0,
                )
                .on_conflict_do_nothing(index_elements=["account", "period_start"])
                .returning(AccessReview.id)
            ).scalar()
            if inserted is None:
                return None
            grants = session.scalars(
                select(AccessRequest)
                .where(AccessRequest.status == Status.PROVISIONED.value, in_accounts([account]))
                .order_by(AccessRequest.provisioned_at, AccessRequest.id)
            ).all()
            for grant in grants:
                session.add(
                    ReviewItemRow(
                        review_id=inserted,
                        request_id=grant.id,
                        requester_id=grant.requester_id,
                        profile=grant.profile,
                        iam_user_name=grant.iam_user_name,
                        granted_at=grant.provisioned_at,
                        automatic=False,
                    )
                )
            audit(
                session,
                None,
                actor="aws-access-bot",
                kind=REVIEW_OPENED,
                now=now,
                review=inserted,
                account=account,
                grants=len(grants),
                deadline=deadline_at.isoformat(),
            )
            session.flush()
            return _state(session, inserted)

    def get_review(self, review_id: int) -> ReviewState | None:
        with self.sessions() as session:
            return _state(session, review_id)

    def open_reviews(self) -> list[ReviewState]:
        with self.sessions() as session:
            ids = session.scalars(
                select(AccessReview.id)
                .where(AccessReview.status == ReviewStatus.OPEN.value)
                .order_by(AccessReview.id)
            ).all()
            return [state for i in ids if (state := _state(session, i)) is not None]

    def item(self, item_id: int) -> ReviewItem | None:
        with self.sessions() as session:
            row = session.get(ReviewItemRow, item_id)
            return _item(row) if row is not None else None

    def record_usage(self, item_id: int, usage: GrantUsage) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(ReviewItemRow)
                .where(ReviewItemRow.id == item_id)
                .values(
                    usage_known=usage.known,
                    last_key_use=usage.last_key_use,
                    last_console_use=usage.last_console_use,
                )
                .execution_options(synchronize_session=False)
            )

    def claim_posting(self, review_id: int, *, now: datetime, until: datetime) -> bool:
        with self.sessions.begin() as session:
            result = session.execute(
                update(AccessReview)
                .where(
                    AccessReview.id == review_id,
                    AccessReview.status == ReviewStatus.OPEN.value,
                    or_(AccessReview.posting_until.is_(None), AccessReview.posting_until <= now),
                )
                .values(posting_until=until)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def set_messages(
        self, review_id: int, pages: Sequence[tuple[Sequence[int], MessageRef]]
    ) -> None:
        with self.sessions.begin() as session:
            for item_ids, ref in pages:
                session.execute(
                    update(ReviewItemRow)
                    .where(ReviewItemRow.review_id == review_id, ReviewItemRow.id.in_(item_ids))
                    .values(message_channel=ref.channel, message_ts=ref.ts)
                    .execution_options(synchronize_session=False)
                )
            if pages:
                first = pages[0][1]
                session.execute(
                    update(AccessReview)
                    .where(AccessReview.id == review_id, AccessReview.message_ts.is_(None))
                    .values(message_channel=first.channel, message_ts=first.ts)
                    .execution_options(synchronize_session=False)
                )
            session.execute(
                update(AccessReview)
                .where(AccessReview.id == review_id)
                .values(posting_until=None)
                .execution_options(synchronize_session=False)
            )

    def decide(
        self,
        item_id: int,
        decision: Decision,
        *,
        actor: str,
        now: datetime,
        automatic: bool = False,
    ) -> ReviewItem | None:
        with self.sessions.begin() as session:
            result = session.execute(
                update(ReviewItemRow)
                .where(ReviewItemRow.id == item_id, ReviewItemRow.decision.is_(None))
                .values(
                    decision=decision.value, decided_by=actor, decided_at=now, automatic=automatic
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                return None
            row = session.get(ReviewItemRow, item_id, populate_existing=True)
            assert row is not None
            if decision in _AUDIT_KIND:
                audit(
                    session,
                    row.request_id,
                    actor=actor,
                    kind=_AUDIT_KIND[decision],
                    now=now,
                    review=row.review_id,
                    automatic=automatic,
                )
            return _item(row)

    def claim_reminder(
        self, review_id: int, *, seen: datetime | None, now: datetime
    ) -> ReviewState | None:
        with self.sessions.begin() as session:
            last = (
                AccessReview.last_reminded_at.is_(None)
                if seen is None
                else AccessReview.last_reminded_at == seen
            )
            result = session.execute(
                update(AccessReview)
                .where(
                    AccessReview.id == review_id,
                    AccessReview.status == ReviewStatus.OPEN.value,
                    last,
                )
                .values(last_reminded_at=now, reminder_count=AccessReview.reminder_count + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                return None
            return _state(session, review_id)

    def close(self, review_id: int, *, now: datetime, unreviewed: str) -> ReviewState | None:
        with self.sessions.begin() as session:
            result = session.execute(
                update(AccessReview)
                .where(
                    AccessReview.id == review_id,
                    AccessReview.status == ReviewStatus.OPEN.value,
                )
                .values(status=ReviewStatus.CLOSED.value, closed_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                return None
            state = _state(session, review_id)
            assert state is not None
            audit(
                session,
                None,
                actor="aws-access-bot",
                kind=REVIEW_CLOSED,
                now=now,
                review=review_id,
                account=state.review.account,
                grants=len(state.items),
                kept=state.count(Decision.KEEP),
                revoked=state.count(Decision.REVOKE),
                gone=state.count(Decision.GONE),
                automatic=sum(1 for item in state.items if item.automatic),
                unreviewed=unreviewed,
            )
            return state

    def review_trail(self, review_id: int) -> list[ReviewAuditLine]:
        with self.sessions() as session:
            rows = session.execute(
                select(
                    AuditEvent.created_at,
                    AuditEvent.actor,
                    AuditEvent.kind,
                    AuditEvent.request_id,
                    AuditEvent.detail,
                )
                .where(
                    # The review's own events are no older than the review (an index).
                    AuditEvent.created_at
                    >= select(AccessReview.opened_at)
                    .where(AccessReview.id == review_id)
                    .scalar_subquery(),
                    AuditEvent.kind.in_(REVIEW_KINDS),
                    AuditEvent.detail["review"].as_integer() == review_id,
                )
                .order_by(AuditEvent.seq)
            ).all()
            return [
                ReviewAuditLine(
                    time=row.created_at,
                    actor=row.actor,
                    kind=row.kind,
                    request_id=row.request_id,
                    detail=_detail_text(row.detail),
                )
                for row in rows
            ]

    def request_statuses(self, request_ids: Sequence[int]) -> dict[int, str]:
        """Each request's status now (the report shows how the revokes ended)."""
        with self.sessions() as session:
            rows = session.execute(
                select(AccessRequest.id, AccessRequest.status).where(
                    AccessRequest.id.in_(list(request_ids))
                )
            ).all()
            return {row.id: row.status for row in rows}

    def last_opened_at(self, account: str) -> datetime | None:
        with self.sessions() as session:
            return session.scalar(
                select(func.max(AccessReview.opened_at)).where(AccessReview.account == account)
            )

    def count_reviews(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(AccessReview)) or 0


def _detail_text(detail: dict[str, Any] | None) -> str:
    shown = {k: v for k, v in (detail or {}).items() if k != "review"}
    return " ".join(f"{key}={value}" for key, value in sorted(shown.items()))


def _state(session: Session, review_id: int) -> ReviewState | None:
    row = session.get(AccessReview, review_id, populate_existing=True)
    if row is None:
        return None
    items = session.scalars(
        select(ReviewItemRow)
        .where(ReviewItemRow.review_id == review_id)
        .order_by(ReviewItemRow.id)
        .execution_options(populate_existing=True)
    ).all()
    return ReviewState(_review(row), tuple(_item(item) for item in items))


def _ref(channel: str | None, ts: str | None) -> MessageRef | None:
    return MessageRef(channel, ts) if channel and ts else None


def _review(row: AccessReview) -> Review:
    return Review(
        id=row.id,
        account=row.account,
        period_start=row.period_start,
        opened_at=row.opened_at,
        deadline_at=row.deadline_at,
        status=ReviewStatus(row.status),
        channel=row.channel,
        message=_ref(row.message_channel, row.message_ts),
        reminder_count=row.reminder_count,
        last_reminded_at=row.last_reminded_at,
        closed_at=row.closed_at,
    )


def _item(row: ReviewItemRow) -> ReviewItem:
    usage = None
    if row.usage_known is not None:
        usage = GrantUsage(row.last_key_use, row.last_console_use, known=row.usage_known)
    return ReviewItem(
        id=row.id,
        review_id=row.review_id,
        request_id=row.request_id,
        requester_id=row.requester_id,
        profile=row.profile,
        iam_user_name=row.iam_user_name,
        granted_at=row.granted_at,
        usage=usage,
        decision=Decision(row.decision) if row.decision else None,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        automatic=bool(row.automatic),
        message=_ref(row.message_channel, row.message_ts),
    )
