"""Errors the domain and services raise; messages are safe to show to people."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DomainError(Exception):
    """Base for rule violations that are the caller's to handle."""


class InvalidTransition(DomainError):
    def __init__(self, current: str, new: str) -> None:
        super().__init__(f"a request cannot go from {current} to {new}")
        self.current = current
        self.new = new


class RequestNotFound(DomainError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"request #{request_id} does not exist")
        self.request_id = request_id


class ProvisioningError(DomainError):
    """An AWS step failed. `code`/`message` are AWS's (never contain secrets);
    `permanent` errors need an owner (Retry / Roll back), transient ones are retried."""

    def __init__(self, code: str, message: str, *, permanent: bool, step: str = "") -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.permanent = permanent
        self.step = step


class StoreUnavailable(DomainError):
    """The database could not be reached (down, cut off, refusing connections), or
    refused the statement (`refused`). Raised by the store in place of the driver's
    error, whose text may quote SQL, parameters or addresses; the transaction was rolled
    back, so nothing was recorded and the caller can tell the person to try again."""

    def __init__(self, *, refused: bool = False) -> None:
        super().__init__(
            "the database did not accept the change"
            if refused
            else "the bot could not reach its database"
        )
        self.refused = refused


class DeliveryKind(StrEnum):
    """What the bot must get through to Slack, one outbox row each (docs/architecture.md,
    "Deliveries (outbox)")."""

    APPROVAL_POST = "approval_post"  # the owners' approval message (flow 1)
    APPROVAL_UPDATE = "approval_update"  # that message re-rendered in place
    REQUESTER_OUTCOME = "requester_outcome"  # the requester's DM: approved, denied, ...
    CREDENTIALS = "credentials"  # the one-time link's DM (flow 4)


class DeliveryFailed(DomainError):
    """Slack did not accept a message that must reach someone, after the Web API client's
    own retries. `kinds` are the parts that failed; `retry_after` is Slack's Retry-After
    (seconds) when it rate-limited; `error` is Slack's error code or the network error's
    type (never a message body); `result` is what the parts that did succeed returned."""

    def __init__(
        self,
        kinds: tuple[DeliveryKind, ...] = (),
        *,
        error: str = "",
        retry_after: float | None = None,
        result: Any = None,
    ) -> None:
        what = ", ".join(kinds) or "a message"
        super().__init__(f"Slack did not accept {what} ({error or 'no answer'})")
        self.kinds = kinds
        self.error = error
        self.retry_after = retry_after
        self.result = result
