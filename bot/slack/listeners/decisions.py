"""Approve / Deny (in the channel or on App Home), the deny-reason modal, Cancel (flow 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.slack.calls import slack_call
from bot.slack.listeners import Body, on_button, on_view
from bot.slack.listeners.replies import origin_of, publish_home, tell
from bot.slack.surfaces.app_home import CANCEL_ACTION
from bot.slack.surfaces.approval_message import (
    APPROVE_ACTION,
    DENY_ACTION,
    DENY_CALLBACK,
    Origin,
    deny_modal,
    parse_deny,
)

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.services.decide import DecisionResult
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    decisions = services.decisions

    def answer(client: WebClient, user_id: str, origin: Origin, result: DecisionResult) -> None:
        if origin.home:
            # Home shows the outcome itself: refresh it, with the sentence on top.
            publish_home(client, services, user_id, notice=result.message)
        elif not result.changed:
            # In the channel a change shows in the updated message; anything else is
            # said to the clicker alone.
            tell(client, services, user_id, origin, result.message)

    def approve(request_id: int, body: Body, client: WebClient) -> None:
        user_id = body["user"]["id"]
        answer(client, user_id, origin_of(body), decisions.approve(request_id, user_id))

    def ask_deny_reason(request_id: int, body: Body, client: WebClient) -> None:
        user_id, origin = body["user"]["id"], origin_of(body)
        if refused := decisions.check_deny(request_id, user_id):
            tell(client, services, user_id, origin, refused.message)
            return
        slack_call(
            "views.open",
            client.views_open,
            trigger_id=body["trigger_id"],
            view=deny_modal(request_id, origin),
        )

    def deny(body: Body, client: WebClient) -> None:
        # Answer where the Deny button was: a view submission has no channel of its own.
        submitted = parse_deny(body.get("view") or {})
        user_id = body["user"]["id"]
        if submitted.request_id is None:
            tell(client, services, user_id, submitted.origin, "That form does not name a request.")
            return
        result = decisions.deny(submitted.request_id, user_id, submitted.reason)
        answer(client, user_id, submitted.origin, result)

    def cancel(request_id: int, body: Body, client: WebClient) -> None:
        user_id = body["user"]["id"]
        answer(client, user_id, origin_of(body), decisions.cancel(request_id, user_id))

    on_button(app, services, after_ack, APPROVE_ACTION, approve)
    # The deny-reason modal needs its trigger_id within 3 s: the modal lane.
    on_button(app, services, after_ack, DENY_ACTION, ask_deny_reason, modal=True)
    on_view(app, after_ack, DENY_CALLBACK, deny)
    on_button(app, services, after_ack, CANCEL_ACTION, cancel)
