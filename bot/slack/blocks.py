"""Pure Block Kit builders: data in, Slack JSON out. No I/O, tested for Slack's limits.

Limits: <= 50 blocks per message, <= 100 per view, <= 3000 chars per text object.
Every piece of user-supplied text goes through `escape()` first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.domain.reminders import wait_text
from bot.domain.requests import RequestView
from bot.settings import format_duration

Block = dict[str, Any]

MAX_TEXT = 3000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


def escape(text: str) -> str:
    """Escape mrkdwn control characters so user text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def slack_date(when_epoch: int, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack renders this in each reader's own time zone."""
    return f"<!date^{when_epoch}^{fmt}|{when_epoch}>"


# --- requests and decisions (flows 1-2) ------------------------------------------


# --- provisioning (flow 3) -------------------------------------------------------

PROVISION_RETRY = "provision_retry"
PROVISION_ROLLBACK = "provision_rollback"

_PROVISIONING_STATUS = {
    "approved": ":hourglass_flowing_sand: Approved; creating the IAM user…",
    "provisioning": ":gear: Creating IAM user `{user}`…",
    "provisioned": ":white_check_mark: IAM user `{user}` created; the requester got a link.",
    "revoked": ":wastebasket: IAM user `{user}` was removed (rolled back).",
}


def provisioning_blocks(request: RequestView) -> list[Block]:
    """The provisioning part of the approval message, for the statuses after approval.
    A failed request shows AWS's error and Retry / Roll back buttons (owners only)."""
    user = escape(request.iam_user_name)
    status = request.status.value
    if status == "failed":
        error = escape(request.last_error or "unknown error")
        return [
            mrkdwn(
                f":x: *Creating IAM user `{user}` failed.*\n"
                f"AWS said: ```{truncate(error, MAX_TEXT - 200)}```"
            ),
            {
                "type": "actions",
                "block_id": f"provisioning_{request.id}",
                "elements": [
                    button("Retry", PROVISION_RETRY, str(request.id), style="primary"),
                    {
                        **button("Roll back", PROVISION_ROLLBACK, str(request.id), style="danger"),
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Roll back?"},
                            "text": {
                                "type": "mrkdwn",
                                "text": f"Delete IAM user `{user}` and everything this "
                                "request attached to it.",
                            },
                            "confirm": {"type": "plain_text", "text": "Roll back"},
                            "deny": {"type": "plain_text", "text": "Cancel"},
                        },
                    },
                ],
            },
            context("Only the account owners can retry or roll back."),
        ]
    template = _PROVISIONING_STATUS.get(status)
    return [context(template.format(user=user))] if template else []


def provisioning_failed_text(request: RequestView) -> str:
    """Fallback/notification text for a failed request (owners see it in the thread)."""
    return truncate(
        f"Provisioning of request #{request.id} (IAM user {escape(request.iam_user_name)}) "
        f"failed: {escape(request.last_error or 'unknown error')}. Retry or roll back above."
    )


# --- credentials link (flow 4) ---------------------------------------------------


# --- reminders and lifecycle (flow 5) --------------------------------------------

# Summary rows beyond this are counted, not listed: one message stays well inside
# Slack's limits, and the oldest (most overdue) requests are the ones shown.
MAX_SUMMARY_ROWS = 40


def _who(user_id: str) -> str:
    return f"<@{escape(user_id)}>"


def _request_line(request: RequestView) -> str:
    return (
        f"request #{request.id} from {_who(request.requester_id)} for "
        f"*{escape(request.profile)}* (IAM user `{escape(request.iam_user_name)}`)"
    )


def _sentence(text: str) -> str:
    # str.capitalize() would lowercase the rest, breaking <@U0ABC> mentions.
    return text[:1].upper() + text[1:]


def _since(request: RequestView, now: datetime) -> str:
    created = int(request.created_at.timestamp())
    return f"waiting {wait_text(request.created_at, now)} (since {slack_date(created)})"


def reminder_message(
    request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
) -> tuple[str, list[Block]]:
    """The thread reply nudging the owners who can still decide."""
    who = " ".join(_who(owner) for owner in owners)
    text = f"Reminder: {_request_line(request)} is still {_since(request, now)}."
    if who:
        text += f" {who}: please approve or deny it above."
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
        f"{_sentence(_request_line(request))} is still {_since(request, now)} "
        f"after {reminder_number} reminders. Please approve or deny it in {where}."
    )
    return text, [mrkdwn(f":rotating_light: {text}")]


def pending_summary_message(
    entries: list[tuple[RequestView, str | None]], total: int, now: datetime
) -> tuple[str, list[Block]]:
    """One channel message listing pending requests, oldest first, each linked."""
    title = f"{total} access request{'s' if total != 1 else ''} waiting for a decision"
    lines = []
    for request, permalink in entries[:MAX_SUMMARY_ROWS]:
        label = f"#{request.id}"
        link = f"<{permalink}|{label}>" if permalink else label
        lines.append(
            f"• {link} {_who(request.requester_id)} · *{escape(request.profile)}* · "
            f"{_since(request, now)}"
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
        f"{_sentence(_request_line(request))} expired after "
        f"{format_duration(expired_after)} without a decision."
    )
    blocks = [mrkdwn(f":hourglass: ~{_request_line(request)}~")]
    if request.reason:
        blocks.append(mrkdwn(f"*Reason:* {escape(request.reason)}"))
    blocks.append(
        context(
            f"Expired after {format_duration(expired_after)} without a decision · "
            f"requested {slack_date(int(request.created_at.timestamp()))}"
        )
    )
    return text, blocks


def expired_requester_message(
    request: RequestView, expired_after: timedelta
) -> tuple[str, list[Block]]:
    """The requester's DM: their request expired, and how to ask again."""
    text = (
        f"Your request #{request.id} for *{escape(request.profile)}* access expired after "
        f"{format_duration(expired_after)} without a decision. To ask again, run "
        f"`/request-aws-access {escape(request.profile)}`."
    )
    return text, [mrkdwn(text)]
