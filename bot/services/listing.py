"""Read-only views of requests for the terminal and Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.reminders import wait_text
from bot.domain.states import Status
from bot.domain.storage import RequestStore


@dataclass(frozen=True)
class RequestRow:
    id: int
    status: str
    requester_id: str
    profile: str
    iam_user_name: str
    created_at: datetime


def list_requests(
    store: RequestStore, *, status: Status | None = None, limit: int | None = None
) -> list[RequestRow]:
    views = store.list(statuses=[status] if status else None, limit=limit)
    return [
        RequestRow(v.id, v.status.value, v.requester_id, v.profile, v.iam_user_name, v.created_at)
        for v in views
    ]


def render_table(rows: Sequence[RequestRow], now: datetime) -> str:
    """A plain-text table for `aws-access-bot requests`."""
    if not rows:
        return "no requests"
    header = ("#", "STATUS", "REQUESTER", "PROFILE", "IAM USER", "CREATED (UTC)", "AGE")
    body = [
        (
            str(r.id),
            r.status,
            r.requester_id,
            r.profile,
            r.iam_user_name,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            wait_text(r.created_at, now),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    ]
    return "\n".join(lines)
