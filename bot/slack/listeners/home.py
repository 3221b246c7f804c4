"""App Home: the viewer's requests and, for owners, the queue they can decide."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.slack.listeners import on_event
from bot.slack.listeners.replies import publish_home

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    def home_opened(body: dict[str, Any], client: WebClient) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") == "home" and event.get("user"):
            publish_home(client, services, event["user"])

    on_event(app, after_ack, "app_home_opened", home_opened)
