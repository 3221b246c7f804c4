"""Answers to the person who clicked, where they clicked: a notice on their App Home, or
an ephemeral message in the channel; and "not recorded" when the database is down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.slack.calls import post_message, slack_call
from bot.slack.surfaces.app_home import home_view
from bot.slack.surfaces.approval_message import Origin, parse_deny

if TYPE_CHECKING:
    from bot.services import Services


def origin_of(body: dict[str, Any]) -> Origin:
    """Where a block action came from: App Home, or a channel's message."""
    container = body.get("container") or {}
    if container.get("type") == "view" or (body.get("view") or {}).get("type") == "home":
        return Origin(home=True)
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return Origin(channel=channel)


def publish_home(
    client: WebClient, services: Services, user_id: str, notice: str | None = None
) -> None:
    """App Home: the viewer's requests; for an owner, the queue of the accounts they own."""
    own = services.queries.of_requester(user_id)
    owner = services.queries.is_owner(user_id)
    pending = services.queries.pending(user_id) if owner else None
    # What the outbox gave up on (docs/architecture.md, "Deliveries (outbox)").
    undelivered = services.deliveries.undelivered(user_id) if owner and services.deliveries else []
    # Flow 6: what the owner's accounts granted, each with Revoke.
    active = services.revoke.active_grants(user_id) if owner and services.revoke else None
    # Key rotation (flow 6): the age of each active grant's bot-made access key.
    rotation = getattr(services, "rotation", None)
    key_ages = rotation.key_ages(active) if active and rotation is not None else None
    slack_call(
        "views.publish",
        client.views_publish,
        user_id=user_id,
        view=home_view(
            own,
            pending,
            notice=notice,
            undelivered=undelivered,
            active=active,
            key_ages=key_ages,
            now=services.clock.now() if key_ages else None,
        ),
    )


def tell(client: WebClient, services: Services, user_id: str, origin: Origin, text: str) -> None:
    """`text` to `user_id` alone: on their App Home, or ephemeral in the channel."""
    if origin.home:
        publish_home(client, services, user_id, notice=text)
    elif origin.channel:
        slack_call(
            "chat.postEphemeral",
            client.chat_postEphemeral,
            channel=origin.channel,
            user=user_id,
            text=text,
        )


def tell_actor(client: WebClient, services: Services, body: dict[str, Any], text: str) -> None:
    """Answer the clicker of a block action where they clicked."""
    tell(client, services, body["user"]["id"], origin_of(body), text)


def not_recorded(error: Exception) -> str:
    """What the clicker is told when the database could not record their click."""
    return f"Not recorded: {error}. Please try again."


def tell_not_recorded(client: WebClient, body: dict[str, Any], error: Exception) -> None:
    """Tell the clicker their click was not recorded, without the database: an
    ephemeral message where they clicked (App Home, which needs the database to be
    drawn, is left as it was: a DM says it instead). The clicked message is not
    touched, so its buttons stay."""
    user_id = (body.get("user") or {}).get("id")
    if not user_id:
        return
    if body.get("type") == "view_submission":
        origin = parse_deny(body.get("view") or {}).origin  # where the modal was opened
    else:
        origin = origin_of(body)
    text = not_recorded(error)
    if origin.channel and not origin.home:
        slack_call(
            "chat.postEphemeral",
            client.chat_postEphemeral,
            channel=origin.channel,
            user=user_id,
            text=text,
        )
    else:
        post_message(client, user_id, text)
