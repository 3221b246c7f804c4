"""The ports the use cases need; adapters (Slack, AWS, clock) implement them.

Services talk to people only through `Notifier`, to AWS only through `Provisioner`
and to the database only through the store ports (bot/domain/storage.py), so they
import none of Bolt, boto3 or SQLAlchemy and are tested with fakes as well as with
the real adapters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bot.domain.config import DEFAULT_ACCOUNT
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

    def name_taken(self, user_name: str, requester_id: str, account: str = DEFAULT_ACCOUNT) -> bool:
        """True when IAM has a user with this name (compared case-insensitively, as IAM
        does) that was not created for `requester_id` by this bot. Its time may grow with
        the number of IAM users: submit runs it after the form's ack."""
        ...

    def name_taken_quick(
        self, user_name: str, requester_id: str, account: str = DEFAULT_ACCOUNT
    ) -> bool:
        """Like `name_taken`, with a bounded number of calls (fit for the form's 3-second
        ack): it may miss a user whose name differs in case; `name_taken` will not."""
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


class KeyRotator(Protocol):
    """The access keys of one request's IAM user, for key rotation (bot/aws/rotation.py).
    Every call first checks the user is the one the bot made for this request (its path
    and tags) and refuses (a permanent ProvisioningError) otherwise."""

    def create_key(self, request: RequestView, *, keep: str) -> Credentials:
        """A new access key; `keep` (the old key) stays active, any other key of the
        user (a stray nobody holds) is deleted. Not tested with STS: any use would
        count as the new key's first use. Raise ProvisioningError."""
        ...

    def key_last_used(self, request: RequestView, key_id: str) -> datetime | None:
        """IAM's GetAccessKeyLastUsed LastUsedDate; None when never used. Raise
        ProvisioningError ("NoSuchEntity" when the key no longer exists)."""
        ...

    def deactivate_key(self, request: RequestView, key_id: str) -> bool:
        """Make the key Inactive; False when it no longer exists."""
        ...

    def delete_key(self, request: RequestView, key_id: str) -> bool:
        """Delete the key; False when it no longer existed."""
        ...
