"""A loopback HTTP proxy in front of moto that can hold one AWS action mid-flight.

The bot's AWS_ENDPOINT_URL points here; requests are forwarded byte for byte (Host
header included, so moto's SigV4 check still passes). With `hold("CreateAccessKey")`
the first such request waits until the test releases it: the test can kill the bot
while provisioning is provably in the middle, then let the request through to show
what a response lost in a crash leaves behind.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class StallProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.held = threading.Event()  # the held request arrived
        self.forwarded = threading.Event()  # ... and reached moto after its release
        self._release = threading.Event()
        self._action: str | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hold(self, action: str) -> None:
        self._action = action

    def release(self) -> None:
        self._release.set()

    def start(self) -> StallProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                proxy._forward(self)

            def do_POST(self) -> None:  # noqa: N802
                proxy._forward(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _take_hold(self, body: bytes) -> bool:
        with self._lock:
            if self._action and f"Action={self._action}".encode() in body:
                self._action = None  # hold only the first one
                return True
            return False

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        holding = self._take_hold(body)
        if holding:
            self.held.set()
            self._release.wait(timeout=60)
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(request.command, request.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        if holding:
            self.forwarded.set()
        try:
            request.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    request.send_header(key, value)
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except OSError:  # the bot that asked is gone (killed): its answer is lost
            pass
