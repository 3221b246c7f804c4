"""The RotationStore port (bot/domain/storage.py): key rotation's bookkeeping in
`key_rotations` (migration 0006; the states are bot/domain/rotation.py).

How old a key is: a key is as old as the link that handed it out. Provisioning, an
owner's re-issue and a rotation each store the request's key id and seal its one-time
link in one transaction, so the newest `credential_links.created_at` of a provisioned
request is when its current key (`access_requests.access_key_id`) was made; no IAM call
is needed to find the keys that are due.

Every move is a compare-and-set on the rotation's status (and, for the click, the
request's re-issue lock, docs/architecture.md, "Locks"), audited in the same
transaction with key ids only: a secret never reaches this module.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.credentials import SealedLink
from bot.domain.requests import RequestView
from bot.domain.rotation import OPEN_ROTATIONS, KeyAge, KeyRotation, RotationStatus
from bot.domain.states import Status
from bot.domain.storage import Lease, LockKind, LockRefusal, RotationClaim
from bot.store.db import SqlStore
from bot.store.links import store_link
from bot.store.models import AccessRequest, CredentialLink, KeyRotationRecord
from bot.store.rows import (
    BOT_ACTOR,
    audit,
    cas,
    dialect_insert,
    load,
    load_view,
    refusal,
    release_lock,
    take_lock,
    views_of,
)

Rotation = KeyRotationRecord
_PROVISIONED = Status.PROVISIONED.value
R = RotationStatus


def _key_made_at() -> Select:
    """When each request's newest link was sealed: when its current key was made."""
    return (
        select(
            CredentialLink.request_id.label("request_id"),
            func.max(CredentialLink.created_at).label("made_at"),
        )
        .group_by(CredentialLink.request_id)
        .subquery()
    )


def _current_keys() -> tuple[Select, object]:
    made = _key_made_at()
    query = (
        select(AccessRequest.id, AccessRequest.access_key_id, made.c.made_at)
        .join(made, made.c.request_id == AccessRequest.id)
        .where(
            AccessRequest.status == _PROVISIONED,
            AccessRequest.programmatic.is_(True),
            AccessRequest.access_key_id.is_not(None),
        )
    )
    return query, made


