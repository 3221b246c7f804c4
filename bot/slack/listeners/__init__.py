"""Bolt listeners, one module per capability; each exposes register(app, services)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services


def register_all(app: App, services: Services) -> None:
    from bot.slack.listeners import decisions, home, requests

    requests.register(app, services)
    decisions.register(app, services)
    home.register(app, services)
    # Flows 3-4: Retry / Roll back and Re-issue, where the runtime provides them.
    if services.provisioning_worker is not None:
        from bot.slack.listeners import provisioning

        provisioning.register(app, services)
    if services.credential_links is not None:
        from bot.slack.listeners import credentials

        credentials.register(app, services)
