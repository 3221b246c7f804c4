"""Queries of the reminder/expiry sweeps.

Every candidate query is `status = 'pending' AND created_at <range>` so it walks the
(status, created_at) index and never reads decided history. Claims are conditional
updates whose row count says who won, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.reminders import ReminderWindow
from bot.domain.states import Status
from bot.store.models import AccessRequest, JobRun

_PENDING = Status.PENDING.value


@dataclass(frozen=True)
class ReminderCandidate:
    id: int
    last_reminded_at: datetime | None


def due_for_reminder_query(window: ReminderWindow, limit: int) -> Select:
    return (
        select(AccessRequest.id, AccessRequest.last_reminded_at)
        .where(
            AccessRequest.status == _PENDING,
            AccessRequest.created_at > window.created_after,
            AccessRequest.created_at <= window.created_before,
            or_(
                AccessRequest.last_reminded_at.is_(None),
                AccessRequest.last_reminded_at <= window.reminded_before,
            ),
        )
        .order_by(AccessRequest.created_at, AccessRequest.id)
        .limit(limit)
    )


def due_for_reminder(
    session: Session, window: ReminderWindow, *, limit: int
) -> list[ReminderCandidate]:
    rows = session.execute(due_for_reminder_query(window, limit)).all()
    return [ReminderCandidate(id=row.id, last_reminded_at=row.last_reminded_at) for row in rows]


def claim_reminder(
    session: Session, request_id: int, *, seen: datetime | None, now: datetime
) -> int | None:
    """Take this period's reminder of a request; its new reminder number, or None when
    the request was decided or someone else (a replica, an overlapping run) took it."""
    last = AccessRequest.last_reminded_at
    result = session.execute(
        update(AccessRequest)
        .where(
            AccessRequest.id == request_id,
            AccessRequest.status == _PENDING,
            last.is_(None) if seen is None else last == seen,
        )
        .values(last_reminded_at=now, reminder_count=AccessRequest.reminder_count + 1)
        .returning(AccessRequest.reminder_count)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


def status_of(session: Session, request_id: int) -> Status | None:
    value = session.scalar(select(AccessRequest.status).where(AccessRequest.id == request_id))
    return Status(value) if value is not None else None


def pending_oldest_first_query(limit: int) -> Select:
    return (
        select(AccessRequest)
        .where(AccessRequest.status == _PENDING)
        .order_by(AccessRequest.created_at, AccessRequest.id)
        .limit(limit)
    )


def pending_oldest_first(session: Session, *, limit: int) -> list[AccessRequest]:
    return list(session.scalars(pending_oldest_first_query(limit)))


def count_pending_query() -> Select:
    return select(func.count()).select_from(AccessRequest).where(AccessRequest.status == _PENDING)


def count_pending(session: Session) -> int:
    return session.scalar(count_pending_query())


def expired_pending_query(created_before: datetime, limit: int) -> Select:
    return (
        select(AccessRequest.id)
        .where(AccessRequest.status == _PENDING, AccessRequest.created_at <= created_before)
        .order_by(AccessRequest.created_at, AccessRequest.id)
        .limit(limit)
    )


def expired_pending(session: Session, created_before: datetime, *, limit: int) -> list[int]:
    return list(session.scalars(expired_pending_query(created_before, limit)))


def claim_job_run(session: Session, name: str, *, now: datetime, ran_before: datetime) -> bool:
    """Claim the run of a once-per-period job: True for exactly one caller per period."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(JobRun)
        .values(name=name, last_run_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = session.execute(
        update(JobRun)
        .where(
            JobRun.name == name,
            or_(JobRun.last_run_at.is_(None), JobRun.last_run_at <= ran_before),
        )
        .values(last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
