"""Data access for the use cases. State changes are compare-and-set, never in memory.

Every status change is `UPDATE ... WHERE id = :id AND status = :expected` and succeeds
only when exactly one row changed, so two clicks, two threads or two replicas racing
for the same request resolve in the database, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.states import OPEN_STATUSES, Status, check_transition
from bot.store.models import AccessRequest, Approval, AuditEvent


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- requests ------------------------------------------------------------

    def add_request(
        self,
        *,
        requester_id: str,
        profile: str,
        iam_user_name: str,
        console: bool,
        programmatic: bool,
        reason: str,
        now: datetime,
    ) -> AccessRequest:
        request = AccessRequest(
            requester_id=requester_id,
            profile=profile,
            iam_user_name=iam_user_name,
            console=console,
            programmatic=programmatic,
            reason=reason,
            status=Status.PENDING.value,
            created_at=now,
            updated_at=now,
            reminder_count=0,
            provision_attempts=0,
        )
        self.session.add(request)
        self.session.flush()
        return request

    def get(self, request_id: int) -> AccessRequest | None:
        return self.session.get(AccessRequest, request_id, populate_existing=True)

    def transition(
        self,
        request_id: int,
        expected: Status,
        new: Status,
        *,
        now: datetime,
        **values: Any,
    ) -> bool:
        """Move a request from `expected` to `new`; False when it was not in `expected`.

        Raises InvalidTransition for a move the state machine does not allow.
        """
        check_transition(expected, new)
        result = self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id, AccessRequest.status == expected.value)
            .values(status=new.value, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def guard(self, request_id: int, expected: Status, *, now: datetime) -> bool:
        """Claim the row while it is in `expected` (no status change).

        The conditional UPDATE takes the row's write lock until commit, so use cases that
        read-then-decide (counting approvals) are serialised per request on PostgreSQL;
        SQLite transactions are serialised already (BEGIN IMMEDIATE).
        """
        result = self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id, AccessRequest.status == expected.value)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    # --- leases (provisioning worker) -------------------------------------------

    def claim_lease(
        self,
        request_id: int,
        expected: Status,
        new: Status,
        *,
        now: datetime,
        until: datetime,
        **values: Any,
    ) -> bool:
        """Like transition(), but only while nobody holds a live lease on the row
        (`lease_expires_at` empty or past); sets the lease to `until`. `new` may equal
        `expected` to take over an expired lease without a status change."""
        if new != expected:
            check_transition(expected, new)
        result = self.session.execute(
            update(AccessRequest)
            .where(
                AccessRequest.id == request_id,
                AccessRequest.status == expected.value,
                or_(
                    AccessRequest.lease_expires_at.is_(None), AccessRequest.lease_expires_at <= now
                ),
            )
            .values(status=new.value, updated_at=now, lease_expires_at=until, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def transition_holding(
        self,
        request_id: int,
        expected: Status,
        new: Status,
        *,
        lease: datetime | None,
        now: datetime,
        **values: Any,
    ) -> bool:
        """transition() that also requires the lease we took (`lease_expires_at == lease`):
        a worker whose lease expired and was taken over cannot finish the request."""
        check_transition(expected, new)
        held = (
            AccessRequest.lease_expires_at.is_(None)
            if lease is None
            else AccessRequest.lease_expires_at == lease
        )
        result = self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id, AccessRequest.status == expected.value, held)
            .values(status=new.value, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def set_fields(self, request_id: int, **values: Any) -> None:
        """Update non-status bookkeeping (Slack message ids and the like)."""
        if "status" in values:
            raise ValueError("status changes go through transition()")
        self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def list_requests(
        self,
        *,
        statuses: Iterable[Status] | None = None,
        requester_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> Sequence[AccessRequest]:
        query = select(AccessRequest)
        if statuses is not None:
            query = query.where(AccessRequest.status.in_([s.value for s in statuses]))
        if requester_id is not None:
            query = query.where(AccessRequest.requester_id == requester_id)
        order = AccessRequest.created_at.desc() if newest_first else AccessRequest.created_at
        query = query.order_by(order, AccessRequest.id.desc() if newest_first else AccessRequest.id)
        if limit is not None:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def open_request_for(self, requester_id: str, profile: str) -> AccessRequest | None:
        """The requester's undecided or in-flight request for `profile`, if any."""
        return self.session.scalars(
            select(AccessRequest)
            .where(
                AccessRequest.requester_id == requester_id,
                AccessRequest.status.in_([s.value for s in OPEN_STATUSES]),
                AccessRequest.profile == profile,
            )
            .limit(1)
        ).first()

    def count_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(AccessRequest.status, func.count()).group_by(AccessRequest.status)
        ).all()
        return {status: count for status, count in rows}

    # --- approvals -----------------------------------------------------------

    def add_approval(self, request_id: int, approver_id: str, *, now: datetime) -> bool:
        """Record an approval; False when this approver had already approved."""
        values = {"request_id": request_id, "approver_id": approver_id, "created_at": now}
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = self.session.execute(
            insert(Approval)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["request_id", "approver_id"])
            .returning(Approval.id)
        )
        return result.scalar_one_or_none() is not None

    def approvers(self, request_id: int) -> list[str]:
        return list(
            self.session.scalars(
                select(Approval.approver_id)
                .where(Approval.request_id == request_id)
                .order_by(Approval.created_at, Approval.id)
            )
        )

    # --- audit ---------------------------------------------------------------

    def record(
        self,
        request_id: int | None,
        *,
        actor: str,
        kind: str,
        now: datetime,
        **detail: Any,
    ) -> None:
        """Append an audit event. Callers pass only non-secret details."""
        self.session.add(
            AuditEvent(request_id=request_id, actor=actor, kind=kind, detail=detail, created_at=now)
        )

    def events(self, request_id: int) -> list[AuditEvent]:
        return list(
            self.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.request_id == request_id)
                .order_by(AuditEvent.id)
            )
        )
