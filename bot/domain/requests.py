"""A read-only snapshot of a request, handed from services to the Notifier and builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.states import Status


@dataclass(frozen=True)
class RequestView:
    id: int
    requester_id: str
    profile: str
    iam_user_name: str
    console: bool
    programmatic: bool
    reason: str
    status: Status
    created_at: datetime
    approvers: tuple[str, ...] = ()
    approvals_required: int = 1
    groups: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    decided_at: datetime | None = None
    decided_by: str | None = None
    deny_reason: str | None = None
    last_error: str | None = None
    reminder_count: int = 0
    approval_channel: str | None = None
    approval_ts: str | None = None
    requester_dm_channel: str | None = None
    requester_dm_ts: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """Where a Slack message lives, so it can be updated or replied to."""

    channel: str
    ts: str
