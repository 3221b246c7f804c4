"""Answers to the person who clicked: an ephemeral in a channel, a notice on App Home."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.slack.blocks import home_view
from bot.slack.calls import slack_call

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def publish_home(
    client: WebClient, services: Services, user_id: str, notice: str | None = None
) -> None:
    own = services.queries.of_requester(user_id)
    pending = services.queries.pending() if services.queries.is_owner(user_id) else None
    slack_call(
        "views.publish",
        client.views_publish,
        user_id=user_id,
        view=home_view(own, pending, notice=notice),
    )


def tell_actor(client: WebClient, services: Services, body: dict[str, Any], text: str) -> None:
    """Answer the clicker where they clicked: ephemeral in the channel, or on App Home."""
    user_id = body["user"]["id"]
    if (body.get("container") or {}).get("type") == "view" or body.get("view", {}).get(
        "type"
    ) == "home":
        publish_home(client, services, user_id, notice=text)
        return
    channel = (body.get("channel") or {}).get("id")
    if channel:
        slack_call(
            "chat.postEphemeral",
            client.chat_postEphemeral,
            channel=channel,
            user=user_id,
            text=text,
        )
