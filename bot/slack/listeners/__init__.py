"""Bolt listeners, one module per capability, each with `register(app, services, after_ack)`.

Listeners are thin: parse the payload (with the surfaces' parsers), call a service,
render the answer with a surface builder. Who may do what is the services' decision
(bot/domain/policy.py), never a listener's.

Every click and submission is acked at once and its work runs after the ack on the
`after_ack` pool (bot.slack.after_ack), through the one wrapper below: Slack wants its
answer within 3 seconds, and the database and Web API calls take longer in a burst.
Only the slash command's help/status and the request form's validation answer in
their ack, because that is the only way to show them.

Every click gets an answer: when the database cannot record it (StoreUnavailable),
the clicker is told so ephemerally and the message is left as it was, buttons and all,
to click again; a command or form that fails in its ack is answered the same way
(`answer_errors`), never with a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltResponse
from slack_sdk import WebClient

from bot.domain.errors import StoreUnavailable
from bot.slack.listeners.replies import not_recorded, tell_actor, tell_not_recorded
from bot.slack.surfaces.approval_message import request_id_of
from bot.slack.surfaces.request_modal import REASON_BLOCK

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck

Body = dict[str, Any]
Work = Callable[[Body, WebClient], None]
RequestWork = Callable[[int, Body, WebClient], None]

NOT_A_REQUEST = "That button does not belong to a request."

log = logging.getLogger("bot.slack")


def on_action(
    app: App, after_ack: AfterAck, action_id: str, work: Work, *, modal: bool = False
) -> None:
    """A block action: ack at once, then `work(body, client)` on the after-ack pool
    (which logs an exception's type and carries on); a click the database could not
    record is answered "not recorded". `modal=True`: the work opens a modal (its
    trigger_id dies 3 s after the click), so it runs on the modal lane, never behind
    other work (bot/slack/after_ack.py)."""
    app.action(action_id)(_acked(after_ack, _answering(work), modal=modal))


def on_view(app: App, after_ack: AfterAck, callback_id: str, work: Work) -> None:
    """A view submission that closes the modal: ack at once, work after the ack."""
    app.view(callback_id)(_acked(after_ack, _answering(work)))


def on_event(app: App, after_ack: AfterAck, event_type: str, work: Work) -> None:
    """An Events API event: Bolt acks it; the work runs on the after-ack pool."""
    app.event(event_type)(_acked(after_ack, work))


def on_button(
    app: App,
    services: Services,
    after_ack: AfterAck,
    action_id: str,
    work: RequestWork,
    *,
    modal: bool = False,
) -> None:
    """A button whose value names a request: the one request-id parser reads it, and a
    garbled or forged value is answered to the clicker, not worked on."""

    def with_request(body: Body, client: WebClient) -> None:
        request_id = request_id_of(body)
        if request_id is None:
            tell_actor(client, services, body, NOT_A_REQUEST)
            return
        work(request_id, body, client)

    with_request.__name__ = work.__name__
    on_action(app, after_ack, action_id, with_request, modal=modal)


def _answering(work: Work) -> Work:
    """`work`, telling the clicker when the database could not record their click."""

    def answered(body: Body, client: WebClient) -> None:
        try:
            work(body, client)
        except StoreUnavailable as exc:
            log.warning("%s not recorded: %s", work.__name__, exc)
            tell_not_recorded(client, body, exc)

    answered.__name__ = work.__name__
    return answered


def answer_errors(
    error: Exception, body: Body, response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's error handler, for a listener that failed before its ack (the command's
    status, the request form's submission): an answer instead of a 500, and one log
    line with the error's type, never its text (it may quote SQL or a payload)."""
    log.error("slack listener failed: %s", type(error).__name__)
    if response is None:  # acked already: the after-ack work answers for itself
        return None
    text = not_recorded(error) if isinstance(error, StoreUnavailable) else None
    if body.get("type") == "view_submission":
        errors = {REASON_BLOCK: text or "Something went wrong. Please try again."}
        return _json({"response_action": "errors", "errors": errors})
    if body.get("command"):
        return _json(
            {
                "response_type": "ephemeral",
                "text": text or "Something went wrong. Please try again.",
            }
        )
    return None


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )


def _acked(after_ack: AfterAck, work: Work, *, modal: bool = False) -> Callable[..., None]:
    run = after_ack.interactive if modal else after_ack

    def listener(ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        run(work, body, client)

    listener.__name__ = work.__name__  # Bolt names the listener in its logs
    return listener


# The listeners of each capability the runtime may leave out: the service that must be
# there, and its listeners' module (imported only then).
_OPTIONAL = (
    ("provisioning_worker", "provisioning"),  # flows 3, 4 and 6: Retry, Re-issue, Roll back
    ("credential_links", "credentials"),  # the one-time links' buttons
    ("revoke", "revoke"),  # flow 6: /revoke-aws-access, Revoke buttons, the confirm modal
    ("reviews", "reviews"),  # access reviews: Keep / Revoke on each grant
    ("rotation", "rotation"),  # flow 6: the requester's "Rotate my key"
    ("time_bound", "time_bound"),  # flow 6: Request extension / Extend
    ("deactivations", "deactivation"),  # flow 6: the user_change event
)


def register_all(app: App, services: Services, after_ack: AfterAck) -> None:
    from bot.slack.listeners import decisions, home, requests

    app.error(answer_errors)
    requests.register(app, services, after_ack)
    decisions.register(app, services, after_ack)
    home.register(app, services, after_ack)
    for service, module in _OPTIONAL:
        if getattr(services, service) is not None:
            import_module(f"{__name__}.{module}").register(app, services, after_ack)
