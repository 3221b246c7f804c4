"""The ports the use cases need; adapters (Slack, AWS, clock) implement them.

Services talk to people only through `Notifier`, to AWS only through `Provisioner`
and to the database only through the store ports (bot/domain/storage.py), so they
import none of Bolt, boto3 or SQLAlchemy and are tested with fakes as well as with
the real adapters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bot.domain.credentials import Credentials
from bot.domain.events import Event
from bot.domain.requests import MessageRef, RequestView


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Notifier(Protocol):
    """Tells people what happened (bot/domain/events.py).

    Implementations never raise for a delivery failure that the stored request can
    survive: they log it with context and return None. For `RequestSubmitted` the
    approval message is returned, for `CredentialsIssued` the requester's DM. (The
    Slack notifier itself raises DeliveryFailed for a message that must reach someone;
    use cases hold the outbox's DurableNotifier around it, which records the failure
    and returns: docs/architecture.md, "Deliveries (outbox)".)
    """

    def notify(self, event: Event) -> MessageRef | None: ...


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
