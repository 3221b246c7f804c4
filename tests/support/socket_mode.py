"""A local Slack Socket Mode stand-in: a WebSocket server on an ephemeral loopback port.

Slack's side of Socket Mode, as far as the bot can tell: `apps.connections.open` (served
by the Web API stand-in, see `SlackApiStub.socket_url`) hands out this server's
`ws://127.0.0.1:PORT/link/?ticket=...` URL; on connect the server says `hello`, then
delivers envelopes

    {"envelope_id": ..., "type": "slash_commands" | "interactive" | "events_api",
     "payload": {...}, "accepts_response_payload": ...}

and records what the app sends back (`{"envelope_id": ..., "payload": ...}` acks).
The frames are real RFC 6455 frames (the `websockets` library), so the bot's own
slack_sdk Socket Mode client does its real handshake, pings and framing against it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

TICKET = "test-ticket"
APP_ID = "A0APP"


@dataclass
class Session:
    """One WebSocket connection from the bot."""

    path: str
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)


class SocketModeStub:
    """Delivers envelopes to the connected app; records its acks by envelope id."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self._connections: list[tuple[Session, ServerConnection]] = []
        self._changed = threading.Condition()
        self._server: Server | None = None

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> str:
        # No compression: Slack's endpoint offers none and slack_sdk's builtin client
        # cannot inflate frames.
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={TICKET}&app_id={APP_ID}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    # --- the server side -----------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        session = Session(path=connection.request.path, opened_at=time.monotonic())
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(session.path).query))
        if query.get("ticket") != TICKET:  # only URLs apps.connections.open handed out
            connection.close(code=1008, reason="invalid ticket")
            return
        with self._changed:
            self.sessions.append(session)
            self._connections.append((session, connection))
            self._changed.notify_all()
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._connections),
                    "debug_info": {"host": "stub", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        try:
            for raw in connection:
                message = json.loads(raw)
                with self._changed:
                    session.received.append(message)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass  # the app dropped the TCP connection without a close frame
        finally:
            with self._changed:
                session.closed_at = time.monotonic()
                session.close_code = connection.close_code
                self._connections.remove((session, connection))
                self._changed.notify_all()

    # --- delivering ----------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Deliver one envelope over the newest open connection; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        if accepts_response_payload is not None:
            envelope["accepts_response_payload"] = accepts_response_payload
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        self._live_connection().send(json.dumps(envelope))
        return envelope_id

    def slash_command(self, fields: dict[str, Any]) -> str:
        return self.send("slash_commands", fields, accepts_response_payload=True)

    def interactive(self, payload: dict[str, Any]) -> str:
        # Slack lets view submissions answer with a payload (response_action), and
        # block_actions not.
        accepts = payload.get("type") in ("view_submission", "view_closed")
        return self.send("interactive", payload, accepts_response_payload=accepts)

    def event(self, callback: dict[str, Any]) -> str:
        return self.send("events_api", callback, accepts_response_payload=False)

    def refresh(self, reason: str = "refresh_requested") -> None:
        """Ask the app to move to a new connection, as Slack does every few hours."""
        self._live_connection().send(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "stub"}})
        )

    def _live_connection(self) -> ServerConnection:
        with self._changed:
            if not self._connections:
                raise AssertionError("no app is connected to the Socket Mode stand-in")
            return self._connections[-1][1]

    # --- inspection ----------------------------------------------------------

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> Session:
        """Wait until the app opened `count` connections; returns the newest."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.sessions) >= count, timeout):
                raise AssertionError(f"the app did not connect {count} time(s) in {timeout}s")
            return self.sessions[count - 1]

    def acks(self) -> list[dict[str, Any]]:
        with self._changed:
            return [m for s in self.sessions for m in s.received if "envelope_id" in m]

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's ack of `envelope_id` (its `payload`, if any, is the response)."""

        def found() -> dict[str, Any] | None:
            return next((a for a in self.acks() if a["envelope_id"] == envelope_id), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"envelope {envelope_id} was not acked in {timeout}s")
        ack = found()
        assert ack is not None
        return ack

    def wait_closed(self, timeout: float = 10.0) -> list[Session]:
        """Wait until every connection the app opened has ended."""
        with self._changed:
            if not self._changed.wait_for(lambda: not self._connections, timeout):
                raise AssertionError(f"the app kept its socket open for {timeout}s")
            return list(self.sessions)


def socket_payload(body: str) -> dict[str, Any]:
    """What Slack puts in an envelope's `payload` for a body the HTTP builders made.

    Slash commands are the form's fields; interactions are the JSON of `payload=`;
    Events API callbacks are the JSON body itself (tests.support.slack_payloads).
    """
    if body.lstrip().startswith("{"):
        return json.loads(body)
    fields = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    if set(fields) == {"payload"}:
        return json.loads(fields["payload"])
    return fields
