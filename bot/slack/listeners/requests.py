"""/request-aws-access (help, status, the request modal) and the modal's submission."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.iam_names import suggest_user_name
from bot.services.submit import RequestForm
from bot.settings import Profile
from bot.slack.after_ack import AfterAck
from bot.slack.blocks import (
    ACCESS_BLOCK,
    NAME_BLOCK,
    PROFILE_BLOCK,
    REASON_BLOCK,
    REQUEST_CALLBACK,
    help_text,
    request_modal,
    status_message,
)
from bot.slack.calls import slack_call

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

COMMAND = "/request-aws-access"


def parse_arguments(text: str, profiles: tuple[Profile, ...]) -> tuple[str | None, str]:
    """`[profile] [reason]`: the first word is the profile when the config has it."""
    words = text.strip().split(maxsplit=1)
    if words and any(p.name == words[0].lower() for p in profiles):
        return words[0].lower(), words[1] if len(words) > 1 else ""
    return None, text.strip()


def form_from_view(user_id: str, values: dict[str, dict[str, Any]]) -> RequestForm:
    def element(block: str) -> dict[str, Any]:
        return next(iter((values.get(block) or {}).values()), {}) or {}

    selected = element(PROFILE_BLOCK).get("selected_option") or {}
    kinds = {o.get("value") for o in element(ACCESS_BLOCK).get("selected_options") or []}
    return RequestForm(
        requester_id=user_id,
        profile=selected.get("value") or "",
        iam_user_name=element(NAME_BLOCK).get("value") or "",
        console="console" in kinds,
        programmatic="programmatic" in kinds,
        reason=element(REASON_BLOCK).get("value") or "",
    )


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    profiles = services.config.profiles

    @app.command(COMMAND)
    def request_command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        text = (body.get("text") or "").strip()
        user_id = body["user_id"]
        keyword = text.lower()
        if keyword == "help":
            ack(text=help_text(profiles), response_type="ephemeral")
            return
        if keyword == "status":
            summary, blocks = status_message(services.queries.of_requester(user_id))
            ack(text=summary, blocks=blocks, response_type="ephemeral")
            return
        ack()
        after_ack(open_modal, body, client, text, user_id)

    def open_modal(body: dict[str, Any], client: WebClient, text: str, user_id: str) -> None:
        profile, reason = parse_arguments(text, profiles)
        info = slack_call("users.info", client.users_info, user=user_id)
        email = ((info or {}).get("user") or {}).get("profile", {}).get("email")
        slack_call(
            "views.open",
            client.views_open,
            trigger_id=body["trigger_id"],
            view=request_modal(
                profiles, profile=profile, iam_user_name=suggest_user_name(email), reason=reason
            ),
        )

    @app.view(REQUEST_CALLBACK)
    def request_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = form_from_view(body["user"]["id"], view["state"]["values"])
        result = services.submit.submit(form)
        if not result.ok:
            ack(response_action="errors", errors=result.errors)
            return
        ack()
        assert result.request is not None
        after_ack(services.submit.announce, result.request)
