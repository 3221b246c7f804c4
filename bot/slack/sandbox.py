"""Sandbox mode on the Slack side: whatever the listeners send carries the sandbox note.

The runtime's one WebClient is a SandboxWebClient, so everything the Notifier sends is
marked. Listeners answer through the per-request WebClient Bolt builds and through
`ack(...)`; one global middleware swaps both for marking versions, so no listener needs
to know about the sandbox and a new listener cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.slack.surfaces.sandbox_marks import sandbox_blocks, sandbox_text, sandbox_view

MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"}
)
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})


def mark_payload(api_method: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Web API arguments of `api_method` with the sandbox note added (a copy)."""
    if api_method in MESSAGE_METHODS:
        marked = {**payload, "text": sandbox_text(str(payload.get("text") or ""))}
        if payload.get("blocks"):
            marked["blocks"] = sandbox_blocks(payload["blocks"])
        return marked
    if api_method in VIEW_METHODS and isinstance(payload.get("view"), dict):
        return {**payload, "view": sandbox_view(payload["view"])}
    return payload


class SandboxWebClient(WebClient):
    """A WebClient that marks every message and view it sends."""

    @classmethod
    def like(cls, client: WebClient) -> SandboxWebClient:
        # The same settings Bolt copies into its per-request client.
        return cls(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=client.headers,
            team_id=client.default_params.get("team_id"),
            logger=client.logger,
            retry_handlers=list(client.retry_handlers or []),
        )

    def api_call(  # type: ignore[override]
        self,
        api_method: str,
        *,
        json: dict | None = None,
        data: dict | None = None,
        **kwargs: Any,
    ) -> SlackResponse:
        if json is not None:
            json = mark_payload(api_method, json)
        if data is not None:
            data = mark_payload(api_method, data)
        return super().api_call(api_method, json=json, data=data, **kwargs)


class SandboxAck(Ack):
    """ack() that marks what the user will see: an ephemeral answer to a slash command,
    or a view pushed/updated from a submission. An empty ack stays empty."""

    def __call__(self, text: str | dict = "", blocks: Any = None, **kwargs: Any) -> BoltResponse:
        if isinstance(text, str) and (text or blocks):
            text = sandbox_text(text)
            blocks = sandbox_blocks(blocks)
        view = kwargs.get("view")
        if isinstance(view, dict):
            kwargs["view"] = sandbox_view(view)
        return super().__call__(text, blocks, **kwargs)


def sandbox_middleware(context: BoltContext, next: Callable[[], Any]) -> Any:  # noqa: A002
    """Bolt global middleware: runs before every listener of a sandbox app."""
    context["client"] = SandboxWebClient.like(context.client)
    context["ack"] = SandboxAck()
    return next()
