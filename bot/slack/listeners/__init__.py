"""Bolt listeners, one module per capability; each exposes register(app, services, after_ack):
they ack at once and hand their slow part to `after_ack` (bot.slack.after_ack)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register_all(app: App, services: Services, after_ack: AfterAck) -> None:
    from bot.slack.listeners import decisions, home, requests

    requests.register(app, services, after_ack)
    decisions.register(app, services, after_ack)
    home.register(app, services, after_ack)
    # Flows 3-4: Retry / Roll back and Re-issue, where the runtime provides them.
    if services.provisioning_worker is not None:
        from bot.slack.listeners import provisioning

        provisioning.register(app, services, after_ack)
    if services.credential_links is not None:
        from bot.slack.listeners import credentials

        credentials.register(app, services, after_ack)
