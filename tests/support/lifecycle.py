"""Helpers for the reminder/expiry tests: a recording Notifier and request seeding."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.requests import MessageRef, RequestView
from bot.domain.states import Status
from bot.settings import BotConfig, parse_config
from bot.store.repository import Repository

LIFECYCLE_CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1", "U0OWNER2", "U0OWNER3"]

[reminders]
every = "4h"
remind_after = "1h"
expire_after = "7d"

[[profiles]]
name = "developer"
description = "Read/write on dev resources"
groups = ["developers"]
console = true
programmatic = true
approvals_required = 1

[[profiles]]
name = "prod"
description = "Production, two owners must agree"
groups = ["prod"]
console = true
programmatic = false
approvals_required = 2
"""


def lifecycle_config(**reminders: str) -> BotConfig:
    doc = tomllib.loads(LIFECYCLE_CONFIG)
    doc["reminders"].update(reminders)
    return parse_config(doc, "test")


@dataclass
class Sent:
    method: str
    request_id: int | None
    args: tuple[Any, ...]


class RecordingNotifier:
    """Implements the Notifier port by recording what it was asked to tell whom."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def _record(self, method: str, request: RequestView | None, *args: Any) -> None:
        self.sent.append(Sent(method, request.id if request else None, args))

    def of(self, method: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method]

    def ids(self, method: str) -> list[int | None]:
        return [s.request_id for s in self.of(method)]

    def request_submitted(self, request: RequestView) -> MessageRef | None:
        self._record("request_submitted", request)
        return None

    def request_updated(self, request: RequestView) -> None:
        self._record("request_updated", request, request.status)

    def tell_requester(self, request: RequestView, text: str) -> None:
        self._record("tell_requester", request, text)

    def credentials_ready(self, request: RequestView, link: Any) -> MessageRef | None:
        self._record("credentials_ready", request)
        return None

    def remind(self, request, owners, reminder_number, now) -> MessageRef | None:  # noqa: ANN001
        self._record("remind", request, owners, reminder_number, now)
        return MessageRef("C0APPROVALS", f"{request.id}.1")

    def escalate(self, request, owners, reminder_number, now) -> None:  # noqa: ANN001
        self._record("escalate", request, owners, reminder_number, now)

    def pending_summary(self, requests, total, now) -> MessageRef | None:  # noqa: ANN001
        self.sent.append(Sent("pending_summary", None, ([r.id for r in requests], total, now)))
        return MessageRef("C0APPROVALS", "9.1")

    def request_expired(self, request, expired_after) -> None:  # noqa: ANN001
        self._record("request_expired", request, request.status, expired_after)


def seed_request(
    sessions: sessionmaker[Session],
    *,
    created_at: datetime,
    requester_id: str = "U0ALICE",
    profile: str = "developer",
    iam_user_name: str = "alice",
    reason: str = "debug the billing job",
    posted: bool = True,
) -> int:
    """A pending request whose approval message was posted (as the Slack flow would)."""
    with sessions.begin() as session:
        repo = Repository(session)
        row = repo.add_request(
            requester_id=requester_id,
            profile=profile,
            iam_user_name=iam_user_name,
            console=True,
            programmatic=False,
            reason=reason,
            now=created_at,
        )
        if posted:
            repo.set_fields(
                row.id, approval_channel="C0APPROVALS", approval_ts=f"1700000{row.id:03d}.000100"
            )
        return row.id


def decide(
    sessions: sessionmaker[Session], request_id: int, new: Status, by: str, now: datetime
) -> bool:
    with sessions.begin() as session:
        return Repository(session).transition(
            request_id, Status.PENDING, new, now=now, decided_at=now, decided_by=by
        )


def approve_once(
    sessions: sessionmaker[Session], request_id: int, owner: str, now: datetime
) -> None:
    """One of several required approvals (the request stays pending)."""
    with sessions.begin() as session:
        Repository(session).add_approval(request_id, owner, now=now)
