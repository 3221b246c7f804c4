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
from bot.domain.reviews import (
    ReviewChanged,
    ReviewClosed,
    ReviewPosted,
    ReviewReminder,
    ReviewState,
)
from bot.slack.calls import post_message, update_message
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
            ref = post_message(self.client, event.state.review.channel, text, blocks)
            if ref is None:
                break  # the rest is posted by the next sweep
            refs.append(ref)
        return refs

    @notify.register(ReviewChanged)
    def _changed(self, event: ReviewChanged) -> None:
        ref = event.page[0].message if event.page else None
        if ref is not None:
            self._update_page(ref, event.state, event.page)

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
            self._update_page(ref, event.state, tuple(items))

    def _update_page(self, ref: MessageRef, state: ReviewState, items: tuple) -> None:
        """Re-render one posted page in place (without the owners' mentions)."""
        text, blocks = review_message.page(state, items, ())
        update_message(self.client, ref, text, blocks)

    def _reply(self, ref: MessageRef | None, text: str) -> None:
        if ref is not None:
            post_message(self.client, ref.channel, text, thread_ts=ref.ts)
