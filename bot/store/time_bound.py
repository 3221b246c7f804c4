"""The TimeBoundStore port (bot/domain/time_bound.py): when a grant ends, its warnings,
its extensions and the expiry sweep's claim (migration 0005).

Every claim is a conditional UPDATE whose row count says who won (docs/architecture.md,
"Locks"): a warning is taken by moving `expiry_warn_at` from the value the sweep saw, an
ended grant by setting `expiry_claimed_until`, an extension by moving
`access_expires_at` from the value the extender saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import Lease, LockKind
from bot.domain.time_bound import first_warning, next_warning, requested_extension_end
from bot.store.db import SqlStore
from bot.store.models import AccessRequest
from bot.store.rows import BOT_ACTOR, audit, cas, finish_move, load, load_view, lock_free

_PROVISIONED = AccessRequest.status == Status.PROVISIONED.value


def clock_started(request: RequestView, now: datetime) -> dict[str, Any]:
    """The columns a time-bound request gets when it is provisioned: the clock starts
    now (flow 6). Nothing for a request without a duration."""
    term = request.access_duration or request.max_duration
    if term is None:
        return {}
    end = now + term
    return {
        "access_duration_seconds": int(term.total_seconds()),
        "access_expires_at": end,
        "expiry_warn_at": first_warning(end, term, now),
        "expiry_warnings": 0,
        "expiry_claimed_until": None,
    }


class _LeaseLost(Exception):
    """The extension request's lease was taken over: write nothing."""


def _term(row: AccessRequest) -> timedelta:
    seconds = row.access_duration_seconds or row.max_duration_seconds or 0
    return timedelta(seconds=seconds)


def _move_end(
    session: Session,
    grant_id: int,
    seen_end: datetime,
    new_end: datetime,
    *,
    actor: str,
    now: datetime,
    **detail: Any,
) -> bool:
    """Move a provisioned grant's end from `seen_end` (compare-and-set) to `new_end`,
    its warnings started afresh, and audit it as `extended`; False when it had moved."""
    term = new_end - now
    if not cas(
        session,
        grant_id,
        _PROVISIONED,
        AccessRequest.access_expires_at == seen_end,
        access_expires_at=new_end,
        access_duration_seconds=max(1, int(term.total_seconds())),
        expiry_warn_at=first_warning(new_end, term, now),
        expiry_warnings=0,
        expiry_claimed_until=None,
        updated_at=now,
    ):
        return False
    audit(
        session,
        grant_id,
        actor=actor,
        kind="extended",
        now=now,
        previous_end=seen_end.isoformat(),
        expires_at=new_end.isoformat(),
        **detail,
    )
    return True


class SqlTimeBoundStore(SqlStore):
    def due_warnings(self, now: datetime, *, limit: int) -> list[tuple[int, datetime]]:
        with self.sessions() as session:
            rows = session.execute(
                select(AccessRequest.id, AccessRequest.expiry_warn_at)
                .where(_PROVISIONED, AccessRequest.expiry_warn_at <= now)
                .order_by(AccessRequest.expiry_warn_at, AccessRequest.id)
                .limit(limit)
            ).all()
            return [(row.id, row.expiry_warn_at) for row in rows]

    def claim_warning(
        self, request_id: int, *, seen: datetime, now: datetime
    ) -> RequestView | None:
        with self.sessions.begin() as session:
            row = load(session, request_id)
            if row is None or row.access_expires_at is None:
                return None
            end = row.access_expires_at
            if not cas(
                session,
                request_id,
                _PROVISIONED,
                AccessRequest.expiry_warn_at == seen,
                AccessRequest.access_expires_at == end,
                expiry_warn_at=next_warning(end, _term(row), now),
                expiry_warnings=(row.expiry_warnings or 0) + 1,
            ):
                return None
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="expiry_warned",
                now=now,
                expires_at=end.isoformat(),
                number=(row.expiry_warnings or 0) + 1,
            )
            return load_view(session, request_id)

    def due_expiries(self, now: datetime, *, limit: int) -> list[int]:
        claim = AccessRequest.expiry_claimed_until
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AccessRequest.id)
                    .where(
                        _PROVISIONED,
                        AccessRequest.access_expires_at <= now,
                        lock_free(claim, now),
                    )
                    .order_by(AccessRequest.access_expires_at, AccessRequest.id)
                    .limit(limit)
                )
            )

    def claim_expiry(self, request_id: int, *, now: datetime, until: datetime) -> bool:
        claim = AccessRequest.expiry_claimed_until
        with self.sessions.begin() as session:
            return cas(
                session,
                request_id,
                _PROVISIONED,
                AccessRequest.access_expires_at <= now,
                lock_free(claim, now),
                expiry_claimed_until=until,
            )

    def retry_expiry(self, request_id: int, *, at: datetime) -> bool:
        with self.sessions.begin() as session:
            return cas(session, request_id, _PROVISIONED, expiry_claimed_until=at)

    def extend(
        self,
        request_id: int,
        *,
        seen_end: datetime,
        new_end: datetime,
        actor: str,
        now: datetime,
        **detail: Any,
    ) -> RequestView | None:
        with self.sessions.begin() as session:
            if not _move_end(
                session, request_id, seen_end, new_end, actor=actor, now=now, **detail
            ):
                return None
            return load_view(session, request_id)

    def apply_extension(self, lease: Lease, *, now: datetime) -> RequestView | None:
        try:
            return self._apply_extension(lease, now)
        except _LeaseLost:
            return None

    def _apply_extension(self, lease: Lease, now: datetime) -> RequestView | None:
        extension = lease.request
        grant_id = extension.extends_request_id
        wanted = extension.access_duration or extension.max_duration
        if grant_id is None or wanted is None:
            return None
        with self.sessions.begin() as session:
            grant = load(session, grant_id)
            if (
                grant is None
                or grant.status != Status.PROVISIONED.value
                or grant.access_expires_at is None
                or grant.requester_id != extension.requester_id
            ):
                return None
            seen_end = grant.access_expires_at
            new_end = requested_extension_end(seen_end, now, wanted)
            approvers = ", ".join(extension.approvers) or BOT_ACTOR
            if not _move_end(
                session,
                grant_id,
                seen_end,
                new_end,
                actor=approvers,
                now=now,
                extension_request_id=extension.id,
            ):
                return None
            if not finish_move(
                session,
                extension.id,
                Status.PROVISIONING,
                Status.EXTENDED,
                LockKind.PROVISIONING,
                lease.token,
                now=now,
                last_error=None,
            ):
                raise _LeaseLost  # undo the grant's move: the transaction rolls back
            audit(
                session,
                extension.id,
                actor=BOT_ACTOR,
                kind="extended",
                now=now,
                extends_request_id=grant_id,
                expires_at=new_end.isoformat(),
            )
            return load_view(session, grant_id)
