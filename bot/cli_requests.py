"""`aws-access-bot requests` (the list, `--json`) and `requests show ID`: read-only.

Neither ever creates a database: a SQLite file that is not there is reported (with the
command that creates it) before anything connects, since connecting would create an
empty file. `run` and `db upgrade` are the only commands that create or migrate.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.domain.states import Status
from bot.runtime import StartupError, opened, require_migrated
from bot.settings import Settings


def database_missing(settings: Settings) -> str | None:
    """The message for a SQLite DATABASE_URL whose file does not exist, else None."""
    url = make_url(settings.database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if Path(database).exists():
        return None
    return (
        f"database: {settings.database_url_shown} does not exist yet: run "
        "`aws-access-bot db upgrade` (or start `run`, which creates and migrates it); "
        "nothing was created"
    )


def require_database(settings: Settings) -> None:
    if (message := database_missing(settings)) is not None:
        raise StartupError(message)


def list_requests_text(
    settings: Settings, *, status: Status | None, limit: int | None, as_json: bool
) -> str:
    from bot.services.listing import list_requests, render_table

    require_database(settings)
    with opened(settings) as container:
        require_migrated(container)
        stores = container.stores
        rows = list_requests(
            stores.requests, status=status, limit=limit, deliveries=stores.deliveries
        )
        if not as_json:
            return render_table(rows, container.clock.now())
        return json.dumps(
            [
                {
                    **asdict(row),
                    "created_at": row.created_at.isoformat(),
                    "undelivered": list(row.undelivered),
                }
                for row in rows
            ],
            indent=2,
        )


def show_request_text(settings: Settings, request_id: int, *, as_json: bool) -> str:
    from bot.services.history import history_json, render_history, request_history

    require_database(settings)
    with opened(settings) as container:
        require_migrated(container)
        history = request_history(container.stores.requests, request_id)
    if history is None:
        raise StartupError(f"no request #{request_id}")
    return history_json(history) if as_json else render_history(history)
