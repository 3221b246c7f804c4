"""The RevocationStore port (bot/domain/revocation.py): `provisioned -> revoking ->
revoked` under the revoke lock (`access_requests.revoke_lock_until`, migration 0004).

Like the other locks (bot/store/provisioning.py), taking it needs the expected status
and every lock column free, in the UPDATE itself; its token is the expiry as stored, so
a revoke whose lock ran out and was taken over cannot finish what is no longer its own.
A failed revoke stays `revoking` with AWS's error for the owners; the recovery sweep
takes it again from `revoke_retry_at` (or, for a process that died, once its lock ran out).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeCause, RevokeMode
from bot.domain.states import Status
from bot.domain.storage import Lease, LockKind, LockRefusal
from bot.store.db import SqlStore
from bot.store.links import void_unopened_links
from bot.store.models import AccessRequest
from bot.store.rows import (
    BOT_ACTOR,
    all_locks_free,
    audit,
    error_text,
    finish_move,
    load,
    load_view,
    move,
    refusal,
    release_lock,
    take_lock,
    view_of,
)

_REVOKING = AccessRequest.status == Status.REVOKING.value


class SqlRevocationStore(SqlStore):
    def begin_revoke(
        self,
        request_id: int,
        *,
        actor: str,
        reason: str,
        cause: RevokeCause,
        mode: RevokeMode,
        now: datetime,
        until: datetime,
    ) -> Lease | LockRefusal:
        with self.sessions.begin() as session:
            if move(
                session,
                request_id,
                Status.PROVISIONED,
                Status.REVOKING,
                all_locks_free(now),
                now=now,
                revoke_lock_until=until,
                revoke_attempts=1,
                revoke_retry_at=None,
                revoked_by=actor,
                revoke_reason=reason,
                revoke_cause=cause.value,
                revoke_mode=mode.value,
                last_error=None,
            ):
                audit(
                    session,
                    request_id,
                    actor=actor,
                    kind="revoke_started",
                    now=now,
                    reason=reason,
                    cause=cause.value,
                    mode=mode.value,
                )
                return Lease(load_view(session, request_id), until, Status.PROVISIONED)
            # A revoke that failed (or whose process died) is taken again; who asked
            # first, why and in which mode stay as recorded.
            if take_lock(
                session,
                request_id,
                LockKind.REVOKE,
                _REVOKING,
                now=now,
                until=until,
                revoke_attempts=_plus_one(),
            ):
                return _taken_again(
                    session,
                    request_id,
                    actor=actor,
                    now=now,
                    until=until,
                    again=True,
                    again_cause=cause.value,
                )
            return refusal(session, load(session, request_id), now)

    def resume_revoke(self, request_id: int, *, now: datetime, until: datetime) -> Lease | None:
        with self.sessions.begin() as session:
            if not take_lock(
                session,
                request_id,
                LockKind.REVOKE,
                _REVOKING,
                _dead_or_due(now),
                now=now,
                until=until,
                revoke_attempts=_plus_one(),
            ):
                return None
            return _taken_again(
                session, request_id, actor=BOT_ACTOR, now=now, until=until, resumed=True
            )

    def stale_revoking(self, now: datetime) -> list[int]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AccessRequest.id)
                    .where(_REVOKING, all_locks_free(now), _dead_or_due(now))
                    .order_by(AccessRequest.id)
                )
            )

    def finish_revoke(self, lease: Lease, *, now: datetime) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not finish_move(
                session,
                request_id,
                Status.REVOKING,
                Status.REVOKED,
                LockKind.REVOKE,
                lease.token,
                now=now,
                revoke_retry_at=None,
                revoked_at=now,
                last_error=None,
            ):
                return None
            # The access is gone: an unopened link would hand out dead credentials.
            voided = void_unopened_links(session, request_id, now)
            view = load_view(session, request_id)
            audit(
                session,
                request_id,
                actor=view.revoked_by or BOT_ACTOR,
                kind="revoked",
                now=now,
                reason=view.revoke_reason or "",
                cause=view.revoke_cause,
                mode=view.revoke_mode,
                iam_user=view.iam_user_name,
                voided_links=voided,
            )
            return view

    def revoke_failed(
        self,
        lease: Lease,
        *,
        code: str,
        message: str,
        retry_at: datetime | None,
        now: datetime,
    ) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not release_lock(
                session,
                request_id,
                LockKind.REVOKE,
                lease.token,
                _REVOKING,
                revoke_retry_at=retry_at,
                last_error=error_text(code, message),
                updated_at=now,
            ):
                return None
            view = load_view(session, request_id)
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="revoke_failed",
                now=now,
                code=code,
                message=message,
                mode=view.revoke_mode,
                retry=retry_at is not None,
            )
            return view

    def record_refusal(
        self, request_id: int, *, actor: str, cause: RevokeCause, message: str, now: datetime
    ) -> None:
        with self.sessions.begin() as session:
            audit(
                session,
                request_id,
                actor=actor,
                kind="revoke_refused",
                now=now,
                cause=cause.value,
                message=message,
            )


def _taken_again(
    session: Session,
    request_id: int,
    *,
    actor: str,
    now: datetime,
    until: datetime,
    resumed: bool = False,
    **detail: object,
) -> Lease:
    """The lease on a `revoking` row just locked again, its `revoke_started` audited
    with who asked first, why and in which mode as recorded."""
    row = load(session, request_id)
    assert row is not None
    if resumed:
        detail.update(resumed=True, attempt=row.revoke_attempts)
    audit(
        session,
        request_id,
        actor=actor,
        kind="revoke_started",
        now=now,
        reason=row.revoke_reason or "",
        cause=row.revoke_cause,
        mode=row.revoke_mode,
        **detail,
    )
    return Lease(view_of(session, row), until, Status.REVOKING)


def _plus_one():  # noqa: ANN202 - a column expression
    return func.coalesce(AccessRequest.revoke_attempts, 0) + 1


def _dead_or_due(now: datetime):  # noqa: ANN202 - a column expression
    """Its process died (a lock that ran out is still in the column) or it failed and
    its retry time came (the failure released the lock and set `revoke_retry_at`)."""
    return or_(
        AccessRequest.revoke_lock_until.is_not(None),
        AccessRequest.revoke_retry_at <= now,
    )
