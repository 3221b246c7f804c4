"""The RequestStore port (bot/domain/storage.py): submit, decide, list, audit, freeze.

Each method is one transaction, its audit event included; decisions are
compare-and-set moves of the pending row (bot/store/rows.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.domain.errors import RequestNotFound
from bot.domain.policy import Verdict, count_approval
from bot.domain.requests import MessageRef, RequestView
from bot.domain.rules import FrozenRules
from bot.domain.states import OPEN_STATUSES, Status
from bot.domain.storage import (
    AlreadyRequested,
    ApprovalResult,
    AuditRecord,
    NameClaimed,
    NewRequest,
)
from bot.store.accounts import in_accounts
from bot.store.db import SqlStore, reading
from bot.store.models import AccessRequest, Approval, AuditEvent
from bot.store.rows import (
    BOT_ACTOR,
    audit,
    cas,
    dialect_insert,
    load,
    load_view,
    move,
    to_view,
    view_of,
    views_of,
)

_OPEN = [s.value for s in OPEN_STATUSES]


class _Undo(Exception):
    """Leave the transaction rolled back, handing `result` to the caller."""

    def __init__(self, result: Any) -> None:
        self.result = result


class SqlRequestStore(SqlStore):
    def get(self, request_id: int) -> RequestView | None:
        with reading(self.sessions) as session:
            row = load(session, request_id)
            return view_of(session, row) if row is not None else None

    # --- submit --------------------------------------------------------------------

    def submit(self, new: NewRequest, now: datetime) -> RequestView:
        with self.sessions.begin() as session:
            _serialise(session, new.requester_id, new.iam_user_name)
            if open_row := _open_request_for(session, new.requester_id, new.profile):
                raise AlreadyRequested(open_row.id, Status(open_row.status))
            if other := _open_request_naming(session, new.iam_user_name, new.requester_id):
                raise NameClaimed(other)
            rules = new.rules
            row = AccessRequest(
                requester_id=new.requester_id,
                profile=new.profile,
                iam_user_name=new.iam_user_name,
                console=rules.console,
                programmatic=rules.programmatic,
                reason=new.reason,
                status=Status.PENDING.value,
                created_at=now,
                updated_at=now,
                reminder_count=0,
                provision_attempts=0,
                **_rules_columns(rules),
                rules_frozen_at=now,
                access_duration_seconds=(
                    int(new.duration.total_seconds()) if new.duration is not None else None
                ),
                extends_request_id=new.extends_request_id,
            )
            session.add(row)
            session.flush()
            audit(
                session,
                row.id,
                actor=new.requester_id,
                kind="requested",
                now=now,
                reason=new.reason,
                profile=new.profile,
                iam_user_name=new.iam_user_name,
                console=rules.console,
                programmatic=rules.programmatic,
                **_rules_columns(rules),
                **_time_bound_detail(new),
            )
            return view_of(session, row)

    def set_approval_message(self, request_id: int, ref: MessageRef) -> None:
        with self.sessions.begin() as session:
            cas(session, request_id, approval_channel=ref.channel, approval_ts=ref.ts)

    def set_requester_dm(self, request_id: int, ref: MessageRef) -> None:
        with self.sessions.begin() as session:
            cas(session, request_id, requester_dm_channel=ref.channel, requester_dm_ts=ref.ts)

    # --- decisions -------------------------------------------------------------------

    def approve(self, request_id: int, actor: str, required: int, now: datetime) -> ApprovalResult:
        try:
            with self.sessions.begin() as session:
                return self._approve(session, request_id, actor, required, now)
        except _Undo as undo:
            return undo.result

    def _approve(
        self, session: Session, request_id: int, actor: str, required: int, now: datetime
    ) -> ApprovalResult:
        # Claim the pending row first: concurrent approvals of this request wait for our
        # commit (PostgreSQL's row lock; SQLite's BEGIN IMMEDIATE) and then count ours.
        pending = AccessRequest.status == Status.PENDING.value
        if not cas(session, request_id, pending, updated_at=now):
            return ApprovalResult(load_view(session, request_id), None)
        existing = session.scalars(
            select(Approval.approver_id)
            .where(Approval.request_id == request_id)
            .order_by(Approval.created_at, Approval.id)  # approvers_of's order
        ).all()
        count = count_approval(actor, existing, required)
        if count.verdict is not Verdict.DUPLICATE and not _add_approval(
            session, request_id, actor, now
        ):  # pragma: no cover - the claim above keeps a concurrent insert out
            count = count_approval(actor, [*existing, actor], required)
        if count.verdict is Verdict.DUPLICATE:
            # Counts once, and writes nothing (not even the claim's updated_at).
            raise _Undo(ApprovalResult(load_view(session, request_id), count))
        audit(
            session,
            request_id,
            actor=actor,
            kind="approval",
            now=now,
            approvals=count.approvals,
            required=count.required,
        )
        if count.verdict is Verdict.APPROVED:
            moved = move(
                session,
                request_id,
                Status.PENDING,
                Status.APPROVED,
                now=now,
                decided_at=now,
                decided_by=actor,
            )
            if not moved:  # pragma: no cover - the claim above holds the row
                raise RuntimeError(f"request #{request_id} left pending while claimed")
            audit(session, request_id, actor=actor, kind="approved", now=now)
        # The approvers are known (those read above under the claim, then this one): one
        # query less than load_view, inside the write lock every click queues for.
        row = load(session, request_id)
        if row is None:  # pragma: no cover - the claim above found it
            raise RequestNotFound(request_id)
        return ApprovalResult(to_view(row, (*existing, actor)), count)

    def deny(self, request_id: int, actor: str, reason: str, now: datetime) -> RequestView | None:
        return self._decide(
            request_id,
            Status.DENIED,
            actor,
            now,
            {"deny_reason": reason or None},
            {"reason": reason},
        )

    def cancel(self, request_id: int, actor: str, now: datetime) -> RequestView | None:
        return self._decide(request_id, Status.CANCELLED, actor, now, {}, {})

    def expire(self, request_id: int, now: datetime, **detail: Any) -> RequestView | None:
        with self.sessions.begin() as session:
            if not move(
                session, request_id, Status.PENDING, Status.EXPIRED, now=now, decided_at=now
            ):
                return None
            view = load_view(session, request_id)
            waited = int((now - view.created_at).total_seconds())
            audit(
                session,
                request_id,
                actor="scheduler",
                kind="expired",
                now=now,
                **{"pending_for_seconds": waited, **detail},
            )
            return view

    def _decide(
        self,
        request_id: int,
        new: Status,
        actor: str,
        now: datetime,
        values: dict[str, Any],
        detail: dict[str, Any],
    ) -> RequestView | None:
        with self.sessions.begin() as session:
            if not move(
                session,
                request_id,
                Status.PENDING,
                new,
                now=now,
                decided_at=now,
                decided_by=actor,
                **values,
            ):
                return None
            audit(session, request_id, actor=actor, kind=new.value, now=now, **detail)
            return load_view(session, request_id)

    # --- reads -----------------------------------------------------------------------

    def list(
        self,
        *,
        statuses: Collection[Status] | None = None,
        requester_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        accounts: Collection[str] | None = None,
    ) -> list[RequestView]:
        query = select(AccessRequest)
        if accounts is not None:  # an owner's queue: the accounts they own (flow 7)
            query = query.where(in_accounts(accounts))
        if statuses is not None:
            query = query.where(AccessRequest.status.in_([s.value for s in statuses]))
        if requester_id is not None:
            query = query.where(AccessRequest.requester_id == requester_id)
        if newest_first:
            query = query.order_by(AccessRequest.created_at.desc(), AccessRequest.id.desc())
        else:
            query = query.order_by(AccessRequest.created_at, AccessRequest.id)
        if limit is not None:
            query = query.limit(limit)
        with self.sessions() as session:
            return views_of(session, session.scalars(query).all())

    def active_grants(
        self, requester_id: str | None = None, account: str | None = None
    ) -> list[RequestView]:
        query = select(AccessRequest).where(AccessRequest.status == Status.PROVISIONED.value)
        if requester_id is not None:
            query = query.where(AccessRequest.requester_id == requester_id)
        if account is not None:
            query = query.where(in_accounts([account]))
        query = query.order_by(AccessRequest.provisioned_at, AccessRequest.id)
        with self.sessions() as session:
            return views_of(session, session.scalars(query).all())

    def count_by_status(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(
                select(AccessRequest.status, func.count()).group_by(AccessRequest.status)
            ).all()
            return {status: count for status, count in rows}

    def audit_of(self, request_id: int) -> list[AuditRecord]:
        with self.sessions() as session:
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.request_id == request_id)
                .order_by(AuditEvent.id)
            )
            return [
                AuditRecord(e.id, e.request_id, e.actor, e.kind, e.created_at, dict(e.detail))
                for e in events
            ]

    def record(
        self, request_id: int | None, *, actor: str, kind: str, now: datetime, **detail: Any
    ) -> None:
        with self.sessions.begin() as session:
            audit(session, request_id, actor=actor, kind=kind, now=now, **detail)

    # --- rows stored before rules were frozen ------------------------------------------

    def unfrozen(self) -> list[RequestView]:
        with self.sessions() as session:
            rows = session.scalars(
                select(AccessRequest)
                .where(AccessRequest.rules_frozen_at.is_(None))
                .order_by(AccessRequest.id)
            ).all()
            return views_of(session, rows)

    def freeze(self, request_id: int, rules: FrozenRules, now: datetime) -> bool:
        """Only where no rules were frozen yet: a second start (or replica) changes nothing.
        The access types asked for stay the request's own."""
        with self.sessions.begin() as session:
            if not cas(
                session,
                request_id,
                AccessRequest.rules_frozen_at.is_(None),
                **_rules_columns(rules),
                rules_frozen_at=now,
            ):
                return False
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="rules_frozen",
                now=now,
                **_rules_columns(rules),
            )
            return True


