"""Small real proxies that sit between the bot and AWS, Slack or PostgreSQL and misbehave
on command. Everything listens on 127.0.0.1 only.

`FaultProxy` forwards HTTP byte for byte (Host header included, so moto's SigV4 check
still passes) and applies scripted faults to the calls it matches: an AWS action
(`Action=CreateAccessKey` in the form body, or the X-Amz-Target operation) or a Slack
Web API method (`/api/chat.postMessage`).

    proxy.fail("chat.postMessage", status=500, times=2)
    proxy.throttle("CreateUser", times=3)          # AWS: 400 Throttling; Slack: 429
    proxy.drop_answer("CreateAccessKey")           # forwarded, then the answer is lost
    proxy.fail("chat.postMessage", text="Access request #")  # only a message so worded
    proxy.delay("chat.update", seconds=15)          # longer than the client's timeout
    proxy.refuse(True)                              # every call: connection closed at once

`TcpProxy` forwards raw TCP (PostgreSQL) and can cut every open connection or refuse
new ones, as a network partition or a database restart would. Polling for what the bot
does next is tests/support/polling.py's `wait_until`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Fault:
    kind: str  # fail | throttle | drop | delay | hold
    times: int
    status: int = 500
    seconds: float = 0.0
    retry_after: int = 1
    text: str | None = None  # Slack: only a message whose text starts so (None: any)


@dataclass
class Seen:
    """One call that reached the proxy, with what the proxy did to it."""

    name: str
    fault: str | None
    at: float = field(default_factory=time.monotonic)


def call_name(path: str, headers: Any, body: bytes) -> str:
    """The AWS action or Slack method a request is for ('' when neither)."""
    if path.startswith("/api/"):
        return path[len("/api/") :].split("?", 1)[0]
    target = headers.get("X-Amz-Target") or ""
    if target:
        return target.rsplit(".", 1)[-1]
    with contextlib.suppress(UnicodeDecodeError):
        action = parse_qs(body.decode()).get("Action")
        if action:
            return action[0]
    return ""


def message_text(body: bytes) -> str:
    """A Slack call's `text` argument (JSON or form body; '' when it has none)."""
    with contextlib.suppress(UnicodeDecodeError, ValueError):
        doc = json.loads(body)
        if isinstance(doc, dict):
            return str(doc.get("text") or "")
    with contextlib.suppress(UnicodeDecodeError):
        return (parse_qs(body.decode()).get("text") or [""])[0]
    return ""


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.seen: list[Seen] = []
        self.held = threading.Event()  # a held call arrived
        self.forwarded = threading.Event()  # ... and reached upstream after its release
        self._release = threading.Event()
        self._faults: dict[str, list[Fault]] = {}
        self._refusing = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- scripting ---------------------------------------------------------------

    def fail(
        self, name: str, *, status: int = 500, times: int = 1, text: str | None = None
    ) -> None:
        self._add(name, Fault("fail", times, status=status, text=text))

    def throttle(self, name: str, *, times: int = 1, retry_after: int = 1) -> None:
        self._add(name, Fault("throttle", times, retry_after=retry_after))

    def drop_answer(self, name: str, *, times: int = 1, text: str | None = None) -> None:
        """Forward the call, then close the connection without answering."""
        self._add(name, Fault("drop", times, text=text))

    def delay(self, name: str, *, seconds: float, times: int = 1) -> None:
        self._add(name, Fault("delay", times, seconds=seconds))

    def hold(self, name: str) -> None:
        """Hold the next such call until release() (then forward it)."""
        self._add(name, Fault("hold", 1))

    def release(self) -> None:
        self._release.set()

    def refuse(self, on: bool = True) -> None:
        """Close every connection at once without forwarding (AWS or Slack unreachable)."""
        self._refusing = on

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._refusing = False

    def calls(self, name: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.name == name]

    def _add(self, name: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(name, []).append(fault)

    def _take(self, name: str, body: bytes) -> Fault | None:
        with self._lock:
            queue = self._faults.get(name) or []
            if not queue:
                return None
            fault = queue[0]
            if fault.text is not None and not message_text(body).startswith(fault.text):
                return None  # another message (a sweep's summary, say): passes untouched
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # --- serving -----------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms ACK wait)

            def do_GET(self) -> None:  # noqa: N802
                proxy._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                proxy._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() (shutdown) returns at once, not after 0.5 s.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        name = call_name(request.path, request.headers, body)
        fault = None if self._refusing else self._take(name, body)
        with self._lock:
            self.seen.append(Seen(name, "refuse" if self._refusing else fault and fault.kind))
        if self._refusing:
            _hang_up(request)
            return
        if fault is not None and fault.kind == "fail":
            _answer(request, fault.status, {"ok": False, "error": "fatal_error"}, name)
            return
        if fault is not None and fault.kind == "throttle":
            _throttled(request, name, fault.retry_after)
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "hold":
            self.held.set()
            self._release.wait(timeout=60)
        status, headers, payload = self._forward(request, body)
        if fault is not None and fault.kind == "hold":
            self.forwarded.set()
        if fault is not None and fault.kind == "drop":
            _hang_up(request)  # upstream did the work; the caller never hears of it
            return
        _send(request, status, headers, payload)

    def _forward(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=60
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(request.command, request.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        return response.status, response.getheaders(), payload


def _send(
    request: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], payload: bytes
) -> None:
    with contextlib.suppress(OSError):  # the caller gave up (timeout, killed)
        request.send_response(status)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP:
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def _answer(request: BaseHTTPRequestHandler, status: int, slack_body: dict, name: str) -> None:
    if request.path.startswith("/api/"):
        payload = json.dumps(slack_body).encode()
        _send(request, status, [("Content-Type", "application/json")], payload)
        return
    xml = (
        "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
        f"<Message>injected {status} for {name}</Message></Error>"
        "<RequestId>fault</RequestId></ErrorResponse>"
    ).encode()
    _send(request, status, [("Content-Type", "text/xml")], xml)


def _throttled(request: BaseHTTPRequestHandler, name: str, retry_after: int) -> None:
    if request.path.startswith("/api/"):
        payload = json.dumps({"ok": False, "error": "ratelimited"}).encode()
        headers = [("Content-Type", "application/json"), ("Retry-After", str(retry_after))]
        _send(request, 429, headers, payload)
        return
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        f"<Message>Rate exceeded ({name})</Message></Error>"
        "<RequestId>fault</RequestId></ErrorResponse>"
    ).encode()
    _send(request, 400, [("Content-Type", "text/xml")], xml)


def _hang_up(request: BaseHTTPRequestHandler) -> None:
    request.close_connection = True
    with contextlib.suppress(OSError):
        request.connection.shutdown(socket.SHUT_RDWR)


class TcpProxy:
    """Raw TCP forwarding (PostgreSQL) that can cut live connections or refuse new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._open: set[socket.socket] = set()
        self._refusing = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        """Close every open connection (both sides), as a network failure would."""
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def refuse(self, on: bool = True) -> None:
        """While on, new connections are closed at once (the database is down)."""
        self._refusing = on
        if on:
            self.cut()

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, server}
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
