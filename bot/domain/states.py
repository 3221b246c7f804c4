"""The request state machine (docs/architecture.md, "Request states"), as data."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.errors import InvalidTransition


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PROVISIONING = "provisioning"
    PROVISIONED = "provisioned"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    REVOKING = "revoking"
    REVOKED = "revoked"
    # An approved extension request (flow 6, bot/domain/time_bound.py): it moved the end
    # of the grant it extends; it made nothing in IAM of its own.
    EXTENDED = "extended"


# Every legal move. `failed -> revoked` is a rollback of a half-provisioned user;
# `provisioned -> revoking -> revoked` is taking access back (resumable while revoking);
# `provisioning -> extended` is an approved extension request applied to its grant.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.APPROVED, Status.DENIED, Status.CANCELLED, Status.EXPIRED}),
    Status.APPROVED: frozenset({Status.PROVISIONING}),
    Status.PROVISIONING: frozenset({Status.PROVISIONED, Status.FAILED, Status.EXTENDED}),
    Status.FAILED: frozenset({Status.PROVISIONING, Status.REVOKED}),
    Status.PROVISIONED: frozenset({Status.REVOKING, Status.REVOKED}),
    Status.REVOKING: frozenset({Status.REVOKED}),
    Status.DENIED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.REVOKED: frozenset(),
    Status.EXTENDED: frozenset(),
}

OPEN_STATUSES = frozenset({Status.PENDING, Status.APPROVED, Status.PROVISIONING, Status.FAILED})


def can_transition(current: Status, new: Status) -> bool:
    return new in TRANSITIONS[current]


def check_transition(current: Status, new: Status) -> None:
    """Raise InvalidTransition unless `current -> new` is in the state machine."""
    if not can_transition(current, new):
        raise InvalidTransition(current.value, new.value)