# --- helpers -------------------------------------------------------------------------


def _rules_columns(rules: FrozenRules) -> dict[str, Any]:
    """The frozen rules as columns, and as the audit log keeps them (no secrets)."""
    duration = rules.max_duration
    return {
        "account": rules.account,
        "groups": list(rules.groups),
        "policies": list(rules.policies),
        "permissions_boundary": rules.permissions_boundary,
        "max_duration_seconds": int(duration.total_seconds()) if duration is not None else None,
        "approvals_required": rules.approvals_required,
    }


def _time_bound_detail(new: NewRequest) -> dict[str, Any]:
    """What the audit log adds for a time-bound request or an extension request."""
    detail: dict[str, Any] = {}
    if new.duration is not None:
        detail["duration_seconds"] = int(new.duration.total_seconds())
    if new.extends_request_id is not None:
        detail["extends_request_id"] = new.extends_request_id
    return detail


def _add_approval(session: Session, request_id: int, approver: str, now: datetime) -> bool:
    """False when this approver had approved already (unique on request and approver)."""
    result = session.execute(
        dialect_insert(session, Approval)
        .values(request_id=request_id, approver_id=approver, created_at=now)
        .on_conflict_do_nothing(index_elements=["request_id", "approver_id"])
        .returning(Approval.id)
    )
    return result.scalar_one_or_none() is not None


