"""The owners' "Re-issue credentials" button (flow 4): rotating keys in AWS takes longer
than Slack's 3 seconds, so it runs after the ack; a refusal is said to the clicker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.domain.errors import DomainError
from bot.slack.listeners import on_button
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces.approval_message import REISSUE_ACTION

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    links = services.credential_links
    assert links is not None  # register_all only registers this where it exists

    def reissue(request_id: int, body: dict[str, Any], client: WebClient) -> None:
        try:
            links.reissue(request_id, body["user"]["id"])
        except DomainError as exc:  # not an owner, wrong state, AWS refused: say why
            tell_actor(client, services, body, str(exc))

    on_button(app, services, after_ack, REISSUE_ACTION, reissue)
