"""Approve / Deny (channel message or App Home), the deny-reason modal, Cancel."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services.decide import DecisionResult
from bot.slack.after_ack import AfterAck
from bot.slack.blocks import (
    APPROVE_ACTION,
    CANCEL_ACTION,
    DENY_ACTION,
    DENY_CALLBACK,
    DENY_REASON_BLOCK,
    deny_modal,
)
from bot.slack.calls import slack_call
from bot.slack.listeners.replies import publish_home, tell_actor

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def request_id_of(body: dict[str, Any]) -> int | None:
    """The request a button belongs to (its value), or None for a forged/garbled value."""
    try:
        value = body["actions"][0]["value"]
        return int(value) if str(value).isdigit() else None
    except (KeyError, IndexError, TypeError):
        return None


def _on_home(body: dict[str, Any]) -> bool:
    return (body.get("view") or {}).get("type") == "home"


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    decisions = services.decisions

    def answer(client: WebClient, body: dict[str, Any], result: DecisionResult) -> None:
        if _on_home(body):
            # Home shows the outcome itself: refresh the queue, with the sentence on top.
            publish_home(client, services, body["user"]["id"], notice=result.message)
        elif not result.changed:
            # In the channel a change shows in the updated message; anything else is
            # said to the clicker alone.
            tell_actor(client, services, body, result.message)

    @app.action(APPROVE_ACTION)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(approve_after_ack, body, client)

    def approve_after_ack(body: dict[str, Any], client: WebClient) -> None:
        request_id = request_id_of(body)
        if request_id is None:
            tell_actor(client, services, body, "That button does not belong to a request.")
            return
        answer(client, body, decisions.approve(request_id, body["user"]["id"]))

    @app.action(DENY_ACTION)
    def deny_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(deny_clicked_after_ack, body, client)

    def deny_clicked_after_ack(body: dict[str, Any], client: WebClient) -> None:
        request_id = request_id_of(body)
        if request_id is None:
            tell_actor(client, services, body, "That button does not belong to a request.")
            return
        if problem := decisions.check_deny(request_id, body["user"]["id"]):
            tell_actor(client, services, body, problem.message)
            return
        where = {
            "request_id": request_id,
            "channel": (body.get("channel") or {}).get("id"),
            "home": _on_home(body),
        }
        slack_call(
            "views.open",
            client.views_open,
            trigger_id=body["trigger_id"],
            view=deny_modal(request_id, json.dumps(where)),
        )

    @app.view(DENY_CALLBACK)
    def deny_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient):
        ack()
        after_ack(deny_submitted_after_ack, body, view, client)

    def deny_submitted_after_ack(
        body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        where = json.loads(view.get("private_metadata") or "{}")
        state = (view.get("state") or {}).get("values") or {}
        reason = ((state.get(DENY_REASON_BLOCK) or {}).get(DENY_REASON_BLOCK) or {}).get("value")
        result = decisions.deny(int(where["request_id"]), body["user"]["id"], reason or "")
        # Reply where the Deny button was: a view submission has no channel of its own.
        origin: dict[str, Any] = {"user": body["user"]}
        if where.get("home"):
            origin["view"] = {"type": "home"}
        elif where.get("channel"):
            origin["channel"] = {"id": where["channel"]}
        answer(client, origin, result)

    @app.action(CANCEL_ACTION)
    def cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        request_id = request_id_of(body)
        if request_id is not None:
            after_ack(
                lambda: answer(client, body, decisions.cancel(request_id, body["user"]["id"]))
            )
