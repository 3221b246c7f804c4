"""The Slack side of the ReviewNotifier port (bot/domain/reviews.py): access reviews are
posted to the account's approval channel, updated in place after each decision, and
reminded about (and closed) in the first message's thread.

Nothing here must be delivered through the outbox: a review whose post Slack refused
keeps its grants unposted and the next review sweep posts them again; a lost reminder
is followed by the next one.
"""

from __future__ import annotations

import logging
from functools import singledispatchmethod

from slack_sdk import WebClient

from bot.domain.requests import MessageRef
from bot.domain.reviews import ReviewChanged, ReviewClosed, ReviewPosted, ReviewReminder
from bot.slack.calls import slack_call
from bot.slack.surfaces import review_message

log = logging.getLogger(__name__)


class SlackReviewNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    @singledispatchmethod
    def notify(self, event: object) -> list[MessageRef] | None:
        log.error("no Slack rendering for review event %s", type(event).__name__)
        return None

    @notify.register(ReviewPosted)
    def _posted(self, event: ReviewPosted) -> list[MessageRef] | None:
        refs: list[MessageRef] = []
        for items in event.pages:
            text, blocks = review_message.page(event.state, items, event.owners)
            response = slack_call(
                "chat.postMessage",
                self.client.chat_postMessage,
                channel=event.state.review.channel,
                text=text,
                blocks=blocks,
            )
            if not response:
                break  # the rest is posted by the next sweep
            refs.append(MessageRef(response["channel"], response["ts"]))
        return refs

    @notify.register(ReviewChanged)
    def _changed(self, event: ReviewChanged) -> None:
        ref = event.page[0].message if event.page else None
        if ref is None:
            return None
        owners: tuple[str, ...] = ()
        text, blocks = review_message.page(event.state, event.page, owners)
        slack_call(
            "chat.update",
            self.client.chat_update,
            channel=ref.channel,
            ts=ref.ts,
            text=text,
            blocks=blocks,
        )
        return None

    @notify.register(ReviewReminder)
    def _reminder(self, event: ReviewReminder) -> None:
        self._reply(
            event.state.review.message,
            review_message.reminder(event.state, event.owners, event.number),
        )

    @notify.register(ReviewClosed)
    def _closed(self, event: ReviewClosed) -> None:
        self._reply(
            event.state.review.message, review_message.closed(event.state, event.unreviewed)
        )
        # The pages lose their buttons: what was left undecided shows as such.
        pages: dict[MessageRef, list] = {}
        for item in event.state.items:
            if item.message is not None:
                pages.setdefault(item.message, []).append(item)
        for ref, items in pages.items():
            text, blocks = review_message.page(event.state, tuple(items), ())
            slack_call(
                "chat.update",
                self.client.chat_update,
                channel=ref.channel,
                ts=ref.ts,
                text=text,
                blocks=blocks,
            )

    def _reply(self, ref: MessageRef | None, text: str) -> None:
        if ref is None:
            return
        slack_call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=ref.channel,
            thread_ts=ref.ts,
            text=text,
        )
