"""One way to call the Slack Web API, for calls that may fail and calls that must not.

Rate limits (Retry-After) and connection errors were already retried by the
WebClient's retry handlers when a call gets here. Best-effort work (reminders, the
summary, answers to a click) logs a refused or failed call with context and carries
on. A message that must reach someone (`must_deliver`) raises DeliveryFailed instead,
with Slack's error code and Retry-After, so the outbox can try again
(docs/architecture.md, "Deliveries (outbox)").
"""

from __future__ import annotations

import logging
from http.client import HTTPException
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.errors import DeliveryFailed, DeliveryKind
from bot.domain.requests import MessageRef

log = logging.getLogger("bot.slack")


def slack_call(
    what: str, fn: Any, *, must_deliver: DeliveryKind | None = None, **kwargs: Any
) -> Any | None:
    """`fn(**kwargs)`, or None after logging why Slack said no; with `must_deliver`,
    DeliveryFailed for that kind of message instead of None."""
    context = {"slack_method": what, "channel": kwargs.get("channel")}
    retry_after = None
    try:
        return fn(**kwargs)
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        retry_after = _retry_after(exc.response.headers)
    except SlackClientError as exc:  # e.g. a body that is not Slack's JSON
        reason = type(exc).__name__
    except (OSError, HTTPException) as exc:  # network trouble after the client's retries
        reason = type(exc).__name__
    log.warning("slack %s failed: %s", what, reason, extra=context)
    if must_deliver is not None:
        raise DeliveryFailed((must_deliver,), error=reason, retry_after=retry_after) from None
    return None


def post_message(
    client: Any,
    channel: str,
    text: str,
    blocks: list | None = None,
    *,
    must_deliver: DeliveryKind | None = None,
    **kwargs: Any,
) -> MessageRef | None:
    """chat.postMessage; where the message went, or None when Slack refused it."""
    response = slack_call(
        "chat.postMessage",
        client.chat_postMessage,
        must_deliver=must_deliver,
        channel=channel,
        text=text,
        blocks=blocks,
        **kwargs,
    )
    return MessageRef(response["channel"], response["ts"]) if response else None


def update_message(
    client: Any,
    ref: MessageRef,
    text: str,
    blocks: list | None = None,
    *,
    must_deliver: DeliveryKind | None = None,
) -> bool:
    """chat.update of the message at `ref`; False when Slack refused it."""
    response = slack_call(
        "chat.update",
        client.chat_update,
        must_deliver=must_deliver,
        channel=ref.channel,
        ts=ref.ts,
        text=text,
        blocks=blocks,
    )
    return response is not None


def _retry_after(headers: Any) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None
