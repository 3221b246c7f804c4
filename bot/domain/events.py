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
class IamNameTaken:
    """Flow 1, after the form's ack: the full IAM check found the name taken (in another
    case); the request was cancelled before it was announced and the requester is told."""

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


@dataclass(frozen=True)
class AccessRevoked:
    """Flow 6: the grant was revoked (`revoked_by`, `revoke_reason`, `revoke_cause` and
    `revoke_mode` are on the request). The approval message shows it (no buttons), the
    requester gets a DM and the owners are told in the account's approval channel."""

    request: RequestView


@dataclass(frozen=True)
class RevokeFailed:
    """Flow 6: a revoke failed (AWS's error in `last_error`); it stays `revoking` and is
    retried. The owners see the error and a Revoke button to try again now."""

    request: RequestView


@dataclass(frozen=True)
class RevokeRefusedNotice:
    """Flow 6: the IAM user is not the one the bot made for this request, so nothing was
    touched; the owners are told why."""

    request: RequestView
    message: str


@dataclass(frozen=True)
class KeyRotationDue:
    """Flow 6, key rotation: the requester's access key `key_id` (made at `key_created_at`)
    is older than `[offboarding] key_max_age`: DM them a "Rotate my key" button."""

    request: RequestView
    key_id: str
    key_created_at: datetime
    now: datetime
    grace: timedelta


@dataclass(frozen=True)
class KeyRotated:
    """The requester rotated their key: DM the new key's one-time link (its DM ref is
    returned; None when Slack did not take it). The old key stays active until the new
    one is used, or until `grace_ends`."""

    request: RequestView
    link: IssuedLink = field(repr=False)
    old_key_id: str = ""
    new_key_id: str = ""
    grace_ends: datetime | None = None


@dataclass(frozen=True)
class ExpiryWarning:
    """Time-bound access (flow 6): the requester's grant ends at
    `request.access_expires_at`; the DM offers Request extension."""

    request: RequestView
    now: datetime


@dataclass(frozen=True)
class AccessExtended:
    """A grant's end moved (an owner's Extend, or an approved extension request
    `extension_id`): the approval message shows the new end; requester and owners hear."""

    request: RequestView
    by: str
    previous_end: datetime
    extension_id: int | None = None


@dataclass(frozen=True)
class MemberDeactivated:
    """A Slack member with active grants was deactivated (confirmed with users.info).
    `revoking`: their grants are being revoked (each revoke tells everyone on its own);
    otherwise (`on_deactivation = "notify"`) the owners of each grant's account are told
    and nothing is revoked."""

    member: str
    grants: tuple[RequestView, ...]
    revoking: bool


Event = (
    RequestSubmitted
    | RequestChanged
    | RequestApproved
    | RequestDenied
    | RequestCancelled
    | IamNameTaken
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
    | AccessRevoked
    | RevokeFailed
    | RevokeRefusedNotice
    | KeyRotationDue
    | KeyRotated
    | ExpiryWarning
    | AccessExtended
    | MemberDeactivated
)
