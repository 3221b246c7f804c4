"""The sandbox note (`aws-access-bot run --sandbox`): every message and view says so,
so nobody mistakes a sandbox user for real access. Applied by bot/slack/sandbox.py to
whatever the bot sends; idempotent, so marking twice shows one note."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.surfaces.blockkit import MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS, Block

SANDBOX_NOTE = "🧪 sandbox — no real AWS account is touched"
SANDBOX_PREFIX = "🧪 [sandbox] "
SANDBOX_BLOCK_ID = "sandbox_note"


def sandbox_text(text: str) -> str:
    """A message's text (what notifications and text-only messages show), marked."""
    return text if text.startswith(SANDBOX_PREFIX) else SANDBOX_PREFIX + text


def sandbox_note_block() -> Block:
    return {
        "type": "context",
        "block_id": SANDBOX_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": SANDBOX_NOTE}],
    }


def sandbox_blocks(blocks: Sequence[Any] | None, limit: int = MAX_MESSAGE_BLOCKS) -> list | None:
    """`blocks` with the sandbox note on top, within Slack's block limit (the last block
    gives way when full). None stays None: the marked text is what Slack shows then."""
    if blocks is None:
        return None
    plain_blocks = [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]
    if any(b.get("block_id") == SANDBOX_BLOCK_ID for b in plain_blocks):
        return plain_blocks
    return [sandbox_note_block(), *plain_blocks][:limit]


def sandbox_view(view: dict[str, Any]) -> dict[str, Any]:
    """A modal or App Home view with the sandbox note as its first block."""
    return {**view, "blocks": sandbox_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS)}
