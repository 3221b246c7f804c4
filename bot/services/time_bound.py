"""Time-bound access (flow 6): the sweep that warns requesters before their grant ends
and revokes it at the end, an owner's Extend, and applying an approved extension
request. The rules (durations, warning times, extension ends) are
bot/domain/time_bound.py; revoking is bot/services/revoke.py's one use case.

Every step claims its row with a compare-and-set in the store, so any number of sweeps
(threads, replicas) warn once, extend once and revoke once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.config import BotConfig
from bot.domain.events import AccessExtended, ExpiryWarning, ProvisioningFailed, RequestChanged
from bot.domain.policy import Action
from bot.domain.ports import Clock, Notifier
from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeCause, RevokeOutcome
from bot.domain.states import Status
from bot.domain.storage import Lease, ProvisioningStore, RequestStore
from bot.domain.time_bound import EXPIRY_RETRY, TimeBoundStore, owner_extension_end
from bot.services.authority import current, permission, sentence

log = logging.getLogger(__name__)

BOT_ACTOR = "aws-access-bot"
EXPIRY_REASON = "time-bound access ended (max_duration)"
GRANT_ENDED = "GrantEnded"
# A revoke that raised (AWS unreachable past the revoke's own handling, a bug) is tried
# again after this long.
EXPIRY_ERROR_RETRY = timedelta(minutes=5)
# How many grants one sweep looks at; the next sweep takes the rest.
SWEEP_LIMIT = 200

Revoke = Callable[..., RevokeOutcome]


@dataclass(frozen=True)
class TimeBoundResult:
    """What one sweep did (its INFO line: bot.scheduler.sweep_summary)."""

    warned: int = 0
    revoked: int = 0
    not_revoked: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ExtendResult:
    ok: bool
    message: str
    request: RequestView | None = None


class TimeBoundAccess:
    def __init__(
        self,
        store: TimeBoundStore,
        requests: RequestStore,
        provisioning: ProvisioningStore,
        revoke: Revoke,
        notifier: Notifier,
        clock: Clock,
        config: BotConfig,
        *,
        limit: int = SWEEP_LIMIT,
    ) -> None:
        self.store = store
        self.requests = requests
        self.provisioning = provisioning
        self.revoke = revoke
        self.notifier = notifier
        self.clock = clock
        self.config = config
        self.limit = limit

    # --- the sweep -------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> TimeBoundResult:
        """Revoke grants past their end, then warn those whose warning is due (a grant
        revoked now is never warned first)."""
        now = now or self.clock.now()
        revoked, not_revoked = 0, []
        for request_id in self.store.due_expiries(now, limit=self.limit):
            if not self.store.claim_expiry(request_id, now=now, until=now + EXPIRY_RETRY):
                continue  # another sweep holds it
            try:
                outcome = self.revoke(
                    request_id,
                    actor=BOT_ACTOR,
                    reason=EXPIRY_REASON,
                    cause=RevokeCause.EXPIRY,
                    now=now,
                )
            except Exception as exc:  # AWS or a bug: try again soon, not in a day
                log.error(
                    "expiry revoke of request #%s crashed: %s", request_id, type(exc).__name__
                )
                self.store.retry_expiry(request_id, at=now + EXPIRY_ERROR_RETRY)
                not_revoked.append(request_id)
                continue
            if outcome.done:
                revoked += 1
            else:
                # Refused (not the bot's user) or failed: the revoke told the owners; a
                # failed one is retried by the revoke's recovery, a refused one here
                # after EXPIRY_RETRY.
                not_revoked.append(request_id)
                log.warning("expiry revoke of request #%s: %s", request_id, outcome.message)
        warned = 0
        for request_id, seen in self.store.due_warnings(now, limit=self.limit):
            view = self.store.claim_warning(request_id, seen=seen, now=now)
            if view is None:
                continue
            warned += 1
            self.notifier.notify(ExpiryWarning(current(view, self.config), now))
        return TimeBoundResult(warned=warned, revoked=revoked, not_revoked=not_revoked)

    # --- an owner's Extend -----------------------------------------------------------

    def extend(self, request_id: int, actor: str) -> ExtendResult:
        """Move a time-bound grant's end to a full max_duration from now (never earlier
        than it was). Owners only (the authorization table's EXTEND)."""
        request = self.requests.get(request_id)
        if request is None:
            return ExtendResult(False, f"Request #{request_id} does not exist.")
        allowed = permission(self.config, Action.EXTEND, actor, request)
        if not allowed.allowed:
            return ExtendResult(False, sentence(allowed.reason), request)
        if request.access_expires_at is None or request.max_duration is None:
            return ExtendResult(
                False,
                f"Request #{request_id} has no end to extend (it lasts until revoked).",
                request,
            )
        now = self.clock.now()
        new_end = owner_extension_end(request.access_expires_at, now, request.max_duration)
        view = self.store.extend(
            request_id,
            seen_end=request.access_expires_at,
            new_end=new_end,
            actor=actor,
            now=now,
            by="owner",
        )
        if view is None:
            return ExtendResult(
                False, f"Request #{request_id} changed meanwhile; look again and retry.", request
            )
        view = current(view, self.config)
        self.notifier.notify(AccessExtended(view, actor, request.access_expires_at))
        return ExtendResult(True, f"Extended request #{request_id}.", view)

    # --- an approved extension request -------------------------------------------------

    def apply_extension(self, lease: Lease) -> RequestView | None:
        """Run by the provisioning worker instead of IAM work for an extension request
        (`extends_request_id`): the grant it extends ends later and the extension is
        `extended`. The grant no longer active: the extension fails for the owners."""
        extension = lease.request
        before = (
            self.requests.get(extension.extends_request_id)
            if extension.extends_request_id is not None
            else None
        )
        now = self.clock.now()
        grant = self.store.apply_extension(lease, now=now)
        if grant is None and before is not None and before.status is Status.PROVISIONED:
            # Its end moved meanwhile (an owner's Extend): apply to the new end.
            grant = self.store.apply_extension(lease, now=now)
        if grant is None:
            message = (
                f"request #{extension.extends_request_id} is no longer active, so there is "
                "nothing to extend: the requester can ask for access anew"
            )
            failed = self.provisioning.fail_provisioning(
                lease, code=GRANT_ENDED, message=message, step="extend", permanent=True, now=now
            )
            if failed is not None:
                self.notifier.notify(ProvisioningFailed(current(failed, self.config)))
            return None
        done = self.requests.get(extension.id)
        if done is not None:
            self.notifier.notify(RequestChanged(current(done, self.config)))
        previous = before.access_expires_at if before and before.access_expires_at else now
        by = ", ".join(extension.approvers) or BOT_ACTOR
        self.notifier.notify(
            AccessExtended(current(grant, self.config), by, previous, extension_id=extension.id)
        )
        return grant

    # --- Request extension (the requester's button) ------------------------------------

    def extendable(self, request_id: int, actor: str) -> RequestView | str:
        """The grant `actor` may ask to extend (their own, provisioned, time-bound), or
        why not."""
        request = self.requests.get(request_id)
        if request is None or request.requester_id != actor:
            return "Only the requester can ask to extend their access."
        if request.status is not Status.PROVISIONED or request.access_expires_at is None:
            return f"Request #{request_id} is no longer active: request access anew instead."
        return request
