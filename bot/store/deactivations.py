"""The DeactivationStore port (bot/domain/members.py): which members hold grants not yet
acted on for a Slack deactivation, and the once-only claim of each grant (migration
0005's `deactivation_seen_at`, a compare-and-set)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.domain.states import Status
from bot.store.db import SqlStore
from bot.store.models import AccessRequest
from bot.store.rows import audit, cas

_PROVISIONED = AccessRequest.status == Status.PROVISIONED.value


class SqlDeactivationStore(SqlStore):
    def members_with_unseen_grants(self, *, limit: int) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AccessRequest.requester_id)
                    .where(_PROVISIONED, AccessRequest.deactivation_seen_at.is_(None))
                    .group_by(AccessRequest.requester_id)
                    .order_by(AccessRequest.requester_id)
                    .limit(limit)
                )
            )

    def claim_deactivation(
        self, request_id: int, *, actor: str, now: datetime, action: str
    ) -> bool:
        with self.sessions.begin() as session:
            if not cas(
                session,
                request_id,
                _PROVISIONED,
                AccessRequest.deactivation_seen_at.is_(None),
                deactivation_seen_at=now,
            ):
                return False
            audit(
                session, request_id, actor=actor, kind="deactivation_seen", now=now, action=action
            )
            return True

    def release_deactivation(self, request_id: int) -> None:
        with self.sessions.begin() as session:
            cas(session, request_id, _PROVISIONED, deactivation_seen_at=None)
