"""The Slack side of the Notifier port: posts, DMs, in-place updates.

A delivery failure is logged with context and swallowed: the stored request is the
source of truth and must never be lost or corrupted because Slack said no. Rate limits
and connection errors are retried by the WebClient's retry handlers (container.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.domain.credentials import IssuedLink
from bot.domain.requests import MessageRef, RequestView
from bot.settings import BotConfig
from bot.slack import blocks as blocks_mod
from bot.slack.blocks import (
    approval_message,
    escalation_message,
    expired_approval_message,
    expired_requester_message,
    pending_summary_message,
    provisioning_failed_text,
    reminder_message,
    submitted_dm,
)
from bot.slack.calls import slack_call

log = logging.getLogger(__name__)


class SlackNotifier:
    def __init__(self, client: WebClient, config: BotConfig) -> None:
        self.client = client
        self.config = config
        # A user's DM channel id never changes: open it once, not before every DM.
        self._dm_channels: dict[str, str] = {}

    # --- primitives ----------------------------------------------------------

    def post(
        self, channel: str, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        response = slack_call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            **kw,
        )
        return MessageRef(response["channel"], response["ts"]) if response else None

    def dm(
        self, user_id: str, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            opened = slack_call("conversations.open", self.client.conversations_open, users=user_id)
            if not opened:
                return None
            channel = self._dm_channels.setdefault(user_id, opened["channel"]["id"])
        return self.post(channel, text, blocks, **kw)

    def update(self, ref: MessageRef, text: str, blocks: list | None = None) -> bool:
        response = slack_call(
            "chat.update",
            self.client.chat_update,
            channel=ref.channel,
            ts=ref.ts,
            text=text,
            blocks=blocks,
        )
        return response is not None

    def reply(
        self, ref: MessageRef, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        return self.post(ref.channel, text, blocks, thread_ts=ref.ts, **kw)

    # --- requests and decisions (flows 1-2) ----------------------------------

    def request_submitted(self, request: RequestView) -> MessageRef | None:
        text, blocks = approval_message(request)
        ref = self.post(self.config.slack.approval_channel, text, blocks)
        self.dm(request.requester_id, submitted_dm(request))
        return ref

    def request_updated(self, request: RequestView) -> None:
        if not (request.approval_channel and request.approval_ts):
            log.info("request #%s has no approval message to update", request.id)
            return
        text, blocks = approval_message(request)
        self.update(MessageRef(request.approval_channel, request.approval_ts), text, blocks)

    def tell_requester(self, request: RequestView, text: str) -> None:
        self.dm(request.requester_id, text)

    # --- provisioning (flow 3) -----------------------------------------------

    def provisioning_failed(self, request: RequestView) -> MessageRef | None:
        """Reply in the approval thread so owners are notified (an in-place update of
        the approval message notifies nobody); the message itself carries the buttons."""
        if not (request.approval_channel and request.approval_ts):
            return None
        return self.reply(
            MessageRef(request.approval_channel, request.approval_ts),
            provisioning_failed_text(request),
        )

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

    def remind(
        self, request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
    ) -> MessageRef | None:
        text, blocks = reminder_message(request, owners, reminder_number, now)
        approval = self._approval_ref(request)
        if approval is None:  # the approval message was never posted: remind in the channel
            return self.post(self.config.slack.approval_channel, text, blocks)
        return self.reply(approval, text, blocks)

    def escalate(
        self, request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
    ) -> None:
        approval = self._approval_ref(request)
        permalink = self._permalink(approval) if approval else None
        text, blocks = escalation_message(request, reminder_number, now, permalink)
        for owner in owners:
            self.dm(owner, text, blocks, unfurl_links=False, unfurl_media=False)

    def pending_summary(
        self, requests: list[RequestView], total: int, now: datetime
    ) -> MessageRef | None:
        entries = [
            (request, self._permalink(ref) if (ref := self._approval_ref(request)) else None)
            for request in requests
        ]
        text, blocks = pending_summary_message(entries, total, now)
        return self.post(
            self.config.slack.approval_channel,
            text,
            blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    def request_expired(self, request: RequestView, expired_after: timedelta) -> None:
        approval = self._approval_ref(request)
        if approval is not None:
            self.update(approval, *expired_approval_message(request, expired_after))
        self.dm(request.requester_id, *expired_requester_message(request, expired_after))

    @staticmethod
    def _approval_ref(request: RequestView) -> MessageRef | None:
        if request.approval_channel and request.approval_ts:
            return MessageRef(request.approval_channel, request.approval_ts)
        return None

    def _permalink(self, ref: MessageRef) -> str | None:
        response = slack_call(
            "chat.getPermalink",
            self.client.chat_getPermalink,
            channel=ref.channel,
            message_ts=ref.ts,
        )
        return response.get("permalink") if response else None
