"""Pure Block Kit builders: data in, Slack JSON out. No I/O, tested for Slack's limits.

Limits: <= 50 blocks per message, <= 100 per view, <= 3000 chars per text object.
Every piece of user-supplied text goes through `escape()` first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


# --- credentials link (flow 4) ---------------------------------------------------

REISSUE_ACTION = "credentials_reissue"


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def credentials_link_message(
    request_id: int, iam_user_name: str, url: str, expires_at: datetime
) -> tuple[str, list[Block]]:
    """The requester's DM with the one-time link. The fallback `text` (shown in push
    notifications and previews) deliberately leaves the URL out."""
    expires = slack_date(_epoch(expires_at))
    text = f"Your AWS credentials for request #{request_id} are ready (one-time link)"
    blocks = [
        mrkdwn(
            f":key: *Your AWS credentials are ready* (request #{request_id}, "
            f"IAM user `{escape(iam_user_name)}`)."
        ),
        mrkdwn(f"<{url}|Open your one-time credentials link>"),
        context(
            f"The link works *once*: the page shows your password and access key a single "
            f"time and lets you download credentials.csv. It expires {expires}. "
            "Don't forward it; if it expires or gets lost, ask an account owner to re-issue."
        ),
    ]
    return text, blocks


def credentials_opened_text(request_id: int, at: datetime) -> str:
    return (
        f":white_check_mark: The credentials link of request #{request_id} was opened "
        f"{slack_date(_epoch(at))}. It cannot be used again."
    )


def credentials_expired_message(
    request_id: int, requester_id: str, iam_user_name: str
) -> tuple[str, list[Block]]:
    """Approval-thread offer to re-issue credentials whose link expired unopened."""
    text = f"The credentials link of request #{request_id} expired unopened"
    blocks = [
        mrkdwn(
            f":hourglass: The credentials link for <@{escape(requester_id)}> "
            f"(IAM user `{escape(iam_user_name)}`, request #{request_id}) expired unopened; "
            "its ciphertext is deleted."
        ),
        {
            "type": "actions",
            "elements": [
                button("Re-issue credentials", REISSUE_ACTION, str(request_id), "primary")
            ],
        },
        context("Re-issuing sets a new password and a new access key and deletes the old key."),
    ]
    return text, blocks


def credentials_expired_requester_text(request_id: int) -> str:
    return (
        f"Your credentials link for request #{request_id} expired before it was opened. "
        "An account owner can re-issue it."
    )


def credentials_reissued_text(request_id: int, by: str) -> str:
    return (
        f":arrows_counterclockwise: <@{escape(by)}> re-issued the credentials of request "
        f"#{request_id}: new password and access key, old key deleted, new link sent."
    )


# --- reminders and lifecycle (flow 5) --------------------------------------------
