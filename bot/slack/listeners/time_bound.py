"""Time-bound access (flow 6): the requester's **Request extension** (in the expiry
warning DM) opens the request form prefilled for a new request that extends the grant;
the owners' **Extend** (on a provisioned time-bound approval message) moves its end.
Who may do either is the services' decision (bot/domain/policy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.calls import slack_call
from bot.slack.listeners import NOT_A_REQUEST, Body, on_button
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces import request_modal
from bot.slack.surfaces.approval_message import request_id_of
from bot.slack.surfaces.time_bound import EXTEND_ACTION, REQUEST_EXTENSION_ACTION

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    time_bound = services.time_bound
    assert time_bound is not None  # register_all registers these only where it exists

    @app.action(REQUEST_EXTENSION_ACTION)
    def request_extension(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        # Its own lane: the trigger_id expires 3 s after the click (bot/slack/after_ack.py).
        after_ack.interactive(open_extension_form, body, client)

    def open_extension_form(body: Body, client: WebClient) -> None:
        request_id = request_id_of(body)
        if request_id is None:
            tell_actor(client, services, body, NOT_A_REQUEST)
            return
        grant = time_bound.extendable(request_id, body["user"]["id"])
        if isinstance(grant, str):
            tell_actor(client, services, body, grant)
            return
        form = request_modal.build(
            services.config.profiles,
            profile=grant.profile,
            iam_user_name=grant.iam_user_name,
            reason=f"Extension of request #{grant.id}: ",
            console=grant.console,
            programmatic=grant.programmatic,
            extends_request_id=grant.id,
        )
        slack_call("views.open", client.views_open, trigger_id=body["trigger_id"], view=form)

    def extend(request_id: int, body: Body, client: WebClient) -> None:
        result = time_bound.extend(request_id, body["user"]["id"])
        if not result.ok:
            tell_actor(client, services, body, result.message)

    on_button(app, services, after_ack, EXTEND_ACTION, extend)
