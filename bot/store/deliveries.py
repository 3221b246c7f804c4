"""The DeliveryStore port (bot/domain/storage.py): the outbox of messages Slack must still
accept (docs/architecture.md, "Deliveries (outbox)").

A row names a request and a kind of message, never its text or a secret. Pending rows
are unique per request and kind (a partial unique index), so repeated failures of one
message collapse into one row. The sweep claims a row with a conditional update of
`claimed_until`, and every later change requires that claim, so two sweeps (threads or
replicas) never deliver the same row and a sweep whose claim ran out changes nothing.
Every attempt and outcome is audited.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, text, update
from sqlalchemy.orm import Session

from bot.domain.errors import DeliveryKind
from bot.domain.storage import Delivery, DeliveryStatus
from bot.store.db import SqlStore, reading
from bot.store.models import DeliveryRecord
from bot.store.rows import BOT_ACTOR, audit, dialect_insert

_PENDING = DeliveryStatus.PENDING.value
_SENT = DeliveryStatus.SENT.value
_GIVEN_UP = DeliveryStatus.GIVEN_UP.value
MAX_ERROR = 200  # the column's length; Slack's error codes are far shorter


class SqlDeliveryStore(SqlStore):
    def queue(
        self,
        request_id: int,
        kind: DeliveryKind,
        *,
        error: str,
        next_attempt_at: datetime,
        now: datetime,
    ) -> bool:
        with self.sessions.begin() as session:
            inserted = session.execute(
                dialect_insert(session, DeliveryRecord)
                .values(
                    request_id=request_id,
                    kind=kind.value,
                    status=_PENDING,
                    attempts=1,
                    next_attempt_at=next_attempt_at,
                    last_error=error[:MAX_ERROR],
                    created_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=["request_id", "kind"],
                    index_where=text(f"status = '{_PENDING}'"),
                )
                .returning(DeliveryRecord.id)
            ).scalar_one_or_none()
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="delivery_failed",
                now=now,
                delivery=kind.value,
                attempt=1,
                error=error[:MAX_ERROR],
                queued=inserted is not None,
                next_attempt_at=next_attempt_at.isoformat(),
            )
            return inserted is not None

    def settle(self, request_id: int, kinds: Collection[DeliveryKind], now: datetime) -> int:
        if not kinds:
            return 0
        # Nearly always there is nothing to settle: a read that waits for no writer
        # says so, and then no write transaction is opened (bench/README.md). A row
        # queued after this read is one queued after the settle, as it could be anyway.
        with reading(self.sessions) as session:
            if not session.scalar(
                select(DeliveryRecord.id)
                .where(
                    DeliveryRecord.request_id == request_id,
                    DeliveryRecord.kind.in_([k.value for k in kinds]),
                    DeliveryRecord.status.in_([_PENDING, _GIVEN_UP]),
                )
                .limit(1)
            ):
                return 0
        with self.sessions.begin() as session:
            settled = session.execute(
                update(DeliveryRecord)
                .where(
                    DeliveryRecord.request_id == request_id,
                    DeliveryRecord.kind.in_([k.value for k in kinds]),
                    DeliveryRecord.status.in_([_PENDING, _GIVEN_UP]),
                    _unclaimed(now),
                )
                .values(status=_SENT, sent_at=now, claimed_until=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            if settled:
                audit(
                    session,
                    request_id,
                    actor=BOT_ACTOR,
                    kind="delivery_settled",
                    now=now,
                    deliveries=sorted(k.value for k in kinds),
                )
            return settled

    def claim_due(self, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
        with self.sessions.begin() as session:
            due = session.scalars(
                select(DeliveryRecord.id)
                .where(
                    DeliveryRecord.status == _PENDING,
                    DeliveryRecord.next_attempt_at <= now,
                    _unclaimed(now),
                )
                .order_by(DeliveryRecord.next_attempt_at, DeliveryRecord.id)
                .limit(limit)
            ).all()
        claimed = []
        for delivery_id in due:
            # One transaction per claim: a replica racing for the same row waits for
            # this commit, then finds the claim taken (its row count is 0).
            with self.sessions.begin() as session:
                won = session.execute(
                    update(DeliveryRecord)
                    .where(
                        DeliveryRecord.id == delivery_id,
                        DeliveryRecord.status == _PENDING,
                        _unclaimed(now),
                    )
                    .values(claimed_until=until)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if won == 1:
                    claimed.append(_to_delivery(_load(session, delivery_id)))
        return claimed

    def sent(self, delivery: Delivery, now: datetime, *, needed: bool = True) -> bool:
        with self.sessions.begin() as session:
            if not _holding(session, delivery, status=_SENT, sent_at=now, claimed_until=None):
                return False
            audit(
                session,
                delivery.request_id,
                actor=BOT_ACTOR,
                kind="delivery_sent" if needed else "delivery_not_needed",
                now=now,
                delivery=delivery.kind.value,
                attempt=delivery.attempts + 1,
            )
            return True

    def retry_later(
        self, delivery: Delivery, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> bool:
        attempt = delivery.attempts + 1
        with self.sessions.begin() as session:
            if not _holding(
                session,
                delivery,
                attempts=attempt,
                last_error=error[:MAX_ERROR],
                next_attempt_at=next_attempt_at,
                claimed_until=None,
            ):
                return False
            audit(
                session,
                delivery.request_id,
                actor=BOT_ACTOR,
                kind="delivery_failed",
                now=now,
                delivery=delivery.kind.value,
                attempt=attempt,
                error=error[:MAX_ERROR],
                next_attempt_at=next_attempt_at.isoformat(),
            )
            return True

    def give_up(self, delivery: Delivery, *, error: str, now: datetime) -> bool:
        attempt = delivery.attempts + 1
        with self.sessions.begin() as session:
            if not _holding(
                session,
                delivery,
                status=_GIVEN_UP,
                attempts=attempt,
                last_error=error[:MAX_ERROR],
                claimed_until=None,
            ):
                return False
            audit(
                session,
                delivery.request_id,
                actor=BOT_ACTOR,
                kind="delivery_given_up",
                now=now,
                delivery=delivery.kind.value,
                attempts=attempt,
                error=error[:MAX_ERROR],
            )
            return True

    def given_up(self, *, limit: int) -> list[Delivery]:
        with self.sessions() as session:
            rows = session.scalars(
                select(DeliveryRecord)
                .where(DeliveryRecord.status == _GIVEN_UP)
                .order_by(DeliveryRecord.created_at.desc(), DeliveryRecord.id.desc())
                .limit(limit)
            ).all()
            return [_to_delivery(row) for row in rows]

    def undelivered_kinds(self, request_ids: Collection[int]) -> dict[int, list[str]]:
        ids = sorted(set(request_ids))
        if not ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(DeliveryRecord.request_id, DeliveryRecord.kind, DeliveryRecord.status)
                .where(
                    DeliveryRecord.request_id.in_(ids),
                    DeliveryRecord.status.in_([_PENDING, _GIVEN_UP]),
                )
                .order_by(DeliveryRecord.request_id, DeliveryRecord.id)
            ).all()
        found: dict[int, list[str]] = {}
        for request_id, kind, status in rows:
            found.setdefault(request_id, []).append(f"{kind} ({status})")
        return found


# --- helpers -------------------------------------------------------------------------


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(DeliveryRecord.claimed_until.is_(None), DeliveryRecord.claimed_until <= now)


def _holding(session: Session, delivery: Delivery, **values: object) -> bool:
    """Change a claimed pending row, only while this sweep's claim is still the one held."""
    result = session.execute(
        update(DeliveryRecord)
        .where(
            DeliveryRecord.id == delivery.id,
            DeliveryRecord.status == _PENDING,
            DeliveryRecord.claimed_until == delivery.claimed_until,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _load(session: Session, delivery_id: int) -> DeliveryRecord:
    row = session.get(DeliveryRecord, delivery_id, populate_existing=True)
    assert row is not None  # claimed in this very transaction
    return row


def _to_delivery(row: DeliveryRecord) -> Delivery:
    return Delivery(
        id=row.id,
        request_id=row.request_id,
        kind=DeliveryKind(row.kind),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        last_error=row.last_error,
        claimed_until=row.claimed_until,
        sent_at=row.sent_at,
    )
