"""Read-only views of requests for the terminal and Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.reminders import wait_text
from bot.domain.states import Status
from bot.store.models import AccessRequest
from bot.store.repository import Repository


@dataclass(frozen=True)
class RequestRow:
    id: int
    status: str
    requester_id: str
    profile: str
    iam_user_name: str
    created_at: datetime


def list_requests(
    sessions: sessionmaker[Session],
    *,
    status: Status | None = None,
    limit: int | None = None,
) -> list[RequestRow]:
    with sessions() as session:
        rows: Sequence[AccessRequest] = Repository(session).list_requests(
            statuses=[status] if status else None, limit=limit
        )
        return [
            RequestRow(r.id, r.status, r.requester_id, r.profile, r.iam_user_name, r.created_at)
            for r in rows
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
