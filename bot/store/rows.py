"""What every store module shares: rows to domain snapshots, the audit append, and the
compare-and-set primitives.

Every state change is `UPDATE ... WHERE id = :id AND status = :expected` (plus whatever
else the change requires) and counts only when exactly one row changed, so two clicks,
threads or replicas racing for one request resolve in the database, on SQLite and
PostgreSQL alike. Nothing relies on SELECT ... FOR UPDATE (SQLite ignores it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.domain.config import DEFAULT_ACCOUNT
from bot.domain.errors import RequestNotFound
from bot.domain.requests import RequestView
from bot.domain.states import Status, check_transition
from bot.domain.storage import LockKind, LockRefusal
from bot.store.audit import append
from bot.store.models import AccessRequest, Approval

# Who the audit log names for the bot's own steps (as before the store owned the SQL).
BOT_ACTOR = "aws-access-bot"

# The column that holds each kind of lock (docs/architecture.md, "Locks").
LOCK_COLUMNS: dict[LockKind, InstrumentedAttribute[datetime | None]] = {
    LockKind.PROVISIONING: AccessRequest.lease_expires_at,
    LockKind.ROLLBACK: AccessRequest.rollback_lock_until,
    LockKind.REISSUE: AccessRequest.reissue_lock_until,
    LockKind.REVOKE: AccessRequest.revoke_lock_until,
}


# --- rows -> snapshots -------------------------------------------------------------


def load(session: Session, request_id: int) -> AccessRequest | None:
    """The row as committed now (not a copy cached earlier in this session)."""
    return session.get(AccessRequest, request_id, populate_existing=True)


def load_view(session: Session, request_id: int) -> RequestView:
    row = load(session, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    return view_of(session, row)


def approvers_of(session: Session, request_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Each request's approvers in the order they approved: one query for many rows."""
    ids = sorted(set(request_ids))
    found: dict[int, list[str]] = {request_id: [] for request_id in ids}
    if ids:
        rows = session.execute(
            select(Approval.request_id, Approval.approver_id)
            .where(Approval.request_id.in_(ids))
            .order_by(Approval.request_id, Approval.created_at, Approval.id)
        )
        for request_id, approver in rows:
            found[request_id].append(approver)
    return {request_id: tuple(names) for request_id, names in found.items()}


def view_of(session: Session, row: AccessRequest) -> RequestView:
    return to_view(row, approvers_of(session, [row.id])[row.id])


def views_of(session: Session, rows: Sequence[AccessRequest]) -> list[RequestView]:
    approvers = approvers_of(session, (row.id for row in rows))
    return [to_view(row, approvers[row.id]) for row in rows]


def to_view(row: AccessRequest, approvers: tuple[str, ...]) -> RequestView:
    """The request with the rules frozen into its row; never the current config's."""
    seconds = row.max_duration_seconds
    return RequestView(
        id=row.id,
        requester_id=row.requester_id,
        profile=row.profile,
        iam_user_name=row.iam_user_name,
        console=row.console,
        programmatic=row.programmatic,
        reason=row.reason,
        status=Status(row.status),
        created_at=row.created_at,
        approvers=approvers,
        # Unfrozen rows (stored before rules were frozen) cannot be approved at all
        # (bot/domain/policy.py), so this 1 never lets a click through.
        approvals_required=row.approvals_required if row.approvals_required is not None else 1,
        groups=tuple(row.groups or ()),
        policies=tuple(row.policies or ()),
        account=row.account or DEFAULT_ACCOUNT,
        permissions_boundary=row.permissions_boundary or "",
        max_duration=timedelta(seconds=seconds) if seconds is not None else None,
        rules_frozen=row.rules_frozen_at is not None,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        deny_reason=row.deny_reason,
        last_error=row.last_error,
        reminder_count=row.reminder_count,
        approval_channel=row.approval_channel,
        approval_ts=row.approval_ts,
        requester_dm_channel=row.requester_dm_channel,
        requester_dm_ts=row.requester_dm_ts,
        provisioned_at=row.provisioned_at,
        revoked_at=row.revoked_at,
        access_duration=(
            timedelta(seconds=row.access_duration_seconds)
            if row.access_duration_seconds is not None
            else None
        ),
        access_expires_at=row.access_expires_at,
        expiry_warnings=row.expiry_warnings or 0,
        extends_request_id=row.extends_request_id,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
        revoke_cause=row.revoke_cause,
        revoke_mode=row.revoke_mode,
    )


