"""Small fakes that implement the ports for real (no MagicMock): they record what the
services hand them so tests can assert on it."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.credentials import Credentials, IssuedLink
from bot.domain.requests import MessageRef, RequestView
from bot.store.models import CredentialLink


class MemorySink:
    """CredentialSink stand-in until the vault lands: keeps credentials in memory and
    stores a link row (no secret in it) inside the caller's transaction."""

    def __init__(self, ttl: timedelta = timedelta(hours=24), *, fail: bool = False) -> None:
        self.ttl = ttl
        self.fail = fail
        self.sealed: dict[int, list[Credentials]] = {}

    def seal(
        self, session: Session, request_id: int, credentials: Credentials, now: datetime
    ) -> IssuedLink:
        link_id = secrets.token_urlsafe(16)
        session.add(
            CredentialLink(
                id=link_id,
                request_id=request_id,
                ciphertext=b"sealed",
                nonce=b"n",
                created_at=now,
                expires_at=now + self.ttl,
            )
        )
        session.flush()
        if self.fail:
            raise RuntimeError("vault unavailable")
        self.sealed.setdefault(request_id, []).append(credentials)
        return IssuedLink(link_id, f"http://bot.test/credentials/{link_id}#k", now + self.ttl)


@dataclass
class RecordingNotifier:
    """Notifier that records (method, request view, extra) tuples."""

    calls: list[tuple[str, RequestView, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _add(self, method: str, request: RequestView, extra: Any = None) -> None:
        with self._lock:
            self.calls.append((method, request, extra))

    def request_submitted(self, request: RequestView) -> MessageRef | None:
        self._add("request_submitted", request)
        return MessageRef("C0APPROVALS", "1.1")

    def request_updated(self, request: RequestView) -> None:
        self._add("request_updated", request)

    def tell_requester(self, request: RequestView, text: str) -> None:
        self._add("tell_requester", request, text)

    def provisioning_failed(self, request: RequestView) -> MessageRef | None:
        self._add("provisioning_failed", request)
        return None

    def credentials_ready(self, request: RequestView, link: IssuedLink) -> MessageRef | None:
        self._add("credentials_ready", request, link)
        return MessageRef("D0REQ", "2.2")

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.calls]
