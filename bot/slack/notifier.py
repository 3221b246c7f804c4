"""The Slack side of the Notifier port: posts, DMs, in-place updates.

A delivery failure is logged with context and swallowed: the stored request is the
source of truth and must never be lost or corrupted because Slack said no. Rate limits
and connection errors are retried by the WebClient's retry handlers (container.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.credentials import IssuedLink
from bot.domain.requests import MessageRef, RequestView
from bot.settings import BotConfig
from bot.slack import blocks as blocks_mod

log = logging.getLogger(__name__)


class SlackNotifier:
    def __init__(self, client: WebClient, config: BotConfig, *, sandbox: bool = False) -> None:
        self.client = client
        self.config = config
        self.sandbox = sandbox

    # --- primitives ----------------------------------------------------------

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any | None:
        try:
            return fn(**kwargs)
        except SlackApiError as exc:
            log.warning(
                "slack %s failed: %s",
                what,
                exc.response.get("error", "unknown error"),
                extra={"slack_method": what, "channel": kwargs.get("channel")},
            )
        except OSError as exc:  # network trouble after the client's own retries
            log.warning(
                "slack %s failed: %s",
                what,
                type(exc).__name__,
                extra={"slack_method": what, "channel": kwargs.get("channel")},
            )
        return None

    def post(
        self, channel: str, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        response = self._call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=channel,
            text=self._mark(text),
            blocks=blocks,
            **kw,
        )
        return MessageRef(response["channel"], response["ts"]) if response else None

    def dm(
        self, user_id: str, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        opened = self._call("conversations.open", self.client.conversations_open, users=user_id)
        if not opened:
            return None
        return self.post(opened["channel"]["id"], text, blocks, **kw)

    def update(self, ref: MessageRef, text: str, blocks: list | None = None) -> bool:
        response = self._call(
            "chat.update",
            self.client.chat_update,
            channel=ref.channel,
            ts=ref.ts,
            text=self._mark(text),
            blocks=blocks,
        )
        return response is not None

    def reply(
        self, ref: MessageRef, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        return self.post(ref.channel, text, blocks, thread_ts=ref.ts, **kw)

    def ephemeral(self, channel: str, user_id: str, text: str) -> None:
        self._call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral,
            channel=channel,
            user=user_id,
            text=self._mark(text),
        )

    def _mark(self, text: str) -> str:
        # Sandbox mode: every message says so, so nobody mistakes it for real access.
        return f"[sandbox] {text}" if self.sandbox else text

    # --- requests and decisions (flows 1-2) ----------------------------------

    # --- provisioning (flow 3) -----------------------------------------------

    # --- credentials link (flow 4) -------------------------------------------

    def credentials_ready(self, request: RequestView, link: IssuedLink) -> MessageRef | None:
        # The URL carries the decryption key: it goes into this DM and nowhere else
        # (no log line below mentions it, and Slack must not unfurl it).
        text, blocks = blocks_mod.credentials_link_message(
            request.id, request.iam_user_name, link.url, link.expires_at
        )
        return self.dm(request.requester_id, text, blocks, unfurl_links=False, unfurl_media=False)

    def credentials_opened(self, request: RequestView, at: datetime) -> None:
        text = blocks_mod.credentials_opened_text(request.id, at)
        if request.requester_dm_channel and request.requester_dm_ts:
            dm_thread = MessageRef(request.requester_dm_channel, request.requester_dm_ts)
            self.reply(dm_thread, text, unfurl_links=False)
        else:
            self.dm(request.requester_id, text, unfurl_links=False)
        if request.approval_channel and request.approval_ts:
            approval = MessageRef(request.approval_channel, request.approval_ts)
            self.reply(approval, text, unfurl_links=False)

    def credentials_expired(self, request: RequestView) -> None:
        text, blocks = blocks_mod.credentials_expired_message(
            request.id, request.requester_id, request.iam_user_name
        )
        if request.approval_channel and request.approval_ts:
            self.reply(MessageRef(request.approval_channel, request.approval_ts), text, blocks)
        else:
            self.post(self.config.slack.approval_channel, text, blocks)
        self.dm(request.requester_id, blocks_mod.credentials_expired_requester_text(request.id))

    def credentials_reissued(self, request: RequestView, by: str) -> None:
        text = blocks_mod.credentials_reissued_text(request.id, by)
        if request.approval_channel and request.approval_ts:
            self.reply(MessageRef(request.approval_channel, request.approval_ts), text)
        else:
            self.post(self.config.slack.approval_channel, text)

    # --- reminders and lifecycle (flow 5) ------------------------------------
