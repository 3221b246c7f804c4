"""The production WSGI server (waitress) with a graceful stop on SIGTERM.

Bodies over MAX_REQUEST_BODY are refused by waitress from the Content-Length header (or,
for a chunked body, once that much has arrived) with 413, before any of it is buffered
or the app runs; its default would buffer up to 1 GiB per request. Every request
waitress itself refuses (413, a malformed request line or header) is logged as one
WARNING line, never with its body.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from bot.web.router import WsgiApp

log = logging.getLogger(__name__)

# Slack's events and interactions are a few kB; nothing the bot serves takes more.
MAX_REQUEST_BODY = 1024 * 1024

# Connections, not threads, are what a burst needs: Slack's senders keep connections
# open, and past waitress's default connection_limit (100) a new client waits in the
# accept queue until an open one closes, far beyond Slack's 3 seconds (200 clients:
# bench/README.md). poll() instead of select(), which stops at 1,024 descriptors.
CONNECTIONS = {"connection_limit": 1000, "backlog": 2048, "asyncore_use_poll": True}


def loggable(text: str | None, limit: int = 120) -> str:
    """A client-chosen string (a path, a method) safe for one log line: printable
    characters only, at most `limit` of them."""
    text = text or "-"
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


class _LoggedErrorTask(ErrorTask):
    """waitress's own refusals (it answers them without calling the app), logged once."""

    def execute(self) -> None:
        error = self.request.error
        if error is not None and error.code < 500:  # a 500 is logged where it happens
            log.warning(
                "refused %s %s from %s: %s %s",
                loggable(self.request.command, 16),
                loggable(self.request.path),
                self.channel.addr[0] if self.channel.addr else "unknown",
                error.code,
                error.reason,
            )
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _LoggedErrorTask


def _create(app: WsgiApp, **options: Any) -> Any:
    sockets: dict[int, object] = {}
    # waitress refuses a body whose length is >= max_request_body_size.
    server = create_server(
        app,
        map=sockets,
        ident="aws-access-bot",
        max_request_body_size=MAX_REQUEST_BODY + 1,
        **(CONNECTIONS | options),
    )
    for listener in sockets.values():  # one per address `host` resolves to
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _Channel
    return server


def _stop(signum: int, _frame: FrameType | None) -> None:
    # waitress's run loop treats SystemExit as "stop": it closes the listening socket
    # and lets in-flight requests finish before returning.
    raise SystemExit(0)


def serve(
    app: WsgiApp,
    host: str,
    port: int,
    *,
    threads: int = 8,
    trusted_proxy: str | None = None,
    on_ready: Callable[[str, int], None] | None = None,
) -> None:
    """Serve `app` until SIGTERM or SIGINT, then return.

    With `trusted_proxy` (the load balancer's address, or "*"), waitress takes the client
    address from that proxy's X-Forwarded-For, so per-client limits see real clients;
    forwarding headers from anyone else are dropped.
    """
    proxy: dict[str, object] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True,
        }
    server = _create(app, host=host, port=port, threads=threads, **proxy)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        bound_port = server.effective_port  # type: ignore[attr-defined]
        log.info("serving on http://%s:%s", host, bound_port)
        if on_ready:
            on_ready(host, bound_port)
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("server stopped")


@contextlib.contextmanager
def serving(app: WsgiApp, *, threads: int = 8) -> Iterator[str]:
    """Serve `app` with the same waitress stack on an ephemeral loopback port, in a
    background thread (tests, benchmarks, the screenshot script); yields the base URL."""
    server = _create(app, host="127.0.0.1", port=0, threads=threads, asyncore_loop_timeout=0.05)

    def run() -> None:
        # close() from the caller's thread can pull the socket out from under select():
        # that is the server stopping, not a failure.
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[attr-defined]
    finally:
        server.close()
        thread.join(timeout=5)
