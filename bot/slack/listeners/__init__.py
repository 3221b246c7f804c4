"""Bolt listeners, one module per capability, each with `register(app, services, after_ack)`.

Listeners are thin: parse the payload (with the surfaces' parsers), call a service,
render the answer with a surface builder. Who may do what is the services' decision
(bot/domain/policy.py), never a listener's.

Every click and submission is acked at once and its work runs after the ack on the
`after_ack` pool (bot.slack.after_ack), through the one wrapper below: Slack wants its
answer within 3 seconds, and the database and Web API calls take longer in a burst.
Only the slash command's help/status and the request form's validation answer in
their ack, because that is the only way to show them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.listeners.replies import tell_actor
from bot.slack.surfaces.approval_message import request_id_of

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services
    from bot.slack.after_ack import AfterAck

Body = dict[str, Any]
Work = Callable[[Body, WebClient], None]
RequestWork = Callable[[int, Body, WebClient], None]

NOT_A_REQUEST = "That button does not belong to a request."


def on_action(app: App, after_ack: AfterAck, action_id: str, work: Work) -> None:
    """A block action: ack at once, then `work(body, client)` on the after-ack pool
    (which logs an exception's type and carries on)."""
    app.action(action_id)(_acked(after_ack, work))


def on_view(app: App, after_ack: AfterAck, callback_id: str, work: Work) -> None:
    """A view submission that closes the modal: ack at once, work after the ack."""
    app.view(callback_id)(_acked(after_ack, work))


def on_event(app: App, after_ack: AfterAck, event_type: str, work: Work) -> None:
    """An Events API event: Bolt acks it; the work runs on the after-ack pool."""
    app.event(event_type)(_acked(after_ack, work))


def on_button(
    app: App, services: Services, after_ack: AfterAck, action_id: str, work: RequestWork
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
    on_action(app, after_ack, action_id, with_request)


def _acked(after_ack: AfterAck, work: Work) -> Callable[..., None]:
    def listener(ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        after_ack(work, body, client)

    listener.__name__ = work.__name__  # Bolt names the listener in its logs
    return listener


def register_all(app: App, services: Services, after_ack: AfterAck) -> None:
    from bot.slack.listeners import credentials, decisions, home, provisioning, requests

    requests.register(app, services, after_ack)
    decisions.register(app, services, after_ack)
    home.register(app, services, after_ack)
    # Flows 3, 4 and 6: Retry, Re-issue and Roll back, where the runtime provides them.
    if services.provisioning_worker is not None:
        provisioning.register(app, services, after_ack)
    if services.credential_links is not None:
        credentials.register(app, services, after_ack)
