"""Pure Block Kit builders: data in, Slack JSON out. No I/O, tested for Slack's limits.

Limits: <= 50 blocks per message, <= 100 per view, <= 3000 chars per text object.
Every piece of user-supplied text goes through `escape()` first.
"""

from __future__ import annotations

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


# --- reminders and lifecycle (flow 5) --------------------------------------------
