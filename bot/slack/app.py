"""The Bolt app factory. No module-level App: settings and services come in."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.after_ack import AfterAck
from bot.slack.listeners import register_all
from bot.web.slack_events import SlackEvents

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.services import Services

log = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    services: Services,
    client: WebClient,
    *,
    after_ack: AfterAck | None = None,
    sandbox: bool = False,
) -> App:
    """A Bolt app on `client` (bot.slack.client.build_web_client builds the bot's).

    No auth.test at start-up (token_verification_enabled=False): the bot starts even when
    Slack is briefly unreachable, and `aws-access-bot check` is where the token is tested.
    `after_ack` runs the listeners' slow parts (default: a pool of its own).
    `sandbox=True` marks everything the listeners send (bot.slack.sandbox).
    """
    _BOLT_LOGGER.addFilter(_CLIENT_GIVEN)  # idempotent: the same filter object
    app = App(
        name="aws-access-bot",
        client=client,
        # Every HTTP request's signature and timestamp are verified before Bolt parses
        # it (http_handler), and Bolt checks them again; Socket Mode requests carry no
        # signature and skip the check.
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        process_before_response=False,
        logger=_BOLT_LOGGER,
    )
    if sandbox:
        from bot.slack.sandbox import sandbox_middleware

        app.use(sandbox_middleware)
    register_all(app, services, after_ack or AfterAck())
    return app


class _ClientGiven(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when handed a client, then
    warns "As you gave client as well, token will be unused." on every start. The bot
    always hands it the one client built from Settings: the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in str(record.msg)


_BOLT_LOGGER = logging.getLogger("bot.slack.bolt")
_CLIENT_GIVEN = _ClientGiven()


def http_handler(app: App, signing_secret: str | None = None) -> SlackEvents:
    """The WSGI app for `POST /slack/events`: the signature and the body's size and shape
    are checked before Bolt parses anything (bot/web/slack_events.py), so junk gets a
    400/401/413 and one WARNING line, never a 500. `signing_secret` defaults to the one
    the app was built with."""
    secret = signing_secret if signing_secret is not None else app._signing_secret
    return SlackEvents(app, secret)


class SocketModeRefused(Exception):
    """Slack would not hand out a Socket Mode URL (apps.connections.open failed)."""


def start_socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """Connect over Socket Mode in background threads; the caller closes the handler.

    A refused app token (invalid_auth, not_allowed_token_type, ...) raises
    SocketModeRefused with Slack's error code; the handler's threads are stopped first.
    Once connected, dropped sockets and Slack's `disconnect` refreshes are the SDK's
    to handle (it asks apps.connections.open for a new URL).
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token=app_token, logger=app.logger)
    try:
        handler.connect()
    except SlackApiError as exc:
        handler.close()
        error = exc.response.get("error") if exc.response is not None else None
        raise SocketModeRefused(
            f"Slack refused to open a Socket Mode connection ({error or 'no error code'}): "
            "check SLACK_APP_TOKEN (an app-level token, xapp-..., "
            "with the connections:write scope)"
        ) from None
    except OSError as exc:  # Slack unreachable: no traceback, one line, like a refusal
        handler.close()
        raise SocketModeRefused(
            f"could not reach Slack to open a Socket Mode connection ({type(exc).__name__}): "
            "check the network (and SLACK_API_URL if set)"
        ) from None
    except BaseException:
        handler.close()
        raise
    return handler
