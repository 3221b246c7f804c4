"""The production WSGI server (waitress) with a graceful stop on SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from waitress.server import create_server

from bot.web.router import WsgiApp

log = logging.getLogger(__name__)


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
    server = create_server(
        app, host=host, port=port, threads=threads, ident="aws-access-bot", **proxy
    )
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
    server = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=threads,
        ident="aws-access-bot",
        asyncore_loop_timeout=0.05,
    )

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
