"""Serve a WSGI app with waitress (the production server) on an ephemeral port, and the
bot's Bolt app the way `run` mounts it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.slack.after_ack import AfterAck
from bot.slack.app import build_app, http_handler
from bot.web.router import Router
from bot.web.server import serving as serve_wsgi

__all__ = ["serve_slack_app", "serve_wsgi"]


@contextmanager
def serve_slack_app(
    settings: Any, services: Any, client: Any, after_ack: AfterAck | None = None
) -> Iterator[str]:
    """The Bolt app over `services`, served on /slack/events; yields that URL. Without an
    `after_ack`, one of its own, whose queued work finishes before this returns; a given
    one stays the caller's to shut down."""
    own = after_ack is None
    lanes = AfterAck() if after_ack is None else after_ack
    router = Router()
    router.mount(
        "/slack/events", http_handler(build_app(settings, services, client, after_ack=lanes))
    )
    try:
        with serve_wsgi(router) as base:
            yield f"{base}/slack/events"
    finally:
        if own:
            lanes.shutdown(wait=True)