class SqlRotationStore(SqlStore):
    # --- key ages ------------------------------------------------------------------

    def key_ages(self, request_ids: Collection[int]) -> dict[int, KeyAge]:
        ids = sorted(set(request_ids))
        if not ids:
            return {}
        query, _ = _current_keys()
        with self.sessions() as session:
            rows = session.execute(query.where(AccessRequest.id.in_(ids)))
            return {
                request_id: KeyAge(request_id, key_id, made_at)
                for request_id, key_id, made_at in rows
            }

    def due_for_nudge(
        self, made_before: datetime, *, nudged_before: datetime, limit: int
    ) -> list[tuple[KeyAge, KeyRotation | None]]:
        query, made = _current_keys()
        query = (
            query.add_columns(Rotation)
            .outerjoin(
                Rotation,
                (Rotation.request_id == AccessRequest.id)
                & (Rotation.old_key_id == AccessRequest.access_key_id),
            )
            .where(
                made.c.made_at <= made_before,  # type: ignore[attr-defined]
                or_(
                    Rotation.id.is_(None),
                    and_(Rotation.status == R.NUDGED.value, Rotation.nudged_at <= nudged_before),
                ),
            )
            .order_by(made.c.made_at, AccessRequest.id)  # type: ignore[attr-defined]
            .limit(limit)
        )
        with self.sessions() as session:
            return [
                (KeyAge(request_id, key_id, made_at), _view(row) if row is not None else None)
                for request_id, key_id, made_at, row in session.execute(query)
            ]

    # --- nudges --------------------------------------------------------------------

    def claim_nudge(
        self, key: KeyAge, seen: KeyRotation | None, *, now: datetime
    ) -> KeyRotation | None:
        with self.sessions.begin() as session:
            request = load(session, key.request_id)
            if (
                request is None
                or request.status != _PROVISIONED
                or request.access_key_id != key.key_id
            ):
                return None
            if seen is None:
                inserted = session.execute(
                    dialect_insert(session, Rotation)
                    .values(
                        request_id=key.request_id,
                        old_key_id=key.key_id,
                        status=R.NUDGED.value,
                        key_created_at=key.created_at,
                        nudged_at=now,
                        nudges=1,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["request_id", "old_key_id"])
                    .returning(Rotation.id)
                )
                if inserted.first() is None:
                    return None  # another sweep nudged this key first
            elif not _move(
                session,
                seen.id,
                Rotation.status == R.NUDGED.value,
                Rotation.nudged_at == seen.nudged_at,
                nudged_at=now,
                nudges=Rotation.nudges + 1,
                updated_at=now,
            ):
                return None
            row = session.scalars(
                select(Rotation)
                .where(Rotation.request_id == key.request_id, Rotation.old_key_id == key.key_id)
                .execution_options(populate_existing=True)
            ).one()
            audit(
                session,
                key.request_id,
                actor=BOT_ACTOR,
                kind="key_rotation_nudged",
                now=now,
                access_key_id=key.key_id,
                key_age_days=key.age(now).days,
                nudge=row.nudges,
            )
            return _view(row)

    def latest_rotation(self, request_id: int) -> KeyRotation | None:
        with self.sessions() as session:
            row = session.scalars(
                select(Rotation)
                .where(Rotation.request_id == request_id)
                .order_by(Rotation.id.desc())
                .limit(1)
            ).first()
            return _view(row) if row is not None else None

    # --- the click -----------------------------------------------------------------

    def begin_rotation(
        self, rotation_id: int, *, actor: str, now: datetime, until: datetime
    ) -> RotationClaim | LockRefusal | None:
        with self.sessions.begin() as session:
            row = _load(session, rotation_id)
            if row is None or row.status != R.NUDGED.value:
                return None
            request_id = row.request_id
            if not take_lock(
                session,
                request_id,
                LockKind.REISSUE,
                AccessRequest.status == _PROVISIONED,
                AccessRequest.access_key_id == row.old_key_id,
                now=now,
                until=until,
            ):
                request = load(session, request_id)
                if (
                    request is not None
                    and request.status == _PROVISIONED
                    and request.access_key_id != row.old_key_id
                ):
                    return None  # the key was replaced (a re-issue): nothing to rotate
                return refusal(session, request, now)
            if not _move(
                session,
                rotation_id,
                Rotation.status == R.NUDGED.value,
                status=R.ROTATING.value,
                claimed_until=until,
                updated_at=now,
            ):
                release_lock(session, request_id, LockKind.REISSUE, until)
                return None
            audit(
                session,
                request_id,
                actor=actor,
                kind="key_rotation_started",
                now=now,
                access_key_id=row.old_key_id,
            )
            view = load_view(session, request_id)
            return RotationClaim(
                _lease(view, until),
                _view(_load(session, rotation_id)),  # type: ignore[arg-type]
            )

    def finish_rotation(
        self, claim: RotationClaim, link: SealedLink, *, new_key_id: str, actor: str, now: datetime
    ) -> tuple[RequestView, KeyRotation] | None:
        request_id = claim.lease.request.id
        rotation = claim.rotation
        token = claim.lease.token
        with self.sessions.begin() as session:
            if not release_lock(
                session,
                request_id,
                LockKind.REISSUE,
                token,
                AccessRequest.status == _PROVISIONED,
                access_key_id=new_key_id,
                updated_at=now,
            ):
                # Revoked (or taken over) while AWS made the key: release, store nothing.
                release_lock(session, request_id, LockKind.REISSUE, token)
                _move(
                    session,
                    rotation.id,
                    Rotation.status == R.ROTATING.value,
                    status=R.CLOSED.value,
                    claimed_until=None,
                    updated_at=now,
                )
                return None
            store_link(session, request_id, link, now)
            _move(
                session,
                rotation.id,
                Rotation.status == R.ROTATING.value,
                status=R.ISSUED.value,
                claimed_until=None,
                new_key_id=new_key_id,
                link_id=link.link_id,
                rotated_at=now,
                rotated_by=actor,
                updated_at=now,
            )
            audit(
                session,
                request_id,
                actor=actor,
                kind="key_rotated",
                now=now,
                old_access_key_id=rotation.old_key_id,
                access_key_id=new_key_id,
                link_id=link.link_id,
            )
            return load_view(session, request_id), _view(_load(session, rotation.id))  # type: ignore[arg-type]

    def rotation_failed(
        self, claim: RotationClaim, *, actor: str, error: str, now: datetime
    ) -> None:
        request_id = claim.lease.request.id
        with self.sessions.begin() as session:
            release_lock(session, request_id, LockKind.REISSUE, claim.lease.token)
            _move(
                session,
                claim.rotation.id,
                Rotation.status == R.ROTATING.value,
                Rotation.claimed_until == claim.lease.token,
                status=R.NUDGED.value,
                claimed_until=None,
                updated_at=now,
            )
            audit(
                session,
                request_id,
                actor=actor,
                kind="key_rotation_failed",
                now=now,
                access_key_id=claim.rotation.old_key_id,
                error=error,
            )

    def undo_rotation(
        self, rotation: KeyRotation, *, link_id: str, actor: str, error: str, now: datetime
    ) -> bool:
        with self.sessions.begin() as session:
            if not _move(
                session,
                rotation.id,
                Rotation.status == R.ISSUED.value,
                status=R.NUDGED.value,
                new_key_id=None,
                link_id=None,
                rotated_at=None,
                rotated_by=None,
                updated_at=now,
            ):
                return False
            cas(
                session,
                rotation.request_id,
                AccessRequest.access_key_id == rotation.new_key_id,
                access_key_id=rotation.old_key_id,
                updated_at=now,
            )
            # Deleted, not voided: the old key is the request's key again, and as old as
            # the link before this one (see the module's docstring).
            session.execute(delete(CredentialLink).where(CredentialLink.id == link_id))
            audit(
                session,
                rotation.request_id,
                actor=actor,
                kind="key_rotation_failed",
                now=now,
                access_key_id=rotation.old_key_id,
                discarded_access_key_id=rotation.new_key_id,
                error=error,
            )
            return True

    def release_stale(self, now: datetime) -> int:
        with self.sessions.begin() as session:
            stale = list(
                session.scalars(
                    select(Rotation).where(
                        Rotation.status == R.ROTATING.value, Rotation.claimed_until <= now
                    )
                )
            )
            released = 0
            for row in stale:
                if _move(
                    session,
                    row.id,
                    Rotation.status == R.ROTATING.value,
                    Rotation.claimed_until == row.claimed_until,
                    status=R.NUDGED.value,
                    claimed_until=None,
                    updated_at=now,
                ):
                    released += 1
                    audit(
                        session,
                        row.request_id,
                        actor=BOT_ACTOR,
                        kind="key_rotation_failed",
                        now=now,
                        access_key_id=row.old_key_id,
                        error="the rotation stopped half-way (its claim ran out)",
                    )
            return released

    # --- the old key ----------------------------------------------------------------

    def issued(self, *, limit: int) -> list[tuple[KeyRotation, RequestView]]:
        return self._with_requests(select(Rotation).where(Rotation.status == R.ISSUED.value), limit)

    def deactivated_before(
        self, before: datetime, *, limit: int
    ) -> list[tuple[KeyRotation, RequestView]]:
        return self._with_requests(
            select(Rotation).where(
                Rotation.status == R.DEACTIVATED.value, Rotation.deactivated_at <= before
            ),
            limit,
        )

    def mark_deactivated(
        self, rotation: KeyRotation, *, reason: str, now: datetime
    ) -> KeyRotation | None:
        return self._settle(
            rotation,
            Rotation.status == R.ISSUED.value,
            {"status": R.DEACTIVATED.value, "deactivated_at": now},
            kind="key_deactivated",
            now=now,
            new_access_key_id=rotation.new_key_id,
            reason=reason,
        )

    def mark_deleted(
        self, rotation: KeyRotation, *, now: datetime, already_gone: bool = False
    ) -> KeyRotation | None:
        return self._settle(
            rotation,
            Rotation.status.in_((R.ISSUED.value, R.DEACTIVATED.value)),
            {"status": R.DELETED.value, "deleted_at": now},
            kind="key_deleted",
            now=now,
            already_gone=already_gone,
        )

    def close(self, rotation: KeyRotation, *, why: str, now: datetime) -> bool:
        closed = self._settle(
            rotation,
            Rotation.status.in_([s.value for s in OPEN_ROTATIONS if s is not R.ROTATING]),
            {"status": R.CLOSED.value, "claimed_until": None},
            kind="key_rotation_closed",
            now=now,
            reason=why,
        )
        return closed is not None

    # --- helpers -------------------------------------------------------------------

    def _settle(
        self,
        rotation: KeyRotation,
        expected: object,
        values: dict[str, object],
        *,
        kind: str,
        now: datetime,
        **detail: object,
    ) -> KeyRotation | None:
        """Move a rotation on by the bot (`expected` -> `values`) and audit `kind` about
        its old key; the rotation as stored then, or None when another run moved it first."""
        with self.sessions.begin() as session:
            if not _move(session, rotation.id, expected, **values, updated_at=now):
                return None
            audit(
                session,
                rotation.request_id,
                actor=BOT_ACTOR,
                kind=kind,
                now=now,
                access_key_id=rotation.old_key_id,
                **detail,
            )
            return _view(_load(session, rotation.id))  # type: ignore[arg-type]

    def _with_requests(self, query: Select, limit: int) -> list[tuple[KeyRotation, RequestView]]:
        with self.sessions() as session:
            rows = list(
                session.scalars(query.order_by(Rotation.updated_at, Rotation.id).limit(limit))
            )
            requests = {
                view.id: view
                for view in views_of(
                    session,
                    list(
                        session.scalars(
                            select(AccessRequest).where(
                                AccessRequest.id.in_({row.request_id for row in rows})
                            )
                        )
                    ),
                )
            }
            return [(_view(row), requests[row.request_id]) for row in rows]


def _load(session: Session, rotation_id: int) -> KeyRotationRecord | None:
    return session.get(Rotation, rotation_id, populate_existing=True)


def _move(session: Session, rotation_id: int, *conditions: object, **values: object) -> bool:
    """`UPDATE key_rotations SET values WHERE id = :id AND conditions`; True when it matched."""
    result = session.execute(
        update(Rotation)
        .where(Rotation.id == rotation_id, *conditions)  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _lease(view: RequestView, token: datetime) -> Lease:
    return Lease(view, token, Status.PROVISIONED)


def _view(row: KeyRotationRecord) -> KeyRotation:
    return KeyRotation(
        id=row.id,
        request_id=row.request_id,
        old_key_id=row.old_key_id,
        status=RotationStatus(row.status),
        key_created_at=row.key_created_at,
        nudged_at=row.nudged_at,
        nudges=row.nudges,
        new_key_id=row.new_key_id,
        link_id=row.link_id,
        rotated_at=row.rotated_at,
        rotated_by=row.rotated_by,
        deactivated_at=row.deactivated_at,
        deleted_at=row.deleted_at,
        claimed_until=row.claimed_until,
    )
