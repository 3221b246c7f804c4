"""The outbox: what Slack must deliver is retried until Slack accepts it
(docs/architecture.md, "Deliveries (outbox)").

`DurableNotifier` is the Notifier every use case holds. It tries at once; when the
Slack notifier raises DeliveryFailed for a message that must reach someone, it records
one row per failed kind (request id and kind only: no text, no secret) and returns as
if nothing happened, so no use case changes. `Deliveries.sweep` (a scheduler job)
claims due rows, renders each again from the request as it is now, and marks it sent;
a failure is retried with exponential backoff (never sooner than Slack's
Retry-After), and after `max_attempts` the owners are told and the row is given up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.config import BotConfig
from bot.domain.errors import DeliveryFailed, DeliveryKind, DomainError, StoreUnavailable
from bot.domain.events import (
    AccessRevoked,
    CredentialsIssued,
    DeliveryGivenUp,
    Event,
    ProvisioningFailed,
    RequestApproved,
    RequestCancelled,
    RequestChanged,
    RequestDenied,
    RequesterOutcome,
    RequestExpired,
    RequestSubmitted,
    RevokeFailed,
    RolledBack,
)
from bot.domain.ports import Clock, Notifier
from bot.domain.requests import MessageRef, RequestView
from bot.domain.storage import Delivery, DeliveryStore, RequestStore
from bot.services.authority import current
from bot.services.vault import CredentialLinks

log = logging.getLogger(__name__)

POST = DeliveryKind.APPROVAL_POST
UPDATE = DeliveryKind.APPROVAL_UPDATE
OUTCOME = DeliveryKind.REQUESTER_OUTCOME
LINK = DeliveryKind.CREDENTIALS

# The kinds of message each event must get through to Slack. Others (reminders, the
# summary, "opened" notes) stay best-effort.
MUST_DELIVER: dict[type, tuple[DeliveryKind, ...]] = {
    RequestSubmitted: (POST,),
    RequestChanged: (UPDATE,),
    RequestCancelled: (UPDATE,),
    RolledBack: (UPDATE,),
    RequestApproved: (UPDATE, OUTCOME),
    RequestDenied: (UPDATE, OUTCOME),
    RequestExpired: (UPDATE, OUTCOME),
    ProvisioningFailed: (UPDATE, OUTCOME),
    CredentialsIssued: (LINK, UPDATE),
    AccessRevoked: (UPDATE, OUTCOME),
    RevokeFailed: (UPDATE,),
}

# The sweep runs at least this often (bot/scheduler.py); the first retry waits one
# period, each further one twice as long, up to MAX_BACKOFF.
DELIVERY_EVERY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=15)
MAX_ATTEMPTS = 6  # with 30 s: about 15 minutes of retries before the owners are told
# How long one sweep holds a claimed row: longer than a credentials re-issue (AWS
# rotation and key check), so no other sweep takes a row still being delivered.
CLAIM = timedelta(minutes=5)
BATCH = 20


def next_attempt(
    now: datetime, attempts: int, every: timedelta, retry_after: float | None = None
) -> datetime:
    """When to try again after `attempts` failed attempts: exponential backoff, and
    never before Slack's Retry-After."""
    wait = min(MAX_BACKOFF, every * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


class DurableNotifier:
    """The Notifier port, durable: a message Slack did not accept becomes an outbox row."""

    def __init__(
        self,
        inner: Notifier,
        store: DeliveryStore,
        clock: Clock,
        *,
        every: timedelta = DELIVERY_EVERY,
    ) -> None:
        self.inner = inner
        self.store = store
        self.clock = clock
        self.every = every

    def notify(self, event: Event) -> MessageRef | None:
        kinds = MUST_DELIVER.get(type(event), ())
        try:
            result = self.inner.notify(event)
        except DeliveryFailed as failed:
            request: RequestView = event.request  # type: ignore[union-attr]
            self._queue(request, failed)
            self._settle(request, [k for k in kinds if k not in failed.kinds])
            return failed.result
        if kinds:
            self._settle(event.request, kinds)  # type: ignore[union-attr]
        return result

    def _queue(self, request: RequestView, failed: DeliveryFailed) -> None:
        now = self.clock.now()
        retry_at = next_attempt(now, 1, self.every, failed.retry_after)
        for kind in failed.kinds:
            try:
                self.store.queue(
                    request.id, kind, error=failed.error, next_attempt_at=retry_at, now=now
                )
            except StoreUnavailable:
                # Slack and the database are both down: nothing can keep it.
                log.error("%s of request #%s is lost: database unavailable", kind, request.id)
                continue
            log.warning(
                "%s of request #%s not accepted by Slack (%s); retrying from %s",
                kind,
                request.id,
                failed.error,
                retry_at.isoformat(timespec="seconds"),
            )

    def _settle(self, request: RequestView, kinds: Sequence[DeliveryKind]) -> None:
        """A message of these kinds just got through: an older copy waiting in the
        outbox is obsolete (and must not, say, re-issue a link the requester now has)."""
        if not kinds:
            return
        try:
            self.store.settle(request.id, kinds, self.clock.now())
        except StoreUnavailable:
            log.warning("could not settle deliveries of request #%s", request.id)


class Deliveries:
    """The delivery sweep, and the owners' view of what could not be delivered."""

    def __init__(
        self,
        store: DeliveryStore,
        requests: RequestStore,
        notifier: Notifier,
        config: BotConfig,
        clock: Clock,
        *,
        links: CredentialLinks | None = None,
        every: timedelta = DELIVERY_EVERY,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        # `notifier` is the Slack notifier itself, never the durable one: a failure
        # here must raise DeliveryFailed so this row is retried.
        self.store = store
        self.requests = requests
        self.notifier = notifier
        self.config = config
        self.clock = clock
        self.links = links
        self.every = every
        self.max_attempts = max_attempts

    def sweep(self, now: datetime | None = None) -> int:
        """Deliver every due row this sweep can claim; how many reached Slack."""
        now = now or self.clock.now()
        delivered = 0
        for delivery in self.store.claim_due(now, until=now + CLAIM, limit=BATCH):
            delivered += self._attempt(delivery)
        return delivered

    def undelivered(self, owner_id: str, limit: int = 20) -> list[tuple[RequestView, Delivery]]:
        """Given-up deliveries of the requests in the accounts `owner_id` owns."""
        found = []
        for delivery in self.store.given_up(limit=limit):
            view = self.requests.get(delivery.request_id)
            if view is not None and owner_id in self.config.owners_of(view.account):
                found.append((view, delivery))
        return found

    # --- one row -----------------------------------------------------------------

    def _attempt(self, delivery: Delivery) -> bool:
        try:
            needed = self._deliver(delivery)
        except DeliveryFailed as exc:
            self._failed(delivery, exc.error or "no answer", exc.retry_after)
            return False
        except StoreUnavailable:
            raise  # the claim runs out and the row is retried once the database is back
        except DomainError as exc:  # AWS refused a re-issue, or one is running now
            self._failed(delivery, getattr(exc, "code", "") or type(exc).__name__, None)
            return False
        except Exception as exc:  # a bug must not stop the other rows
            log.exception("delivery %s of request #%s crashed", delivery.kind, delivery.request_id)
            self._failed(delivery, type(exc).__name__, None)
            return False
        self.store.sent(delivery, self.clock.now(), needed=needed)
        if needed:
            log.info("%s of request #%s delivered", delivery.kind, delivery.request_id)
        return needed

    def _deliver(self, delivery: Delivery) -> bool:
        """Render the message again from the request as it is now and send it; False
        when nothing is left to deliver."""
        view = self.requests.get(delivery.request_id)
        if view is None:
            return False
        view = current(view, self.config)
        kind = delivery.kind
        if kind is POST:
            return self._post(view)
        if kind is UPDATE:
            if not view.approval_ts:  # not posted yet: the post shows the current state
                return False
            self.notifier.notify(RequestChanged(view))
            return True
        if kind is OUTCOME:
            self.notifier.notify(RequesterOutcome(view, self.config.reminders.expire_after))
            return True
        if self.links is None:  # pragma: no cover - wiring error
            raise RuntimeError("Deliveries was built without the credential links")
        return self.links.redeliver(view.id, self.notifier)

    def _post(self, view: RequestView) -> bool:
        if view.approval_ts:  # posted meanwhile (or by another replica's sweep)
            return False
        ref = self.notifier.notify(RequestSubmitted(view))
        if ref is None:  # pragma: no cover - the Slack notifier raises instead
            raise DeliveryFailed((POST,), error="no message returned")
        self.requests.set_approval_message(view.id, ref)
        latest = self.requests.get(view.id)
        if latest is not None and latest.status is not view.status:
            # Decided while this post was on its way: its update found no message.
            now = self.clock.now()
            self.store.queue(view.id, UPDATE, error="changed", next_attempt_at=now, now=now)
        return True

    def _failed(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        attempts = delivery.attempts + 1
        now = self.clock.now()
        if attempts < self.max_attempts:
            retry_at = next_attempt(now, attempts, self.every, retry_after)
            self.store.retry_later(delivery, error=error, next_attempt_at=retry_at, now=now)
            return
        if not self.store.give_up(delivery, error=error, now=now):
            return
        log.error(
            "%s of request #%s given up after %d attempts (%s)",
            delivery.kind,
            delivery.request_id,
            attempts,
            error,
        )
        if (view := self.requests.get(delivery.request_id)) is not None:
            # Best effort (a thread reply); App Home and `requests` list it regardless.
            self.notifier.notify(
                DeliveryGivenUp(current(view, self.config), delivery.kind, attempts, error)
            )
