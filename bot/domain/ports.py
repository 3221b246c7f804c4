"""The ports the use cases need; adapters (Slack, AWS, clock) implement them.

Services talk to people only through `Notifier` and to AWS only through
`Provisioner`, so they import neither Bolt nor boto3 and are tested with fakes
as well as with the real adapters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.domain.credentials import Credentials, IssuedLink
from bot.domain.requests import MessageRef, RequestView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Notifier(Protocol):
    """Tells people about requests. Implementations must never raise for a delivery
    failure that the stored request can survive: log it with context and return None.

    Each capability adds the methods it needs here (and in bot/slack/notifier.py);
    anything that carries credentials is a link, never the secret itself.
    """

    # flow 1-2 (Slack request/approval)
    def request_submitted(self, request: RequestView) -> MessageRef | None:
        """Post the approval message and DM the requester; return the approval message."""
        ...

    def request_updated(self, request: RequestView) -> None:
        """Re-render the approval message in place (progress, decision, failure, ...)."""
        ...

    def tell_requester(self, request: RequestView, text: str) -> None:
        """DM the requester a plain (already escaped) line about their request."""
        ...

    # flow 3 (provisioning)
    def provisioning_failed(self, request: RequestView) -> MessageRef | None:
        """Tell the owners (approval thread) that provisioning failed; the approval
        message itself shows the error and the Retry / Roll back buttons."""
        ...

    # flow 4 (credentials link)
    def credentials_ready(self, request: RequestView, link: IssuedLink) -> MessageRef | None:
        """DM the requester the one-time link (unfurl_links/unfurl_media false)."""
        ...

    def credentials_opened(self, request: RequestView, at: datetime) -> None:
        """Tell the requester's DM thread and the approval thread the link was opened."""
        ...

    def credentials_expired(self, request: RequestView) -> None:
        """The link expired unopened: offer owners a Re-issue, tell the requester."""
        ...

    def credentials_reissued(self, request: RequestView, by: str) -> None:
        """Record in the approval thread that `by` re-issued the credentials."""
        ...

    # flow 5 (reminders and lifecycle)
    def remind(
        self, request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
    ) -> MessageRef | None:
        """Reply in the approval message's thread mentioning `owners` (who can still decide)."""
        ...

    def escalate(
        self, request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
    ) -> None:
        """DM each of `owners` that the request has waited through several reminders."""
        ...

    def pending_summary(
        self, requests: list[RequestView], total: int, now: datetime
    ) -> MessageRef | None:
        """Post one channel message listing pending requests (oldest first, each linked);
        `total` may exceed len(requests) when the list was cut short."""
        ...

    def request_expired(self, request: RequestView, expired_after: timedelta) -> None:
        """Close the approval message (no buttons) and tell the requester to ask again."""
        ...


class IamDirectory(Protocol):
    """Answers "may this requester ask for this IAM user name?" (bot/aws/directory.py)."""

    def name_taken(self, user_name: str, requester_id: str) -> bool:
        """True when IAM has a user with this name (compared case-insensitively, as IAM
        does) that was not created for `requester_id` by this bot."""
        ...


class Provisioner(Protocol):
    """Creates/rotates/removes the IAM user of a request (bot/aws/iam.py)."""

    def provision(self, request: RequestView) -> Credentials:
        """Run every step idempotently for this request; raise ProvisioningError."""
        ...

    def rotate_credentials(self, request: RequestView) -> Credentials:
        """New password and/or access key for an already provisioned request; the
        old access key is deleted. Raise ProvisioningError."""
        ...

    def roll_back(self, request: RequestView) -> None:
        """Remove what this request created, in dependency order."""
        ...


class CredentialSink(Protocol):
    """Seals credentials into a one-time link inside the caller's transaction, so the
    request becomes `provisioned` if and only if its link is stored."""

    def seal(
        self, session: Session, request_id: int, credentials: Credentials, now: datetime
    ) -> IssuedLink: ...
