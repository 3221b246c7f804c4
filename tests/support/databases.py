"""The databases tests run on: a SQLite file of the test's own, or the PostgreSQL of
TEST_DATABASE_URL emptied first (skipped when it is not configured)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from bot.store.db import make_engine, upgrade

PG_SKIP_REASON = (
    "PostgreSQL not configured: set TEST_DATABASE_URL "
    "(.ci/run sets postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)
DATABASES = ["sqlite", "postgresql"]


def postgres_url() -> str | None:
    """TEST_DATABASE_URL; under pytest-xdist, a database of each worker's own beside it
    (`test_gw0`, ...), created when missing, since every test empties its database."""
    url = os.environ.get("TEST_DATABASE_URL") or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or not worker:
        return url
    return _worker_database(url, worker)


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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


# --- a migrated database, fast ------------------------------------------------------
# Running the eight migrations costs 0.1 s on SQLite and 0.17 s on PostgreSQL, and some
# 640 tests start from a migrated database. The first of them in a session migrates for
# real; the others get a snapshot of what the migrations made: a copy of the SQLite file,
# or PostgreSQL's pg_dump of it replayed. tests/integration/test_migrations.py and
# test_frozen_rules.py still run the migrations themselves, from 0001 to head.


@dataclass
class _Snapshots:
    sqlite: Path | None = None  # a migrated SQLite file
    postgresql: str | None = None  # pg_dump of a migrated PostgreSQL database


_snapshots = _Snapshots()
_snapshot_lock = threading.Lock()


def migrate(engine: Engine) -> None:
    """Bring the empty database of `database_url` (not yet connected to) to head."""
    with _snapshot_lock:
        if engine.dialect.name == "sqlite":
            _migrate_sqlite(engine)
        else:
            _migrate_postgres(engine)


def _migrate_sqlite(engine: Engine) -> None:
    path = Path(engine.url.database or "")
    if _snapshots.sqlite is not None and not path.exists():
        shutil.copyfile(_snapshots.sqlite, path)
        return
    upgrade(engine)
    conn = engine.raw_connection()  # autocommit: fold the WAL into the file
    try:
        conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    engine.dispose()
    folder = tempfile.mkdtemp(prefix="bot-migrated-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _snapshots.sqlite = Path(folder) / "head.db"
    shutil.copyfile(path, _snapshots.sqlite)


def _migrate_postgres(engine: Engine) -> None:
    statements = _snapshots.postgresql
    if statements is not None:
        # A raw connection, no parameters: psycopg sends the statements as they are
        # (the dump's function bodies hold "%"), in one transaction.
        conn = engine.raw_connection()
        try:
            conn.cursor().execute(statements)
            conn.commit()
        finally:
            conn.invalidate()  # the dump's session settings (search_path) go with it
        return
    upgrade(engine)
    _snapshots.postgresql = _pg_dump(engine)


def _pg_dump(engine: Engine) -> str | None:
    """The migrated schema and its rows as SQL, or None without pg_dump (then every test
    migrates)."""
    if shutil.which("pg_dump") is None:
        return None
    # The password through the environment: a failure's message quotes the command line.
    url = engine.url.set(drivername="postgresql", password=None).render_as_string()
    env = {**os.environ, "PGPASSWORD": engine.url.password or ""}
    out = subprocess.run(
        ["pg_dump", "--inserts", "--no-owner", "--no-privileges", "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    # psql's own commands (\restrict, ...) are not SQL.
    return "\n".join(line for line in out.splitlines() if not line.startswith("\\"))
