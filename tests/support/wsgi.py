"""Serve a WSGI app with waitress (the production server) on an ephemeral port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from waitress.server import create_server


@contextmanager
def serve_wsgi(app) -> Iterator[str]:
    """Serve `app` with waitress (the production server) on an ephemeral port."""
    server = create_server(
        app, host="127.0.0.1", port=0, threads=8, ident="test", asyncore_loop_timeout=0.05
    )

    def run() -> None:
        # close() from this thread can pull the socket out from under select():
        # that is the server stopping, not a failure.
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)
