"""Shared fixtures: every database test runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import make_engine, make_sessionmaker, upgrade

PG_SKIP_REASON = (
    "PostgreSQL not configured: set TEST_DATABASE_URL "
    "(.ci/run sets postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def reset_postgres(url: str) -> None:
    """Start from an empty schema so each test sees only its own rows."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url = postgres_url()
    if url is None:
        pytest.skip(PG_SKIP_REASON)
    reset_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


class FakeClock:
    """A clock tests move by hand; never sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MINIMAL_CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1", "U0OWNER2"]

[aws]
iam_path = "/onboarding/"

[[profiles]]
name = "developer"
description = "Read/write on dev resources"
groups = ["developers"]
policies = []
console = true
programmatic = true
approvals_required = 1
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(MINIMAL_CONFIG)
    return path


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory):
    """One moto_server for the session, signatures checked after the admin bootstrap."""
    from tests.support.moto import start_moto

    server = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()
