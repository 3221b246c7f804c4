"""What the owners see besides the approval message itself: reminders in its thread and
escalations by DM (flow 5), the pending summary, the closed message of an expired
request, and the credentials notes of flow 4 (link expired unopened, re-issued)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.requests import RequestView
from bot.settings import format_duration
from bot.slack.surfaces.approval_message import REISSUE_ACTION
from bot.slack.surfaces.blockkit import (
    MAX_TEXT,
    Block,
    button,
    context,
    escape,
    mrkdwn,
    request_line,
    sentence,
    slack_date,
    truncate,
    waiting_since,
    who,
)

# Summary rows beyond this are counted, not listed: one message stays well inside
# Slack's limits, and the oldest (most overdue) requests are the ones shown.
MAX_SUMMARY_ROWS = 40


# --- reminders and lifecycle (flow 5) ----------------------------------------------


def reminder_message(
    request: RequestView, owners: Sequence[str], reminder_number: int, now: datetime
) -> tuple[str, list[Block]]:
    """The thread reply nudging the owners who can still decide."""
    mentions = " ".join(who(owner) for owner in owners)
    text = f"Reminder: {request_line(request)} is still {waiting_since(request, now)}."
    if mentions:
        text += f" {mentions}: please approve or deny it above."
    blocks = [mrkdwn(f":alarm_clock: {text}")]
    if request.approvals_required > 1:
        blocks.append(
            context(f"{len(request.approvers)} of {request.approvals_required} approvals so far")
        )
    blocks.append(context(f"Reminder {reminder_number}"))
    return text, blocks


def escalation_message(
    request: RequestView, reminder_number: int, now: datetime, permalink: str | None
) -> tuple[str, list[Block]]:
    """The DM an owner gets once a request has outlasted several reminders."""
    where = f"<{permalink}|the approval message>" if permalink else "the approval channel"
    text = (
        f"{sentence(request_line(request))} is still {waiting_since(request, now)} "
        f"after {reminder_number} reminders. Please approve or deny it in {where}."
    )
    return text, [mrkdwn(f":rotating_light: {text}")]


def pending_summary_message(
    entries: Sequence[tuple[RequestView, str | None]], total: int, now: datetime
) -> tuple[str, list[Block]]:
    """One channel message listing pending requests, oldest first, each linked to its
    approval message when the permalink is known."""
    title = f"{total} access request{'s' if total != 1 else ''} waiting for a decision"
    lines = []
    for request, permalink in entries[:MAX_SUMMARY_ROWS]:
        label = f"#{request.id}"
        link = f"<{permalink}|{label}>" if permalink else label
        lines.append(
            f"• {link} {who(request.requester_id)} · *{escape(request.profile)}* · "
            f"{waiting_since(request, now)}"
        )
    blocks: list[Block] = [mrkdwn(f":hourglass_flowing_sand: *{title}* (oldest first)")]
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_TEXT:
            blocks.append(mrkdwn("\n".join(chunk)))
            chunk = []
        chunk.append(truncate(line))
    if chunk:
        blocks.append(mrkdwn("\n".join(chunk)))
    if total > len(lines):
        blocks.append(context(f"…and {total - len(lines)} more"))
    return title, blocks


def expired_approval_message(
    request: RequestView, expired_after: timedelta
) -> tuple[str, list[Block]]:
    """The approval message once the request expired: what it was, no buttons."""
    text = (
        f"{sentence(request_line(request))} expired after "
        f"{format_duration(expired_after)} without a decision."
    )
    blocks = [mrkdwn(f":hourglass: ~{request_line(request)}~")]
    if request.reason:
        blocks.append(mrkdwn(f"*Reason:* {escape(request.reason)}"))
    blocks.append(
        context(
            f"Expired after {format_duration(expired_after)} without a decision · "
            f"requested {slack_date(request.created_at)}"
        )
    )
    return text, blocks


# --- credentials (flow 4) ----------------------------------------------------------


def link_expired_message(request: RequestView) -> tuple[str, list[Block]]:
    """The approval-thread offer to re-issue credentials whose link expired unopened."""
    text = f"The credentials link of request #{request.id} expired unopened"
    blocks = [
        mrkdwn(
            f":hourglass: The credentials link for {who(request.requester_id)} "
            f"(IAM user `{escape(request.iam_user_name)}`, request #{request.id}) expired "
            "unopened; its ciphertext is deleted."
        ),
        {
            "type": "actions",
            "elements": [
                button("Re-issue credentials", REISSUE_ACTION, str(request.id), "primary")
            ],
        },
        context("Re-issuing sets a new password and a new access key and deletes the old key."),
    ]
    return text, blocks


def reissued_text(request: RequestView, by: str) -> str:
    """The approval-thread note that an owner re-issued the credentials."""
    return (
        f":arrows_counterclockwise: {who(by)} re-issued the credentials of request "
        f"#{request.id}: new password and access key, old key deleted, new link sent."
    )
