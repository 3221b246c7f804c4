"""Pure Block Kit builders: data in, Slack JSON out. No I/O, tested for Slack's limits.

Limits: <= 50 blocks per message, <= 100 per view, <= 3000 chars per text object.
Every piece of user-supplied text goes through `escape()` first.
"""

from __future__ import annotations

from typing import Any

from bot.domain.requests import RequestView

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