def _serialise(session: Session, requester_id: str, user_name: str) -> None:
    # "One open request per requester and profile / per IAM name" is check-then-insert.
    # SQLite runs write transactions one at a time (BEGIN IMMEDIATE); on PostgreSQL two
    # submits would both pass the check, so they queue on advisory locks (taken in a
    # fixed order so two transactions cannot deadlock).
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {
            zlib.crc32(f"aws-access-bot:requester:{requester_id}".encode()),
            zlib.crc32(f"aws-access-bot:iam-name:{user_name.lower()}".encode()),
        }
    )
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _open_request_for(session: Session, requester_id: str, profile: str) -> AccessRequest | None:
    """The requester's undecided or in-flight request for `profile`, if any."""
    return session.scalars(
        select(AccessRequest)
        .where(
            AccessRequest.requester_id == requester_id,
            AccessRequest.status.in_(_OPEN),
            AccessRequest.profile == profile,
        )
        .limit(1)
    ).first()


def _open_request_naming(session: Session, user_name: str, requester_id: str) -> int | None:
    """Another requester's open request for the same IAM name (IAM ignores case)."""
    return session.scalars(
        select(AccessRequest.id)
        .where(
            func.lower(AccessRequest.iam_user_name) == user_name.lower(),
            AccessRequest.requester_id != requester_id,
            AccessRequest.status.in_(_OPEN),
        )
        .limit(1)
    ).first()
