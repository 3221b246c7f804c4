"""Retry / Roll back buttons on a failed request (flow 3). Thin: ack at once, parse
the payload, hand the work to the provisioning worker; refusals go back ephemerally."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack.blocks import PROVISION_RETRY, PROVISION_ROLLBACK
from bot.slack.calls import slack_call

log = logging.getLogger(__name__)


def _parse(body: dict[str, Any]) -> tuple[int | None, str, str | None]:
    """(request id, clicking user, channel) from a block_actions payload."""
    action = (body.get("actions") or [{}])[0]
    value = str(action.get("value", ""))
    channel = (body.get("channel") or body.get("container") or {}).get("id") or (
        body.get("container") or {}
    ).get("channel_id")
    return (int(value) if value.isdigit() else None), body["user"]["id"], channel


def register(app: Any, services: Any, after_ack: Any) -> None:
    """`services.provisioning_worker` is the ProvisioningWorker."""

    def handle(kind: str, ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        after_ack(handle_after_ack, kind, body, client)

    def handle_after_ack(kind: str, body: dict[str, Any], client: Any) -> None:
        request_id, actor, channel = _parse(body)
        worker = services.provisioning_worker
        if request_id is None:
            result_ok, message = False, "this button does not name a request"
        else:
            action = worker.retry if kind == PROVISION_RETRY else worker.roll_back
            result, _future = action(request_id, actor)
            result_ok, message = result.ok, result.message
        if not result_ok and channel:
            slack_call(
                "chat.postEphemeral",
                client.chat_postEphemeral,
                channel=channel,
                user=actor,
                text=message,
            )
        log.info(
            "provisioning action",
            extra={"action": kind, "request_id": request_id, "actor": actor, "ok": result_ok},
        )

    @app.action(PROVISION_RETRY)
    def on_retry(ack: Any, body: dict[str, Any], client: Any) -> None:
        handle(PROVISION_RETRY, ack, body, client)

    @app.action(PROVISION_ROLLBACK)
    def on_roll_back(ack: Any, body: dict[str, Any], client: Any) -> None:
        handle(PROVISION_ROLLBACK, ack, body, client)
