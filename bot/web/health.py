"""GET /healthz: the process is up and its database answers.

With `backlog`, the answer also says how many jobs handed off after an ack are still
queued or running (`{"status": "ok", "backlog": 0}`): a count, nothing about any request.
A load test reads it to know the bot has caught up (bench/README.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from bot.web.router import Environ, Handler, Response

log = logging.getLogger(__name__)


def health_handler(
    ping_database: Callable[[], object], backlog: Callable[[], int] | None = None
) -> Handler:
    """`ping_database` raises when the database does not answer (bot/runtime.py hands it
    in: the web layer never touches the database itself)."""

    def handle(environ: Environ) -> Response:
        try:
            ping_database()
        except Exception as exc:  # any database failure means "not healthy"
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            body = {"status": "error", "database": "unreachable"}
            return Response(503, json.dumps(body).encode(), "application/json")
        if backlog is None:
            return Response(200, b'{"status": "ok"}', "application/json")
        body = {"status": "ok", "backlog": int(backlog())}
        return Response(200, json.dumps(body).encode(), "application/json")

    return handle
