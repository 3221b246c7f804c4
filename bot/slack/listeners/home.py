"""App Home: the viewer's requests and, for owners, the pending queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.after_ack import AfterAck
from bot.slack.listeners.replies import publish_home

if TYPE_CHECKING:
    from bot.services import Services


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        after_ack(publish_home, client, services, event["user"])
