"""A local Slack Web API stand-in on an ephemeral port, and Slack request signing.

The bot's real WebClient talks HTTP to this server (SLACK_API_URL); tests assert on the
recorded calls. Responses default to what Slack returns for success and can be
overridden per method, including errors (channel_not_found) and rate limits (429 +
Retry-After), as bolt-python's own scenario tests do with their mock server.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_FIELDS = ("blocks", "view", "attachments", "metadata")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackApiStub:
    """Records Web API calls; answers like Slack."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self._scripted: dict[str, list[_Scripted]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        # What apps.connections.open hands out (tests.support.socket_mode.SocketModeStub.url).
        self.socket_url: str | None = None

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                stub._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> SlackApiStub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting -----------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        *,
        tz: str = "Europe/Paris",
        tz_offset: int = 3600,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": user_id.lower(),
            "deleted": deleted,
            "is_bot": is_bot,
            "tz": tz,
            "tz_offset": tz_offset,
            "profile": {"email": email, "real_name": user_id.title(), "display_name": user_id},
        }

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `times` calls to `method` answer `{"ok": false, "error": error}`."""
        with self._lock:
            self._scripted.setdefault(method, []).extend(
                _Scripted(status, {"ok": False, "error": error}, headers or {})
                for _ in range(times)
            )

    def reply(self, method: str, body: dict[str, Any], *, times: int = 1) -> None:
        """The next `times` calls to `method` answer `body` (e.g. a non-member channel)."""
        with self._lock:
            self._scripted.setdefault(method, []).extend(_Scripted(200, body) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.fail(
            method,
            "ratelimited",
            times=times,
            status=429,
            headers={"Retry-After": str(retry_after)},
        )

    # --- inspection ----------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `method` was called at least `count` times (work runs after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} call(s) to {method}, got {len(self.calls_to(method))}; "
            f"calls so far: {self.methods()}"
        )

    # --- the server side -----------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        method = parsed.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if raw:
            if "json" in (request.headers.get("Content-Type") or ""):
                params.update(json.loads(raw))
            else:
                params.update(urllib.parse.parse_qsl(raw.decode()))
        for name in JSON_FIELDS:
            if isinstance(params.get(name), str):
                with contextlib.suppress(ValueError):  # plain text stays text
                    params[name] = json.loads(params[name])
        auth = request.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ") or params.get("token")
        with self._lock:
            self.calls.append(Call(method, params, token))
            scripted = self._scripted.get(method)
            answer = scripted.pop(0) if scripted else None
        if answer is None:
            answer = _Scripted(200, self._default(method, params))
        body = json.dumps(answer.body).encode()
        request.send_response(answer.status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        for key, value in answer.headers.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)

    def _default(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"{1700000000 + next(self._ts)}.000100"
        channel = params.get("channel")
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
                "team_id": "T0TEAM",
                "team": "Test",
                "url": "https://test.slack.com/",
            }
        if method == "apps.connections.open" and self.socket_url:
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": params.get("text"), "ts": ts},
            }
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://test.slack.com/archives/{channel}/p{params.get('message_ts')}",
            }
        if method == "conversations.open":
            users = params.get("users", "")
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("UW")}}
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": channel, "is_member": True}}
        if method == "users.info":
            user = self.users.get(params.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **(params.get("view") or {})}}
        return {"ok": True}


# --- signing -----------------------------------------------------------------


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_signed(
    url: str,
    body: str,
    secret: str | None,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes, float]:
    """POST like Slack does; `secret=None` sends no signature headers.

    Returns (status, body, seconds until the response arrived = the ack time).
    """
    headers = {"Content-Type": content_type}
    if secret is not None:
        ts = int(time.time()) if timestamp is None else timestamp
        headers["X-Slack-Request-Timestamp"] = str(ts)
        headers["X-Slack-Signature"] = sign(secret, body, ts)
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.perf_counter() - started


def dispatch_signed(
    app: Any, body: str, secret: str, *, content_type: str = "application/x-www-form-urlencoded"
) -> int:
    """Hand `body`, signed like Slack does, to a Bolt App in process (as bolt-python's
    own tests do); returns the HTTP status Bolt answers with."""
    from slack_bolt import BoltRequest

    ts = int(time.time())
    request = BoltRequest(
        body=body,
        headers={
            "content-type": [content_type],
            "x-slack-request-timestamp": [str(ts)],
            "x-slack-signature": [sign(secret, body, ts)],
        },
    )
    return app.dispatch(request).status


def form(**fields: Any) -> str:
    """Form-encode a slash command, or a `payload=<json>` interaction."""
    return urllib.parse.urlencode(
        {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in fields.items()}
    )
