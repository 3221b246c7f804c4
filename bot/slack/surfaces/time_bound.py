"""Time-bound access and Slack deactivation (flow 6): the requester's expiry warning with
**Request extension**, the owners' **Extend** button and the line saying when a grant
ends, what an extension did, and the owners' note about a deactivated member
(`on_deactivation = "notify"`). Pure builders of domain values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.time_bound import describe, format_duration
from bot.slack.surfaces.blockkit import (
    Block,
    button,
    confirmation,
    context,
    escape,
    mrkdwn,
    slack_date,
    truncate,
    who,
)

REQUEST_EXTENSION_ACTION = "request_extension"
EXTEND_ACTION = "extend_access"


def ends_line(request: RequestView) -> str | None:
    """ "Access ends <date>" for a provisioned time-bound grant (None otherwise)."""
    if request.status is not Status.PROVISIONED or request.access_expires_at is None:
        return None
    return f":calendar: Access ends {slack_date(request.access_expires_at)}."


def extension_line(request: RequestView) -> str | None:
    """On an extension request's message: which grant it extends, and once applied."""
    if request.extends_request_id is None:
        return None
    if request.status is Status.EXTENDED:
        return f":calendar: Applied: request #{request.extends_request_id} was extended."
    return f":calendar: Asks to extend request #{request.extends_request_id}."


def extend_button(request: RequestView) -> dict[str, Any] | None:
    """Owners' Extend on a provisioned time-bound grant: a full max_duration from now."""
    if (
        request.status is not Status.PROVISIONED
        or request.access_expires_at is None
        or request.max_duration is None
    ):
        return None
    length = format_duration(request.max_duration)
    return button(
        "Extend",
        EXTEND_ACTION,
        str(request.id),
        confirm=confirmation(
            "Extend access?",
            f"Access of `{escape(request.iam_user_name)}` will end {length} from now "
            "(never earlier than it does now).",
            "Extend",
        ),
    )


def warning_message(request: RequestView, now: datetime) -> tuple[str, list[Block]]:
    """The requester's DM before the end, with Request extension."""
    end = request.access_expires_at or now
    left = describe(end - now)
    text = (
        f"Your AWS access (request #{request.id}, IAM user {request.iam_user_name}) ends in "
        f"about {left}."
    )
    blocks: list[Block] = [
        mrkdwn(
            f":hourglass: Your AWS access from request #{request.id} (profile "
            f"*{escape(request.profile)}*, IAM user `{escape(request.iam_user_name)}`) ends "
            f"{slack_date(end)}, in about {left}. Then it is revoked."
        ),
        {
            "type": "actions",
            "block_id": f"expiry_{request.id}",
            "elements": [
                button("Request extension", REQUEST_EXTENSION_ACTION, str(request.id), "primary")
            ],
        },
        context("An extension is a new request: the account owners approve it like any other."),
    ]
    return truncate(text), blocks


def extended_text(request: RequestView, by: str, extension_id: int | None) -> str:
    """Requester and owners: the grant's new end, and who extended it."""
    end = request.access_expires_at
    when = slack_date(end) if end is not None else "later"
    how = (
        f"request #{extension_id} (approved by {who_list(by)})"
        if extension_id is not None
        else who_list(by)
    )
    return truncate(
        f":calendar: Access of request #{request.id} (IAM user "
        f"`{escape(request.iam_user_name)}`) was extended by {how}: it now ends {when}."
    )


def who_list(actors: str) -> str:
    names = [a.strip() for a in actors.split(",") if a.strip()]
    return ", ".join(who(a) if a[:1] in "UW" else escape(a) for a in names) or "the bot"


def deactivation_message(member: str, grants: Sequence[RequestView]) -> tuple[str, list[Block]]:
    """The owners' note when `on_deactivation = "notify"`: nothing was revoked."""
    lines = [
        f"• request #{g.id}: *{escape(g.profile)}*, IAM user `{escape(g.iam_user_name)}`"
        for g in grants[:20]
    ]
    more = f"\n…and {len(grants) - 20} more" if len(grants) > 20 else ""
    text = (
        f"{who(member)} was deactivated in Slack and still holds AWS access "
        f"({len(grants)} grant{'s' if len(grants) != 1 else ''}); nothing was revoked."
    )
    blocks: list[Block] = [
        mrkdwn(f":bust_in_silhouette: {text}"),
        mrkdwn("\n".join(lines) + more),
        context(
            '`[offboarding] on_deactivation = "notify"`: revoke with the Revoke button, '
            "`/revoke-aws-access` or `aws-access-bot revoke`."
        ),
    ]
    return truncate(text), blocks


def duration_field(request: RequestView) -> dict[str, Any] | None:
    """The approval message's "Duration" field of a time-bound request."""
    duration = request.access_duration or request.max_duration
    if duration is None:
        return None
    return {"type": "mrkdwn", "text": f"*Duration*\n{format_duration(duration)}"}
