"""What happened, as typed events: services tell the Notifier these, never sentences.

The Slack notifier (bot/slack/notifier.py) turns each event into Block Kit; a test's
recording fake (tests/support/notifier.py) keeps them for assertions. Anything that
carries credentials is a link (`IssuedLink`), never the secret itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.credentials import IssuedLink
from bot.domain.errors import DeliveryKind
from bot.domain.requests import RequestView


@dataclass(frozen=True)
class RequestSubmitted:
    """Flow 1: post the approval message (its ref is returned) and confirm to the requester."""

    request: RequestView


@dataclass(frozen=True)
class RequestChanged:
    """Re-render the approval message in place (approval counted, retry, age, ...)."""

    request: RequestView


@dataclass(frozen=True)
class RequestApproved:
    """Flow 2: the last approval came in; the requester hears provisioning has begun."""

    request: RequestView
    by: str


@dataclass(frozen=True)
class RequestDenied:
    request: RequestView
    by: str


@dataclass(frozen=True)
class RequestCancelled:
    request: RequestView


@dataclass(frozen=True)
class RequestExpired:
    """Flow 5: pending past `expire_after`; the message closes, the requester may ask again."""

    request: RequestView
    expired_after: timedelta


@dataclass(frozen=True)
class ProvisioningFailed:
    """Flow 3: owners see AWS's error (thread reply) and the requester hears of a delay."""

    request: RequestView


@dataclass(frozen=True)
class RolledBack:
    request: RequestView
    by: str


@dataclass(frozen=True)
class CredentialsIssued:
    """Flow 4: DM the one-time link (its DM ref is returned). `reissued_by` is the owner
    who asked for new credentials, or None for the first issue."""

    request: RequestView
    link: IssuedLink = field(repr=False)
    reissued_by: str | None = None


@dataclass(frozen=True)
class CredentialsOpened:
    request: RequestView
    at: datetime


@dataclass(frozen=True)
class CredentialsExpired:
    """The link expired unopened: owners are offered a Re-issue."""

    request: RequestView


@dataclass(frozen=True)
class ReminderDue:
    """Flow 5: remind `owners` (those who can still decide) in the approval thread."""

    request: RequestView
    owners: tuple[str, ...]
    number: int
    now: datetime


@dataclass(frozen=True)
class ReminderEscalated:
    """After several reminders the owners who can still decide are DMed too."""

    request: RequestView
    owners: tuple[str, ...]
    number: int
    now: datetime


@dataclass(frozen=True)
class PendingSummary:
    """One channel message listing `requests` (oldest first) of `total` pending ones."""

    channel: str
    requests: tuple[RequestView, ...]
    total: int
    now: datetime


@dataclass(frozen=True)
class RequesterOutcome:
    """The outbox re-sends the requester's DM for where the request stands now (approved,
    denied, expired, delayed); a state with no DM of its own sends nothing."""

    request: RequestView
    expired_after: timedelta


@dataclass(frozen=True)
class DeliveryGivenUp:
    """The outbox stopped retrying `kind` for this request: the owners are told."""

    request: RequestView
    kind: DeliveryKind
    attempts: int
    error: str


Event = (
    RequestSubmitted
    | RequestChanged
    | RequestApproved
    | RequestDenied
    | RequestCancelled
    | RequestExpired
    | ProvisioningFailed
    | RolledBack
    | CredentialsIssued
    | CredentialsOpened
    | CredentialsExpired
    | ReminderDue
    | ReminderEscalated
    | PendingSummary
    | RequesterOutcome
    | DeliveryGivenUp
)
