"""The bot's one Slack Web API client, built from Settings (used by `run`, `remind --now`
and `check`)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.settings import Settings


def build_web_client(settings: Settings) -> WebClient:
    """SLACK_API_URL when set; rate limits (Retry-After) and connection errors are retried
    by slack_sdk before a call is given up."""
    kwargs: dict[str, Any] = {
        "token": settings.slack_bot_token,
        "timeout": settings.slack_api_timeout,
        "retry_handlers": [
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    }
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(**kwargs)
