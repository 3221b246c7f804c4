"""Slack deactivation (flow 6): the `user_change` event.

Bolt acks the event; the work runs after the ack. The event alone is not trusted: the
use case (bot/services/deactivation.py) asks users.info before it revokes anything (or,
with `on_deactivation = "notify"`, tells the owners), and claims each grant once in the
database, so an event Slack delivers again (`X-Slack-Retry-Num`) does nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.slack.listeners import on_event

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    deactivations = services.deactivations
    assert deactivations is not None  # register_all registers this only where it exists

    def user_changed(body: dict[str, Any], client: WebClient) -> None:
        user = (body.get("event") or {}).get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return
        deactivations.member_changed(user["id"], deleted=user.get("deleted") is True)

    on_event(app, after_ack, "user_change", user_changed)
