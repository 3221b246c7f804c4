"""Read-only views of requests for the terminal and Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.config import DEFAULT_ACCOUNT
from bot.domain.reminders import wait_text
from bot.domain.states import Status
from bot.domain.storage import DeliveryStore, RequestStore


@dataclass(frozen=True)
class RequestRow:
    id: int
    status: str
    requester_id: str
    profile: str
    iam_user_name: str
    created_at: datetime
    # Messages Slack has not accepted yet, or never did: "credentials (given_up)", ...
    undelivered: tuple[str, ...] = ()
    # The AWS account the request is for (flow 7).
    account: str = DEFAULT_ACCOUNT


def list_requests(
    store: RequestStore,
    *,
    status: Status | None = None,
    limit: int | None = None,
    deliveries: DeliveryStore | None = None,
) -> list[RequestRow]:
    views = store.list(statuses=[status] if status else None, limit=limit)
    undelivered = deliveries.undelivered_kinds([v.id for v in views]) if deliveries else {}
    return [
        RequestRow(
            v.id,
            v.status.value,
            v.requester_id,
            v.profile,
            v.iam_user_name,
            v.created_at,
            tuple(undelivered.get(v.id, ())),
            v.account,
        )
        for v in views
    ]


def render_table(rows: Sequence[RequestRow], now: datetime) -> str:
    """A plain-text table for `aws-access-bot requests`; an UNDELIVERED column when a
    listed request has messages Slack has not accepted (docs/architecture.md,
    "Deliveries (outbox)")."""
    if not rows:
        return "no requests"
    header: tuple[str, ...] = (
        "#",
        "STATUS",
        "REQUESTER",
        "PROFILE",
        "IAM USER",
        "CREATED (UTC)",
        "AGE",
    )
    body: list[tuple[str, ...]] = [
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
    if any(r.account != DEFAULT_ACCOUNT for r in rows):  # [[accounts]]: say which one
        header = (*header[:3], "ACCOUNT", *header[3:])
        body = [(*row[:3], r.account, *row[3:]) for row, r in zip(body, rows, strict=True)]
    if any(r.undelivered for r in rows):
        header += ("UNDELIVERED",)
        body = [row + (", ".join(r.undelivered),) for row, r in zip(body, rows, strict=True)]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    ]
    return "\n".join(lines)
