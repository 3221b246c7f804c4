"""Keep / Revoke on an access review's grant (bot/services/reviews.py). The use case
decides who may (the account's owners) and records the decision with a compare-and-set;
the message is updated in place, and anything else is said to the clicker alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.slack.listeners import Body, on_action
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces.review_message import KEEP_ACTION, REVOKE_ACTION, item_id_of

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck

NOT_A_REVIEW = "That button does not belong to an access review."


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    reviews = services.reviews
    assert reviews is not None  # register_all only registers these where it exists

    def decide(body: Body, client: WebClient, *, keep: bool) -> None:
        item_id = item_id_of(body)
        if item_id is None:
            tell_actor(client, services, body, NOT_A_REVIEW)
            return
        actor = body["user"]["id"]
        answer = reviews.keep(item_id, actor) if keep else reviews.revoke(item_id, actor)
        if not answer.changed:
            tell_actor(client, services, body, answer.message)

    def keep_grant(body: Body, client: WebClient) -> None:
        decide(body, client, keep=True)

    def revoke_grant(body: Body, client: WebClient) -> None:
        decide(body, client, keep=False)

    on_action(app, after_ack, KEEP_ACTION, keep_grant)
    on_action(app, after_ack, REVOKE_ACTION, revoke_grant)
