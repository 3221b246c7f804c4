"""Slack deactivation (flow 6): a member deactivated in Slack loses their access.

The `user_change` event only says someone changed; Slack is asked again (users.info,
the `MemberDirectory` port) before anything happens, so a forged or stale event cannot
revoke anyone. Each active grant of a deactivated member is claimed once in the database
(`DeactivationStore.claim_deactivation`, a compare-and-set), so a re-delivered event
(`X-Slack-Retry-Num`), the reconcile sweep and other replicas act once. Then, with
`[offboarding] on_deactivation = "revoke"`, each grant is revoked (cause DEACTIVATION,
`[offboarding] mode`; the revoke tells requester and owners); with `"notify"` the owners
of each grant's account are told and nothing is revoked. A member who is re-activated
gets nothing back: access is asked for again, through approval.

The reconcile sweep asks Slack about every member who still holds a grant not yet acted
on, and catches events that never arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.config import BotConfig
from bot.domain.events import MemberDeactivated
from bot.domain.members import DeactivationStore, MemberDirectory
from bot.domain.ports import Clock, Notifier
from bot.domain.revocation import OnDeactivation, RevokeCause, RevokeOutcome
from bot.domain.storage import RequestStore
from bot.services.authority import current

log = logging.getLogger(__name__)

ACTOR = "slack-deactivation"
REASON = "the member was deactivated in Slack"
# How many members one reconcile sweep asks Slack about (users.info is Tier 4).
RECONCILE_LIMIT = 200

Revoke = Callable[..., RevokeOutcome]


@dataclass(frozen=True)
class DeactivationResult:
    """What handling one member did (also the reconcile sweep's summary parts)."""

    confirmed: bool = False
    revoked: int = 0
    notified: int = 0
    not_revoked: int = 0


@dataclass(frozen=True)
class ReconcileResult:
    """What the reconcile sweep found (its INFO line names only what it did)."""

    deactivated: int = 0
    revoked: int = 0
    notified: int = 0


class Deactivations:
    def __init__(
        self,
        store: DeactivationStore,
        requests: RequestStore,
        directory: MemberDirectory,
        revoke: Revoke,
        notifier: Notifier,
        clock: Clock,
        config: BotConfig,
    ) -> None:
        self.store = store
        self.requests = requests
        self.directory = directory
        self.revoke = revoke
        self.notifier = notifier
        self.clock = clock
        self.config = config

    def member_changed(self, user_id: str, *, deleted: bool) -> DeactivationResult:
        """A `user_change` event. Only `deleted: true` matters, and only once Slack
        confirms it; a re-activation (`deleted: false`) re-grants nothing."""
        if not deleted or not user_id:
            return DeactivationResult()
        if self.directory.deactivated(user_id) is not True:
            log.info("user_change deleted=true not confirmed by users.info; nothing done")
            return DeactivationResult()
        return self._deactivated(user_id)

    def reconcile(self, now: datetime | None = None) -> ReconcileResult:
        """The sweep: users.info for each member holding grants not yet acted on."""
        members = self.store.members_with_unseen_grants(limit=RECONCILE_LIMIT)
        deactivated = revoked = notified = 0
        for member in members:
            if self.directory.deactivated(member) is not True:
                continue
            result = self._deactivated(member, now)
            deactivated += 1
            revoked += result.revoked
            notified += result.notified
        return ReconcileResult(deactivated, revoked, notified)

    def _deactivated(self, member: str, now: datetime | None = None) -> DeactivationResult:
        now = now or self.clock.now()
        mode = self.config.offboarding.on_deactivation
        claimed = [
            grant
            for grant in self.requests.active_grants(requester_id=member)
            if self.store.claim_deactivation(grant.id, actor=ACTOR, now=now, action=mode.value)
        ]
        if not claimed:
            return DeactivationResult(confirmed=True)
        if mode is OnDeactivation.NOTIFY:
            self.notifier.notify(
                MemberDeactivated(
                    member, tuple(current(g, self.config) for g in claimed), revoking=False
                )
            )
            return DeactivationResult(confirmed=True, notified=len(claimed))
        revoked = not_revoked = 0
        for grant in claimed:
            try:
                outcome = self.revoke(
                    grant.id, actor=ACTOR, reason=REASON, cause=RevokeCause.DEACTIVATION, now=now
                )
            except Exception as exc:  # AWS or a bug: the reconcile sweep tries again
                log.error(
                    "deactivation revoke of request #%s crashed: %s", grant.id, type(exc).__name__
                )
                self.store.release_deactivation(grant.id)
                not_revoked += 1
                continue
            if outcome.done:
                revoked += 1
            else:
                not_revoked += 1
                log.warning("deactivation revoke of request #%s: %s", grant.id, outcome.message)
        return DeactivationResult(confirmed=True, revoked=revoked, not_revoked=not_revoked)
