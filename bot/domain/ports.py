"""The ports the use cases need; adapters (Slack, AWS, clock) implement them.

Services talk to people only through `Notifier` and to AWS only through
`Provisioner`, so they import neither Bolt nor boto3 and are tested with fakes
as well as with the real adapters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bot.domain.requests import MessageRef, RequestView


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
