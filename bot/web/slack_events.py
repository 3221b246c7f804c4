"""POST /slack/events: the signature is checked before the body is parsed.

Bolt's own WSGI adapter parses the body before it verifies the signature, so junk from
anyone (a malformed `payload=`, `X-Slack-Request-Timestamp: abc`, a JSON list) reached
its parser and ended in a 500 with a traceback. This handler takes its place and
refuses, in this order, without parsing anything it has not authenticated:

- a body over 1 MiB: 413, not read (waitress refuses it even earlier, bot/web/server.py);
- no signature or timestamp: 401; a timestamp that is not a number: 400; one more than
  five minutes off: 401 (a replay); a signature that does not match: 401;
- a body that is not UTF-8 (Slack signs text), or a signed one that Bolt cannot parse
  or that is no kind of Slack request: 400.

Each refusal is one WARNING line (what and from where, never the body). Only then does
Bolt see the request. In Socket Mode nothing arrives here: requests come over the socket.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_sdk.signature import SignatureVerifier

from bot.web.router import Environ, Response, StartResponse
from bot.web.server import MAX_REQUEST_BODY, loggable

log = logging.getLogger(__name__)

MAX_AGE = 5 * 60  # seconds; Slack's own rule for a request's timestamp
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Clock:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now


class SlackEvents:
    """The WSGI app for POST /slack/events: authenticate, then hand the request to Bolt."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        *,
        now: Callable[[], float] = time.time,
        max_body: int = MAX_REQUEST_BODY,
    ) -> None:
        self.app = app
        self.now = now
        self.max_body = max_body
        self.verifier = SignatureVerifier(signing_secret, clock=_Clock(now))  # type: ignore[arg-type]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = self.authenticated(environ)
        except Refused as refused:
            log.warning(
                "refused %s %s from %s: %s %s",
                loggable(environ.get("REQUEST_METHOD"), 16),
                loggable(environ.get("PATH_INFO")),
                environ.get("REMOTE_ADDR") or "unknown",
                refused.status,
                refused.reason,
            )
            body = json.dumps({"error": refused.reason}).encode()
            return Response(refused.status, body, "application/json")(environ, start_response)
        answer = self.app.dispatch(request)
        response = WsgiHttpResponse(answer.status, answer.headers, answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()

    def authenticated(self, environ: Environ) -> BoltRequest:
        """The request as Bolt takes it, once it is proven to come from Slack; raises
        Refused otherwise."""
        length = _content_length(environ)
        if length > self.max_body:
            raise Refused(413, f"body over {self.max_body} bytes")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        if not timestamp or not signature:
            raise Refused(401, "no Slack signature")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(400, "malformed Slack timestamp")
        if abs(self.now() - int(timestamp)) > MAX_AGE:
            raise Refused(401, "stale Slack timestamp")
        raw = environ["wsgi.input"].read(length) if length else b""
        try:  # Slack signs UTF-8 text (the verifier decodes it the same way)
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body is not UTF-8") from None
        if not self.verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "bad Slack signature")
        headers = WsgiHttpRequest(environ).get_headers()
        try:
            request = BoltRequest(body=text, query=environ.get("QUERY_STRING", ""), headers=headers)
        except Exception:  # Bolt's parser on a signed body: Slack never sends such
            raise Refused(400, "malformed signed body") from None
        if not _is_slack_request(request.body):
            raise Refused(400, "signed body is not a Slack request")
        return request


def _content_length(environ: Environ) -> int:
    raw = environ.get("CONTENT_LENGTH") or "0"
    if not str(raw).isascii() or not str(raw).isdigit():
        raise Refused(400, "malformed Content-Length")
    return int(raw)


def _is_slack_request(body: Any) -> bool:
    """Events and interactions carry a `type`; slash commands a `command`; Slack's
    certificate check an `ssl_check`."""
    if not isinstance(body, dict):
        return False
    return isinstance(body.get("type"), str) or "command" in body or "ssl_check" in body
