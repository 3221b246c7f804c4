"""The requester's "Rotate my key" button (flow 6, key rotation): making the key in AWS
takes longer than Slack's 3 seconds, so it runs after the ack. On success the nudge is
replaced in place (no second click) and the new key's link arrives as its own DM; a
refusal is said to the clicker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.domain.errors import DomainError
from bot.domain.requests import MessageRef
from bot.slack.calls import update_message
from bot.slack.listeners import Body, on_button
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces.key_rotation import ROTATE_KEY_ACTION, clicked_message

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    rotations = services.rotation
    assert rotations is not None  # register_all only registers this where it exists

    def rotate_key(request_id: int, body: Body, client: WebClient) -> None:
        try:
            request, _rotation = rotations.rotate(request_id, body["user"]["id"])
        except DomainError as exc:  # not the requester, nothing to rotate, AWS refused
            tell_actor(client, services, body, str(exc))
            return
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if channel and ts:
            text, blocks = clicked_message(request)
            update_message(client, MessageRef(channel, ts), text, blocks)

    on_button(app, services, after_ack, ROTATE_KEY_ACTION, rotate_key)
