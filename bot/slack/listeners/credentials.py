"""The owners' "Re-issue credentials" button (flow 4)."""

from __future__ import annotations

import logging
from typing import Any

from bot.domain.errors import DomainError
from bot.slack.blocks import REISSUE_ACTION
from bot.slack.calls import slack_call

log = logging.getLogger(__name__)


def register(app: Any, services: Any, after_ack: Any) -> None:
    """`services.credential_links` is a bot.services.vault.CredentialLinks."""

    @app.action(REISSUE_ACTION)
    def reissue(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        ack()  # rotating keys in AWS can take longer than Slack's 3 seconds
        after_ack(reissue_after_ack, body, action, client)

    def reissue_after_ack(body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        try:
            request_id = int(action["value"])
        except (KeyError, TypeError, ValueError):
            log.warning("re-issue clicked with a malformed request id")
            return
        try:
            services.credential_links.reissue(request_id, user_id)
        except DomainError as exc:  # not an owner, wrong state, AWS refused: say why
            if channel:
                slack_call(
                    "chat.postEphemeral",
                    client.chat_postEphemeral,
                    channel=channel,
                    user=user_id,
                    text=str(exc),
                )