# --- audit -------------------------------------------------------------------------


def audit(
    session: Session, request_id: int | None, *, actor: str, kind: str, now: datetime, **detail: Any
) -> None:
    """Append an audit event in the caller's transaction. Only non-secret details.

    The event joins the hash chain when the transaction commits (bot/store/audit.py,
    docs/audit.md). Given a `request_id`, the request's account, IAM user and frozen
    rules are recorded with it; a `reason` in `detail` is the reason shown by exports."""
    append(session, request_id, actor=actor, kind=kind, now=now, detail=detail)


# --- compare-and-set ---------------------------------------------------------------


def lock_free(column: InstrumentedAttribute[datetime | None], now: datetime) -> ColumnElement:
    """Nobody holds this lock: never taken, released, or run out."""
    return or_(column.is_(None), column <= now)


def all_locks_free(now: datetime) -> ColumnElement:
    return and_(*(lock_free(column, now) for column in LOCK_COLUMNS.values()))


def holding(kind: LockKind, token: datetime) -> ColumnElement:
    """The lock of `kind` is still the one taken with `token` (not run out and taken over)."""
    column = LOCK_COLUMNS[kind]
    return column == token


def live_lock(row: AccessRequest, now: datetime) -> LockKind | None:
    """The kind of work holding `row` at `now`, if any."""
    for kind, column in LOCK_COLUMNS.items():
        until = getattr(row, column.key)
        if until is not None and until > now:
            return kind
    return None


def cas(
    session: Session,
    request_id: int,
    *conditions: ColumnElement[bool],
    **values: Any,
) -> bool:
    """`UPDATE access_requests SET values WHERE id = :id AND conditions`; True when the
    row matched (and so changed). On PostgreSQL the UPDATE waits for a concurrent writer
    of the row and re-checks the conditions against what it committed."""
    result = session.execute(
        update(AccessRequest)
        .where(AccessRequest.id == request_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def take_lock(
    session: Session,
    request_id: int,
    kind: LockKind,
    *conditions: ColumnElement[bool],
    now: datetime,
    until: datetime,
    **values: Any,
) -> bool:
    """Hold the request with the lock of `kind` until `until` (its token), as a
    compare-and-set: only when `conditions` hold and every lock is free (docs/architecture.md,
    "Locks"). The status is not changed; `values` are set with the lock."""
    return cas(
        session,
        request_id,
        *conditions,
        all_locks_free(now),
        updated_at=now,
        **{LOCK_COLUMNS[kind].key: until},
        **values,
    )


def release_lock(
    session: Session,
    request_id: int,
    kind: LockKind,
    token: datetime,
    *conditions: ColumnElement[bool],
    **values: Any,
) -> bool:
    """Let go of the lock of `kind` if it is still the one taken with `token`."""
    return cas(
        session,
        request_id,
        holding(kind, token),
        *conditions,
        **{LOCK_COLUMNS[kind].key: None},
        **values,
    )


def error_text(code: str, message: str) -> str:
    """AWS's error as `last_error` keeps it for the owners."""
    return f"{code}: {message}" if code else message


def refusal(session: Session, row: AccessRequest | None, now: datetime) -> LockRefusal:
    """Why a lock was not taken: the request is gone, or the work holding it at `now`."""
    if row is None:
        return LockRefusal(None)
    return LockRefusal(view_of(session, row), live_lock(row, now))


def move(
    session: Session,
    request_id: int,
    expected: Status,
    new: Status,
    *conditions: ColumnElement[bool],
    now: datetime,
    **values: Any,
) -> bool:
    """`expected -> new` as a compare-and-set. Raises InvalidTransition (writing nothing)
    for a move the state machine does not have."""
    check_transition(expected, new)
    return cas(
        session,
        request_id,
        AccessRequest.status == expected.value,
        *conditions,
        status=new.value,
        updated_at=now,
        **values,
    )


def finish_move(
    session: Session,
    request_id: int,
    expected: Status,
    new: Status,
    kind: LockKind,
    token: datetime,
    *,
    now: datetime,
    **values: Any,
) -> bool:
    """`expected -> new` by whoever holds the lock of `kind` taken with `token`, letting
    the lock go in the same UPDATE."""
    return move(
        session,
        request_id,
        expected,
        new,
        holding(kind, token),
        now=now,
        **{LOCK_COLUMNS[kind].key: None},
        **values,
    )


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT that offers `on_conflict_do_nothing` on SQLite and PostgreSQL alike."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(model)
