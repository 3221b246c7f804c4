"""The SweepStore port (bot/domain/storage.py): queries and claims of the reminder,
expiry and summary sweeps.

Every candidate query is `status = 'pending' AND created_at <range>` so it walks the
(status, created_at) index and never reads decided history (the `*_query` builders are
what the query-plan tests EXPLAIN). Claims are conditional updates whose row count says
who won, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update

from bot.domain.reminders import ReminderWindow
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import ReminderClaim
from bot.store.accounts import in_accounts
from bot.store.db import SqlStore
from bot.store.models import AccessRequest, JobRun
from bot.store.rows import audit, dialect_insert, load_view, views_of

_PENDING = Status.PENDING.value


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


def pending_oldest_first_query(limit: int, accounts: Collection[str] | None = None) -> Select:
    query = select(AccessRequest).where(AccessRequest.status == _PENDING)
    if accounts is not None:
        query = query.where(in_accounts(accounts))
    return query.order_by(AccessRequest.created_at, AccessRequest.id).limit(limit)


def count_pending_query(accounts: Collection[str] | None = None) -> Select:
    query = select(func.count()).select_from(AccessRequest).where(AccessRequest.status == _PENDING)
    if accounts is not None:
        query = query.where(in_accounts(accounts))
    return query


def expired_pending_query(created_before: datetime, limit: int) -> Select:
    return (
        select(AccessRequest.id)
        .where(AccessRequest.status == _PENDING, AccessRequest.created_at <= created_before)
        .order_by(AccessRequest.created_at, AccessRequest.id)
        .limit(limit)
    )


class SqlSweepStore(SqlStore):
    def due_for_reminder(
        self, window: ReminderWindow, *, limit: int
    ) -> list[tuple[int, datetime | None]]:
        with self.sessions() as session:
            rows = session.execute(due_for_reminder_query(window, limit)).all()
            return [(row.id, row.last_reminded_at) for row in rows]

    def claim_reminder(
        self,
        request_id: int,
        *,
        seen: datetime | None,
        now: datetime,
        describe: Callable[[RequestView, int], dict[str, Any]] | None = None,
        **detail: Any,
    ) -> ReminderClaim | None:
        """Take this period's reminder of a request: None when it was decided or someone
        else (a replica, an overlapping run) took it. With `detail` (and what `describe`
        says of the claimed request and its reminder number), the claim is audited as
        "reminded" in the same transaction."""
        last = AccessRequest.last_reminded_at
        with self.sessions.begin() as session:
            number = session.execute(
                update(AccessRequest)
                .where(
                    AccessRequest.id == request_id,
                    AccessRequest.status == _PENDING,
                    last.is_(None) if seen is None else last == seen,
                )
                .values(last_reminded_at=now, reminder_count=AccessRequest.reminder_count + 1)
                .returning(AccessRequest.reminder_count)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if number is None:
                return None
            view = load_view(session, request_id)
            if describe is not None:
                detail = {**detail, **describe(view, number)}
            if detail:
                audit(
                    session,
                    request_id,
                    actor="scheduler",
                    kind="reminded",
                    now=now,
                    number=number,
                    **detail,
                )
            return ReminderClaim(view, number)

    def status_of(self, request_id: int) -> Status | None:
        with self.sessions() as session:
            value = session.scalar(
                select(AccessRequest.status).where(AccessRequest.id == request_id)
            )
            return Status(value) if value is not None else None

    def count_pending(self, accounts: Collection[str] | None = None) -> int:
        with self.sessions() as session:
            return session.scalar(count_pending_query(accounts)) or 0

    def pending_oldest_first(
        self, *, limit: int, accounts: Collection[str] | None = None
    ) -> list[RequestView]:
        query = pending_oldest_first_query(limit, accounts)
        with self.sessions() as session:
            return views_of(session, session.scalars(query).all())

    def expired_pending(self, created_before: datetime, *, limit: int) -> list[int]:
        with self.sessions() as session:
            return list(session.scalars(expired_pending_query(created_before, limit)))

    def claim_job_run(self, name: str, *, now: datetime, ran_before: datetime) -> bool:
        with self.sessions.begin() as session:
            session.execute(
                dialect_insert(session, JobRun)
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
