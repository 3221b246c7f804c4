"""/request-aws-access (help, status, the request form) and the form's submission (flow 1).

These two answer in their ack: help and status are the command's ephemeral reply, and
the form's errors can only be shown by the ack of its submission. Opening the form
(users.info for the suggested name, views.open) runs after the ack on the modal lane;
the full IAM name check and the announcement of a stored request run after the ack too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.iam_names import suggest_user_name
from bot.slack.calls import slack_call
from bot.slack.surfaces import request_modal
from bot.slack.surfaces.app_home import status_message

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    profiles = services.config.profiles

    @app.command(request_modal.COMMAND)
    def request_command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        text = (body.get("text") or "").strip()
        keyword = text.lower()
        if keyword == "help":
            ack(text=request_modal.help_text(profiles), response_type="ephemeral")
        elif keyword == "status":
            summary, blocks = status_message(services.queries.of_requester(body["user_id"]))
            ack(text=summary, blocks=blocks, response_type="ephemeral")
        else:
            ack()
            # Its own lane: the trigger_id expires 3 s after the command (bot/slack/after_ack.py).
            after_ack.interactive(open_form, body, client, text)

    def open_form(body: dict[str, Any], client: WebClient, text: str) -> None:
        profile, reason = request_modal.parse_arguments(text, profiles)
        info = slack_call("users.info", client.users_info, user=body["user_id"])
        email = ((info or {}).get("user") or {}).get("profile", {}).get("email")
        form = request_modal.build(
            profiles, profile=profile, iam_user_name=suggest_user_name(email), reason=reason
        )
        slack_call("views.open", client.views_open, trigger_id=body["trigger_id"], view=form)

    @app.view(request_modal.CALLBACK_ID)
    def request_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        metadata = view.get("private_metadata") or ""
        result = services.submit.submit(request_modal.parse(body["user"]["id"], values, metadata))
        if result.errors:
            ack(response_action="errors", errors=result.errors)
            return
        ack()
        if result.request is not None:
            after_ack(services.submit.announce, result.request)
