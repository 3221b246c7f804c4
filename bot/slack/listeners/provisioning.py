"""Retry / Roll back on a failed request (flows 3 and 6): the provisioning worker refuses at
once (the clicker hears why, ephemerally) or runs the work in the background."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.slack.listeners import Body, on_button
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces.approval_message import PROVISION_RETRY, PROVISION_ROLLBACK

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck

log = logging.getLogger(__name__)


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    worker = services.provisioning_worker
    assert worker is not None  # register_all only registers these where it exists

    def run(kind: str, request_id: int, body: Body, client: WebClient) -> None:
        actor = body["user"]["id"]
        action = worker.retry if kind == PROVISION_RETRY else worker.roll_back
        result, _future = action(request_id, actor)
        if not result.ok:
            tell_actor(client, services, body, result.message)
        log.info(
            "provisioning action",
            extra={"action": kind, "request_id": request_id, "actor": actor, "ok": result.ok},
        )

    def retry(request_id: int, body: Body, client: WebClient) -> None:
        run(PROVISION_RETRY, request_id, body, client)

    def roll_back(request_id: int, body: Body, client: WebClient) -> None:
        run(PROVISION_ROLLBACK, request_id, body, client)

    on_button(app, services, after_ack, PROVISION_RETRY, retry)
    on_button(app, services, after_ack, PROVISION_ROLLBACK, roll_back)
