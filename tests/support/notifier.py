"""The one recording Notifier of the test suite: it keeps every event it is told.

Services tell the Notifier port what happened (bot/domain/events.py); tests assert on
the events. It answers like Slack would where the service needs an answer: a message
ref for the approval post and for the credentials DM (None when `deliver` is False,
as when Slack refused the call).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TypeVar

from bot.domain.events import CredentialsIssued, Event, RequestSubmitted
from bot.domain.requests import MessageRef

E = TypeVar("E")


@dataclass
class RecordingNotifier:
    deliver: bool = True
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def notify(self, event: Event) -> MessageRef | None:
        with self._lock:
            self.events.append(event)
        if not self.deliver:
            return None
        if isinstance(event, RequestSubmitted):
            return MessageRef("C0APPROVALS", f"1{event.request.id}.000100")
        if isinstance(event, CredentialsIssued):
            return MessageRef("D0REQUESTER", f"2{event.request.id}.000200")
        return None

    def of(self, kind: type[E]) -> list[E]:
        """The events of one type, in the order they were told."""
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]

    def kinds(self) -> list[str]:
        with self._lock:
            return [type(e).__name__ for e in self.events]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
