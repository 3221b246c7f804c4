"""Bolt listeners, one module per capability; each exposes register(app, services)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services


def register_all(app: App, services: Services) -> None:
    from bot.slack.listeners import credentials, decisions, home, provisioning, requests

    requests.register(app, services)
    decisions.register(app, services)
    home.register(app, services)
    provisioning.register(app, services)  # Retry / Roll back (flow 3)
    credentials.register(app, services)  # Re-issue (flow 4)
