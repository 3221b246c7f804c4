"""The databases tests run on: a SQLite file of the test's own, or the PostgreSQL of
TEST_DATABASE_URL emptied first (skipped when it is not configured)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import make_engine

PG_SKIP_REASON = (
    "PostgreSQL not configured: set TEST_DATABASE_URL "
    "(.ci/run sets postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)
DATABASES = ["sqlite", "postgresql"]


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def reset_postgres(url: str) -> None:
    """Start from an empty schema so each test sees only its own rows."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(database: str, tmp_path: Path, sqlite_file: str = "bot.db") -> str:
    """An empty database of kind `database` ("sqlite" or "postgresql") for one test."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / sqlite_file}"
    url = postgres_url()
    if url is None:
        pytest.skip(PG_SKIP_REASON)
    reset_postgres(url)
    return url
