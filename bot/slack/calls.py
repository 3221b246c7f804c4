"""One way to call the Slack Web API when a failure must not propagate.

Work that runs after an ack, and every notification, logs a refused or failed call
with context and carries on: the stored request is the source of truth. Rate limits
and connection errors were already retried by the WebClient's retry handlers.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

log = logging.getLogger("bot.slack")


def slack_call(what: str, fn: Any, **kwargs: Any) -> Any | None:
    """`fn(**kwargs)`, or None after logging why Slack said no."""
    context = {"slack_method": what, "channel": kwargs.get("channel")}
    try:
        return fn(**kwargs)
    except SlackApiError as exc:
        reason = exc.response.get("error", "unknown error")
    except OSError as exc:  # network trouble after the client's own retries
        reason = type(exc).__name__
    log.warning("slack %s failed: %s", what, reason, extra=context)
    return None
