"""Time-bound access (flow 6): the requester's **Request extension** (in the expiry
warning DM) opens the request form prefilled for a new request that extends the grant;
the owners' **Extend** (on a provisioned time-bound approval message) moves its end.
Who may do either is the services' decision (bot/domain/policy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.slack.calls import slack_call
from bot.slack.listeners import Body, on_button
from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces import request_modal
from bot.slack.surfaces.time_bound import EXTEND_ACTION, REQUEST_EXTENSION_ACTION

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    time_bound = services.time_bound
    assert time_bound is not None  # register_all registers these only where it exists

    def open_extension_form(request_id: int, body: Body, client: WebClient) -> None:
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

    # Request extension opens the form: the modal lane, as the trigger_id expires 3 s
    # after the click (bot/slack/after_ack.py).
    on_button(app, services, after_ack, REQUEST_EXTENSION_ACTION, open_extension_form, modal=True)
    on_button(app, services, after_ack, EXTEND_ACTION, extend)
