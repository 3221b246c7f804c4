"""GET /healthz: the process is up and its database answers."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine, text

from bot.web.router import Environ, Response

log = logging.getLogger(__name__)


def health_handler(engine: Engine):  # noqa: ANN201
    def handle(environ: Environ) -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            body = {"status": "error", "database": "unreachable"}
            return Response(503, json.dumps(body).encode(), "application/json")
        return Response(200, b'{"status": "ok"}', "application/json")

    return handle
