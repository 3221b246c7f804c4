"""Block Kit and mrkdwn helpers shared by every surface, and how a request is described.

Slack's limits: <= 50 blocks per message, <= 100 per view, <= 3000 characters per text
object, <= 2000 per section field. Every piece of user-supplied text goes through
`escape()` (or `escape_within()`) first, so nobody can mention or link through it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.domain.reminders import wait_text
from bot.domain.requests import RequestView

Block = dict[str, Any]

MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


def escape(text: str) -> str:
    """Escape mrkdwn control characters so user text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_within(text: str, limit: int) -> str:
    """Escape user text and cut it to `limit` characters without splitting an entity."""
    out: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def sentence(text: str) -> str:
    """Upper-case the first letter only: str.capitalize() would lower-case <@U0ABC>."""
    return text[:1].upper() + text[1:]


def metadata_of(private_metadata: str | None) -> dict[str, Any]:
    """A view's private_metadata as the JSON object we put there ({} for anything else:
    empty, not JSON, or not an object)."""
    try:
        metadata = json.loads(private_metadata or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    *,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirmation(title: str, text: str, yes: str) -> dict[str, Any]:
    """The "are you sure?" dialog of a destructive button."""
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": yes},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def slack_date(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack renders this in each reader's own time zone."""
    seconds = epoch(when)
    return f"<!date^{seconds}^{fmt}|{seconds}>"


def who(user_id: str) -> str:
    return f"<@{escape(user_id)}>"


# --- describing a request ---------------------------------------------------------

STATUS_LABELS = {
    "pending": ":hourglass_flowing_sand: pending",
    "approved": ":white_check_mark: approved",
    "provisioning": ":gear: provisioning",
    "provisioned": ":white_check_mark: provisioned",
    "denied": ":no_entry: denied",
    "cancelled": ":heavy_multiplication_x: cancelled",
    "expired": ":hourglass: expired",
    "failed": ":warning: failed",
    "revoking": ":wastebasket: revoking",
    "revoked": ":lock: revoked",
    "extended": ":calendar: extended",
}


def status_label(request: RequestView) -> str:
    return STATUS_LABELS.get(request.status.value, request.status.value)


def access_kinds(request: RequestView) -> str:
    kinds = [
        k for k, on in (("console", request.console), ("programmatic", request.programmatic)) if on
    ]
    return " + ".join(kinds) or "none"


def approvals_line(request: RequestView) -> str:
    line = f"{len(request.approvers)} of {request.approvals_required} approvals"
    if request.approvers:
        line += ": " + ", ".join(who(a) for a in request.approvers)
    return line


def request_line(request: RequestView) -> str:
    """ "request #7 from @alice for *developer* (IAM user `alice`)"."""
    return (
        f"request #{request.id} from {who(request.requester_id)} for "
        f"*{escape(request.profile)}* (IAM user `{escape(request.iam_user_name)}`)"
    )


def waiting_since(request: RequestView, now: datetime) -> str:
    return f"waiting {wait_text(request.created_at, now)} (since {slack_date(request.created_at)})"
