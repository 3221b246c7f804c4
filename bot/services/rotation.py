"""Key rotation (flow 6): nudge the requester whose bot-made access key is older than
`[offboarding] key_max_age`, make them a new key through a new one-time link when they
click "Rotate my key", then retire the old key: deactivated once the new key has been
used (IAM's GetAccessKeyLastUsed) or once `[offboarding] rotation_grace` has passed,
deleted DELETE_AFTER later. The rules are bot/domain/rotation.py; the IAM calls reach
AWS through the KeyRotator port, the bookkeeping through the RotationStore port.

The sweep is one scheduler job (bot/scheduler.py, "rotate-keys"): every step is a
compare-and-set in the store, so two replicas sweeping at once nudge a key once and
audit each step once, and the IAM calls they might both make (deactivate, delete) are
harmless twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import crypto
from bot.domain.config import BotConfig
from bot.domain.errors import DomainError, ProvisioningError
from bot.domain.events import KeyRotated, KeyRotationDue
from bot.domain.policy import Action
from bot.domain.ports import Clock, KeyRotator, Notifier
from bot.domain.requests import RequestView
from bot.domain.rotation import (
    DELETE_AFTER,
    RENUDGE_AFTER,
    ROTATION_LEASE,
    DeactivationReason,
    KeyAge,
    KeyRotation,
    RotationStatus,
    deactivation_due,
    deletion_due,
    nudge_due,
)
from bot.domain.states import Status
from bot.domain.storage import LockRefusal, RequestStore, RotationStore
from bot.services.authority import lock_refusal_text, permission, sentence

log = logging.getLogger(__name__)

BATCH = 50
# The requester is never left without a working key: these AWS errors mean the user or
# key is not (or no longer) the bot's to touch, and the rotation ends there.
GONE = frozenset({"NoSuchEntity", "NotOurUser"})


class RotationRefused(DomainError):
    """The click cannot rotate the key; the message says why (safe to show)."""


@dataclass(frozen=True)
class RotationSweep:
    """What one sweep did (its log line: bot/scheduler.py's sweep_summary)."""

    nudged: int = 0
    deactivated: int = 0
    deleted: int = 0
    closed: int = 0
    released: int = 0
    failed: int = 0


class KeyRotations:
    def __init__(
        self,
        store: RotationStore,
        requests: RequestStore,
        rotator: KeyRotator,
        notifier: Notifier,
        config: BotConfig,
        *,
        public_url: str,
        clock: Clock,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.requests = requests
        self.rotator = rotator
        self.notifier = notifier
        self.config = config
        self.public_url = public_url
        self.clock = clock
        self.batch = batch

    @property
    def max_age(self) -> timedelta:
        return self.config.offboarding.key_max_age

    @property
    def grace(self) -> timedelta:
        return self.config.offboarding.rotation_grace

    # --- App Home ------------------------------------------------------------------

    def key_ages(self, requests: list[RequestView]) -> dict[int, KeyAge]:
        """The current bot-made key of each of these requests that has one."""
        return self.store.key_ages([r.id for r in requests])

    # --- the sweep -----------------------------------------------------------------

    def sweep(self, now: datetime) -> RotationSweep:
        released = self.store.release_stale(now)
        nudged = self._nudge(now)
        deactivated, closed, failed = self._retire(now)
        deleted, closed_more, failed_more = self._delete(now)
        return RotationSweep(
            nudged=nudged,
            deactivated=deactivated,
            deleted=deleted,
            closed=closed + closed_more,
            released=released,
            failed=failed + failed_more,
        )

    def _nudge(self, now: datetime) -> int:
        nudged = 0
        due = self.store.due_for_nudge(
            now - self.max_age, nudged_before=now - RENUDGE_AFTER, limit=self.batch
        )
        for key, seen in due:
            last = seen.nudged_at if seen is not None else None
            if not nudge_due(key.created_at, now, self.max_age, last_nudged_at=last):
                continue
            if self.store.claim_nudge(key, seen, now=now) is None:
                continue  # another sweep took it, or the key changed meanwhile
            request = self.requests.get(key.request_id)
            if request is None:  # pragma: no cover - deleted between two statements
                continue
            nudged += 1
            self.notifier.notify(
                KeyRotationDue(request, key.key_id, key.created_at, now, self.grace)
            )
        return nudged

    def _retire(self, now: datetime) -> tuple[int, int, int]:
        """Deactivate the old key of each issued rotation whose new key was used or
        whose grace period is over."""
        deactivated = closed = failed = 0
        for rotation, request in self.store.issued(limit=self.batch):
            if self._close_if_moot(rotation, request, now):
                closed += 1
                continue
            try:
                reason = self._why_deactivate(rotation, request, now)
                if reason is None:
                    continue
                done = self.rotator.deactivate_key(request, rotation.old_key_id)
            except ProvisioningError as exc:
                if self._close_if_gone(rotation, exc, now):
                    closed += 1
                else:
                    failed += 1
                continue
            if done:
                deactivated += (
                    self.store.mark_deactivated(rotation, reason=reason.value, now=now) is not None
                )
            else:  # an owner's re-issue deleted it meanwhile
                self.store.mark_deleted(rotation, now=now, already_gone=True)
        return deactivated, closed, failed

    def _why_deactivate(
        self, rotation: KeyRotation, request: RequestView, now: datetime
    ) -> DeactivationReason | None:
        assert rotation.rotated_at is not None and rotation.new_key_id is not None
        over = deactivation_due(rotation.rotated_at, now, self.grace, new_key_used=False)
        if over is not None:
            return over
        try:
            last_used = self.rotator.key_last_used(request, rotation.new_key_id)
        except ProvisioningError as exc:
            if exc.code != "NoSuchEntity" or not self._user_is_there(request):
                raise
            return DeactivationReason.NEW_KEY_GONE
        return deactivation_due(
            rotation.rotated_at, now, self.grace, new_key_used=last_used is not None
        )

    def _user_is_there(self, request: RequestView) -> bool:
        """After a NoSuchEntity for the new key: the grant still stands, so it is the key
        that is gone (an owner's re-issue replaced it), and the old key may go too. A
        user that is gone fails the next IAM call, which closes the rotation."""
        current = self.requests.get(request.id)
        return current is not None and current.status is Status.PROVISIONED

    def _delete(self, now: datetime) -> tuple[int, int, int]:
        deleted = closed = failed = 0
        for rotation, request in self.store.deactivated_before(
            now - DELETE_AFTER, limit=self.batch
        ):
            assert rotation.deactivated_at is not None
            if not deletion_due(rotation.deactivated_at, now):  # pragma: no cover - query says
                continue
            if self._close_if_moot(rotation, request, now):
                closed += 1
                continue
            try:
                done = self.rotator.delete_key(request, rotation.old_key_id)
            except ProvisioningError as exc:
                if self._close_if_gone(rotation, exc, now):
                    closed += 1
                else:
                    failed += 1
                continue
            deleted += self.store.mark_deleted(rotation, now=now, already_gone=not done) is not None
        return deleted, closed, failed

    def _close_if_moot(self, rotation: KeyRotation, request: RequestView, now: datetime) -> bool:
        """The request was revoked (revoking takes every key), or the old key is the
        request's key again: nothing for the rotation to do to it."""
        if request.status is not Status.PROVISIONED:
            return self.store.close(rotation, why=f"request is {request.status.value}", now=now)
        current = self.store.key_ages([request.id]).get(request.id)
        if current is not None and current.key_id == rotation.old_key_id:  # never the live key
            return self.store.close(rotation, why="the old key is the request's key", now=now)
        return False

    def _close_if_gone(self, rotation: KeyRotation, exc: ProvisioningError, now: datetime) -> bool:
        log.warning(
            "key rotation step failed",
            extra={
                "request_id": rotation.request_id,
                "access_key_id": rotation.old_key_id,
                "error_code": exc.code,
            },
        )
        if exc.code not in GONE:
            return False  # transient or unexpected: the next sweep tries again
        return self.store.close(rotation, why=exc.message, now=now)

    # --- the click -----------------------------------------------------------------

    def rotate(self, request_id: int, actor: str) -> tuple[RequestView, KeyRotation]:
        """The requester's "Rotate my key": a new key and its one-time link DMed; the old
        key stays active until the new one is used or the grace period is over. Returns
        the request and its rotation, now `issued`. Raises
        RotationRefused (not the requester, nothing to rotate, AWS refused, Slack did
        not take the link's DM: the rotation is then undone)."""
        request = self.requests.get(request_id)
        if request is None:
            raise RotationRefused(f"Request #{request_id} does not exist.")
        allowed = permission(self.config, Action.ROTATE_KEY, actor, request)
        if not allowed.allowed:
            raise RotationRefused(sentence(allowed.reason))
        rotation = self.store.latest_rotation(request_id)
        if rotation is None or rotation.status is not RotationStatus.NUDGED:
            raise RotationRefused(self._nothing_to_rotate(request, rotation))
        now = self.clock.now()
        claim = self.store.begin_rotation(
            rotation.id, actor=actor, now=now, until=now + ROTATION_LEASE
        )
        if claim is None:  # a double click, or the key was replaced meanwhile
            latest = self.store.latest_rotation(request_id)
            raise RotationRefused(self._nothing_to_rotate(request, latest))
        if isinstance(claim, LockRefusal):
            raise RotationRefused(sentence(lock_refusal_text(request_id, claim, "provisioned")))
        try:
            credentials = self.rotator.create_key(claim.lease.request, keep=rotation.old_key_id)
        except Exception as exc:
            code = exc.code if isinstance(exc, ProvisioningError) else type(exc).__name__
            self.store.rotation_failed(claim, actor=actor, error=code, now=self.clock.now())
            if isinstance(exc, ProvisioningError):
                raise RotationRefused(
                    f"AWS did not make your new key ({exc.code}). Your current key keeps "
                    "working; please try again later."
                ) from None
            raise
        assert credentials.access_key_id is not None
        new_key_id = credentials.access_key_id
        now = self.clock.now()
        sealed, link = crypto.seal_link(
            credentials, public_url=self.public_url, expires_at=now + self.config.links.ttl
        )
        del credentials  # the secret now exists only sealed, and in the link's key
        finished = self.store.finish_rotation(
            claim, sealed, new_key_id=new_key_id, actor=actor, now=now
        )
        if finished is None:
            self._discard(claim.lease.request, new_key_id)
            raise RotationRefused(f"Request #{request_id} is no longer provisioned.")
        view, issued = finished
        log.info(
            "access key of request #%s rotated by its requester",
            request_id,
            extra={"access_key_id": new_key_id, "old_access_key_id": rotation.old_key_id},
        )
        dm = self.notifier.notify(
            KeyRotated(
                view,
                link,
                old_key_id=rotation.old_key_id,
                new_key_id=new_key_id,
                grace_ends=now + self.grace,
            )
        )
        if dm is None:
            # The link's key existed only in that DM: nobody can ever open the link.
            # Undo, so the requester keeps a working key and can click again.
            self._discard(view, new_key_id)
            self.store.undo_rotation(
                issued,
                link_id=link.link_id,
                actor=actor,
                error="Slack did not accept the DM with the new key's link",
                now=self.clock.now(),
            )
            raise RotationRefused(
                "Slack did not accept the message with your new key's link, so nothing "
                "changed: your current key keeps working. Please try again."
            )
        return view, issued

    def _discard(self, request: RequestView, key_id: str) -> None:
        try:
            self.rotator.delete_key(request, key_id)
        except ProvisioningError as exc:
            # The next click's create_key deletes any key but the old one.
            log.warning(
                "could not delete the undelivered new access key",
                extra={"request_id": request.id, "access_key_id": key_id, "error_code": exc.code},
            )

    def _nothing_to_rotate(self, request: RequestView, rotation: KeyRotation | None) -> str:
        if rotation is None:
            return f"The access key of request #{request.id} does not need rotating yet."
        if rotation.status is RotationStatus.ROTATING:
            return "Your new key is being made: its link will arrive here in a moment."
        current = self.store.key_ages([request.id]).get(request.id)
        if rotation.new_key_id is not None and current and current.key_id == rotation.new_key_id:
            return (
                f"You already rotated this key ({rotation.old_key_id}): the link to your new "
                "key was sent to you then."
            )
        return f"Access key {rotation.old_key_id} of request #{request.id} was already replaced."
