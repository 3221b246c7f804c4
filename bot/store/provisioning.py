"""The ProvisioningStore port (bot/domain/storage.py): the provisioning lease and the
locks of owners' roll back and re-issue, each in its own column.

Taking any lock needs the expected status and all three lock columns free (empty or run
out), checked in the UPDATE itself, so no two kinds of work ever hold a request at once
and a refusal can name the work that does. A lease's token is the lock's expiry as
stored: finishing requires the column to still hold it, so a worker whose lock ran out
and was taken over cannot finish (or release) what is no longer its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from bot.domain.credentials import SealedLink
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import Lease, LockKind, LockRefusal
from bot.store.db import SqlStore
from bot.store.links import store_link, void_unopened_links
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
)
from bot.store.time_bound import clock_started


class SqlProvisioningStore(SqlStore):
    # --- the provisioning lease ------------------------------------------------------

    def claim_provisioning(
        self,
        request_id: int,
        *,
        sources: Sequence[Status],
        actor: str,
        now: datetime,
        until: datetime,
    ) -> Lease | LockRefusal:
        with self.sessions.begin() as session:
            for source in sources:
                if move(
                    session,
                    request_id,
                    source,
                    Status.PROVISIONING,
                    all_locks_free(now),
                    now=now,
                    lease_expires_at=until,
                    provision_attempts=AccessRequest.provision_attempts + 1,
                ):
                    audit(
                        session,
                        request_id,
                        actor=actor,
                        kind="provisioning_started",
                        now=now,
                        previous=source.value,
                    )
                    return Lease(load_view(session, request_id), until, source)
            return refusal(session, load(session, request_id), now)

    def resume_provisioning(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | None:
        with self.sessions.begin() as session:
            if not take_lock(
                session,
                request_id,
                LockKind.PROVISIONING,
                AccessRequest.status == Status.PROVISIONING.value,
                now=now,
                until=until,
                provision_attempts=AccessRequest.provision_attempts + 1,
            ):
                return None
            audit(session, request_id, actor=BOT_ACTOR, kind="provisioning_resumed", now=now)
            return Lease(load_view(session, request_id), until, Status.PROVISIONING)

    def stale_provisioning(self, now: datetime) -> list[int]:
        """Provisioning rows whose lease ran out (walks the (status, lease) index)."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AccessRequest.id)
                    .where(
                        AccessRequest.status == Status.PROVISIONING.value,
                        AccessRequest.lease_expires_at <= now,
                    )
                    .order_by(AccessRequest.id)
                )
            )

    def unclaimed_approved(self, approved_before: datetime) -> list[int]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AccessRequest.id)
                    .where(
                        AccessRequest.status == Status.APPROVED.value,
                        AccessRequest.updated_at <= approved_before,
                    )
                    .order_by(AccessRequest.id)
                )
            )

    def finish_provisioning(
        self,
        lease: Lease,
        link: SealedLink,
        *,
        access_key_id: str | None,
        console: bool,
        now: datetime,
    ) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not finish_move(
                session,
                request_id,
                Status.PROVISIONING,
                Status.PROVISIONED,
                LockKind.PROVISIONING,
                lease.token,
                now=now,
                last_error=None,
                access_key_id=access_key_id,
                provisioned_at=now,
                # Time-bound access: the clock starts now (bot/store/time_bound.py).
                **clock_started(lease.request, now),
            ):
                return None
            store_link(session, request_id, link, now)
            view = load_view(session, request_id)
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="provisioned",
                now=now,
                iam_user=view.iam_user_name,
                console=console,
                access_key_id=access_key_id,
                link_id=link.link_id,
            )
            return view

    def fail_provisioning(
        self,
        lease: Lease,
        *,
        code: str,
        message: str,
        step: str,
        permanent: bool,
        now: datetime,
    ) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not finish_move(
                session,
                request_id,
                Status.PROVISIONING,
                Status.FAILED,
                LockKind.PROVISIONING,
                lease.token,
                now=now,
                last_error=error_text(code, message),
            ):
                return None
            audit(
                session,
                request_id,
                actor=BOT_ACTOR,
                kind="provisioning_failed",
                now=now,
                code=code,
                message=message,
                step=step,
                permanent=permanent,
            )
            return load_view(session, request_id)

    # --- roll back -------------------------------------------------------------------

    def lock_for_rollback(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | LockRefusal:
        return self._lock(
            request_id, (Status.FAILED, Status.PROVISIONED), LockKind.ROLLBACK, now, until
        )

    def finish_rollback(self, lease: Lease, *, actor: str, now: datetime) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not finish_move(
                session,
                request_id,
                lease.source,
                Status.REVOKED,
                LockKind.ROLLBACK,
                lease.token,
                now=now,
            ):
                return None
            # The user is gone: an unopened link would hand out dead credentials.
            voided = void_unopened_links(session, request_id, now)
            audit(
                session,
                request_id,
                actor=actor,
                kind="rolled_back",
                now=now,
                iam_user=lease.request.iam_user_name,
                previous=lease.source.value,
                voided_links=voided,
            )
            return load_view(session, request_id)

    def rollback_failed(
        self, lease: Lease, *, actor: str, code: str, message: str, now: datetime
    ) -> RequestView:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            # AWS's error is the owners' to see while the lock is ours; the audit log
            # keeps it either way.
            release_lock(
                session,
                request_id,
                LockKind.ROLLBACK,
                lease.token,
                last_error=error_text(code, message),
            )
            audit(
                session,
                request_id,
                actor=actor,
                kind="rollback_failed",
                now=now,
                code=code,
                message=message,
            )
            return load_view(session, request_id)

    # --- re-issue --------------------------------------------------------------------

    def lock_for_reissue(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | LockRefusal:
        return self._lock(request_id, (Status.PROVISIONED,), LockKind.REISSUE, now, until)

    def finish_reissue(
        self,
        lease: Lease,
        link: SealedLink,
        *,
        access_key_id: str | None,
        actor: str,
        now: datetime,
    ) -> RequestView | None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            if not release_lock(
                session,
                request_id,
                LockKind.REISSUE,
                lease.token,
                AccessRequest.status == Status.PROVISIONED.value,
                access_key_id=access_key_id,
                # The old links are void, and so is "the requester got a link" until the
                # new link's DM is stored (docs/architecture.md, "Deliveries (outbox)").
                requester_dm_channel=None,
                requester_dm_ts=None,
                updated_at=now,
            ):
                # Revoked (or rolled back) while AWS rotated: release our lock, store nothing.
                release_lock(session, request_id, LockKind.REISSUE, lease.token)
                return None
            voided = void_unopened_links(session, request_id, now)
            store_link(session, request_id, link, now)
            audit(
                session,
                request_id,
                actor=actor,
                kind="credentials_reissued",
                now=now,
                access_key_id=access_key_id,
                voided_links=voided,
            )
            return load_view(session, request_id)

    def reissue_failed(self, lease: Lease, *, actor: str, error: str, now: datetime) -> None:
        request_id = lease.request.id
        with self.sessions.begin() as session:
            release_lock(session, request_id, LockKind.REISSUE, lease.token)
            audit(
                session,
                request_id,
                actor=actor,
                kind="credentials_reissue_failed",
                now=now,
                error=error,
            )

    # --- helpers ---------------------------------------------------------------------

    def _lock(
        self,
        request_id: int,
        sources: tuple[Status, ...],
        kind: LockKind,
        now: datetime,
        until: datetime,
    ) -> Lease | LockRefusal:
        """Hold a request in one of `sources` (its status unchanged) with the lock of `kind`."""
        with self.sessions.begin() as session:
            for source in sources:
                if take_lock(
                    session,
                    request_id,
                    kind,
                    AccessRequest.status == source.value,
                    now=now,
                    until=until,
                ):
                    return Lease(load_view(session, request_id), until, source)
            return refusal(session, load(session, request_id), now)
