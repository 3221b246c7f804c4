"""Flow 6's ways in from Slack: `/revoke-aws-access @member [reason]`, the Revoke button
(approval message, App Home), and the confirm modal's submission.

The command answers in its ack when it cannot go on (not an owner, no member named,
nothing to revoke: database reads only); otherwise the confirm modal opens on the
interactive lane (the trigger_id expires in 3 seconds) from what the database knows,
and is then updated with what IAM holds. Submitting revokes each listed grant through
the one revoke use case (services.revoke), which checks the authorization table.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.policy import may_revoke_members
from bot.domain.revocation import RevokeCause
from bot.services.authority import sentence
from bot.slack.calls import post_message, slack_call
from bot.slack.listeners import Body, on_button, on_view
from bot.slack.listeners.replies import origin_of, publish_home, tell, tell_actor
from bot.slack.surfaces import revoke_modal
from bot.slack.surfaces.approval_message import Origin
from bot.slack.surfaces.revoke_messages import REVOKE_ACTION

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.domain.requests import RequestView
    from bot.services import Services
    from bot.services.revoke import RevokeService
    from bot.slack.after_ack import AfterAck

log = logging.getLogger(__name__)


def register(app: App, services: Services, after_ack: AfterAck) -> None:
    revoke = services.revoke
    assert revoke is not None  # register_all registers these only where it exists
    mode = services.config.offboarding.mode

    @app.command(revoke_modal.COMMAND)
    def revoke_command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        actor = body["user_id"]
        allowed = may_revoke_members(services.config.is_owner(actor))
        if not allowed.allowed:
            ack(text=sentence(allowed.reason), response_type="ephemeral")
            return
        args = revoke_modal.parse_command(body.get("text") or "")
        if args.member is None:
            ack(text=revoke_modal.USAGE, response_type="ephemeral")
            return
        grants = revoke.grants_of_member(actor, args.member)
        if not grants:
            ack(text=revoke_modal.nothing_to_revoke_text(args.member), response_type="ephemeral")
            return
        ack()
        origin = Origin(channel=body.get("channel_id"))
        after_ack.interactive(
            open_modal, client, body["trigger_id"], grants, args.reason, origin, revoke
        )

    def open_modal(
        client: WebClient,
        trigger_id: str,
        grants: list[RequestView],
        reason: str,
        origin: Origin,
        service: RevokeService,
    ) -> None:
        loading = [(g, None, "") for g in grants]
        view = revoke_modal.confirm_modal(
            loading, mode=mode, reason=reason, origin=origin, loading=True
        )
        opened = slack_call("views.open", client.views_open, trigger_id=trigger_id, view=view)
        if not opened:
            return
        # Now what IAM holds (slower than the trigger's 3 seconds allow).
        plans = [(p.request, p.plan, p.problem) for p in map(service.plan_of, grants)]
        full = revoke_modal.confirm_modal(plans, mode=mode, reason=reason, origin=origin)
        view_id = (opened.get("view") or {}).get("id")
        if view_id:
            slack_call(
                "views.update",
                client.views_update,
                view_id=view_id,
                hash=(opened.get("view") or {}).get("hash"),
                view=full,
            )

    def revoke_clicked(request_id: int, body: Body, client: WebClient) -> None:
        actor = body["user"]["id"]
        grant = revoke.grant_for(actor, request_id)
        if isinstance(grant, str):
            tell_actor(client, services, body, sentence(grant))
            return
        open_modal(client, body["trigger_id"], [grant], "", origin_of(body), revoke)

    def submitted(body: Body, client: WebClient) -> None:
        actor = body["user"]["id"]
        submission = revoke_modal.parse_submission(body.get("view") or {})
        outcomes = [
            revoke.revoke(
                request_id, actor=actor, reason=submission.reason, cause=RevokeCause.OWNER
            )
            for request_id in submission.request_ids
        ]
        log.info(
            "revoke submitted",
            extra={
                "actor": actor,
                "requests": list(submission.request_ids),
                "done": sum(o.done for o in outcomes),
            },
        )
        text = revoke_modal.outcomes_text(outcomes)
        if submission.origin.home:
            publish_home(client, services, actor, notice=text)
        elif submission.origin.channel:
            tell(client, services, actor, submission.origin, text)
        else:
            post_message(client, actor, text)

    # The click opens the confirm modal: the modal lane (bot/slack/after_ack.py).
    on_button(app, services, after_ack, REVOKE_ACTION, revoke_clicked, modal=True)
    on_view(app, after_ack, revoke_modal.REVOKE_CALLBACK, submitted)
