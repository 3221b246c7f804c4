"""Key rotation (flow 6): when a bot-made access key is due for a nudge, when the old key
of a rotation is deactivated and when it is deleted. Pure rules and values; the use
case is bot/services/rotation.py, the IAM calls bot/aws/rotation.py, the bookkeeping
bot/store/rotations.py (docs/architecture.md, "Key rotation").

A rotation of one key goes through these states (one `key_rotations` row each):

    nudged ──click──▶ rotating ──new key + link──▶ issued ──new key used, or grace over──▶
    deactivated ──a day later──▶ deleted

`rotating` is held with a claim (the request's re-issue lock): a click whose AWS work
failed goes back to `nudged`, so the button works again. `closed` ends a rotation with
nothing left to do (the request was revoked, or its key was replaced by a re-issue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A nudge that was not acted on is sent again this long after the last one.
RENUDGE_AFTER = timedelta(days=7)
# The old key is deleted this long after it was deactivated (a day to notice and
# complain, then gone; reactivating it in IAM within that day is an owner's choice).
DELETE_AFTER = timedelta(days=1)
# How long one click may hold the request while AWS makes the new key.
ROTATION_LEASE = timedelta(minutes=5)


class RotationStatus(StrEnum):
    NUDGED = "nudged"  # the requester got the DM with "Rotate my key"
    ROTATING = "rotating"  # a click is making the new key (claimed)
    ISSUED = "issued"  # new key and link handed out; the old key still works
    DEACTIVATED = "deactivated"  # the old key is inactive
    DELETED = "deleted"  # the old key is gone (final)
    CLOSED = "closed"  # nothing left to do: revoked, or the key was replaced (final)


OPEN_ROTATIONS = frozenset(
    {
        RotationStatus.NUDGED,
        RotationStatus.ROTATING,
        RotationStatus.ISSUED,
        RotationStatus.DEACTIVATED,
    }
)


class DeactivationReason(StrEnum):
    NEW_KEY_USED = "new key used"  # GetAccessKeyLastUsed shows a LastUsedDate
    GRACE_OVER = "grace period over"
    NEW_KEY_GONE = "new key gone"  # replaced meanwhile (an owner's re-issue)


@dataclass(frozen=True)
class KeyRotation:
    """One rotation of one key, as the store keeps it. Key ids are public (they are in
    CloudTrail); no secret is ever part of a rotation."""

    id: int
    request_id: int
    old_key_id: str
    status: RotationStatus
    key_created_at: datetime  # when the old key was made (its link was sealed)
    nudged_at: datetime
    nudges: int = 1
    new_key_id: str | None = None
    link_id: str | None = None  # the new key's one-time link (its id, never its key)
    rotated_at: datetime | None = None
    rotated_by: str | None = None
    deactivated_at: datetime | None = None
    deleted_at: datetime | None = None
    claimed_until: datetime | None = None


@dataclass(frozen=True)
class KeyAge:
    """A provisioned request's current bot-made key and when it was made."""

    request_id: int
    key_id: str
    created_at: datetime

    def age(self, now: datetime) -> timedelta:
        return max(timedelta(0), now - self.created_at)


def nudge_due(
    key_created_at: datetime,
    now: datetime,
    max_age: timedelta,
    *,
    last_nudged_at: datetime | None = None,
) -> bool:
    """Is a key made at `key_created_at` due for a (first or repeated) nudge at `now`?
    Older than `max_age`, and never nudged or last nudged RENUDGE_AFTER ago or more."""
    if now - key_created_at <= max_age:
        return False
    return last_nudged_at is None or now - last_nudged_at >= RENUDGE_AFTER


def deactivation_due(
    rotated_at: datetime, now: datetime, grace: timedelta, *, new_key_used: bool
) -> DeactivationReason | None:
    """Why the old key of a rotation issued at `rotated_at` is deactivated now, if it is:
    the new key was used, or the grace period is over."""
    if new_key_used:
        return DeactivationReason.NEW_KEY_USED
    if now - rotated_at >= grace:
        return DeactivationReason.GRACE_OVER
    return None


def deletion_due(deactivated_at: datetime, now: datetime) -> bool:
    return now - deactivated_at >= DELETE_AFTER


def days_old(age: timedelta) -> str:
    """A key's age as people say it: "93 days", "1 day", "less than a day"."""
    days = age.days
    if days < 1:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"
