"""Alembic environment: used by `aws-access-bot db upgrade`, `run`, and plain `alembic`."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Engine

from bot.store.db import make_engine
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> tuple[Engine, bool]:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine, False
    # Plain `alembic` from the repo root: DATABASE_URL as the bot would read it.
    from bot.settings import load_settings

    url = load_settings(os.environ, need_config=False).database_url
    return make_engine(url), True


def run_migrations_online() -> None:
    engine, owned = _engine()
    try:
        # One transaction for every pending migration, begun before Alembic reads the
        # current revision. On SQLite that BEGIN is BEGIN IMMEDIATE (bot/store/db.py):
        # replicas migrating at once queue on the write lock and each then finds the work
        # done. (Left to itself Alembic commits after each migration on SQLite, which it
        # treats as having no transactional DDL: a waiting replica would then apply the
        # next migration a second time, "duplicate column name".) PostgreSQL: one
        # transaction as before, under the advisory lock of bot/store/db.py's upgrade().
        with engine.connect() as connection, connection.begin():
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run aws-access-bot db upgrade")
run_migrations_online()
