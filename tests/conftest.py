"""Shared fixtures: every database test runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Stores, build_stores
from bot.store.db import make_engine, make_sessionmaker
from tests.support.browser import HAVE_CHROMIUM, NO_CHROMIUM, headless_chromium
from tests.support.configs import MINIMAL_CONFIG
from tests.support.databases import DATABASES, database_url, migrate
from tests.support.slack_api import SlackApiStub


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path)


@pytest.fixture
def engine(db_url: str):
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def stores(sessions) -> Stores:
    """The store's named operations over the test's database."""
    return build_stores(sessions)


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


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(MINIMAL_CONFIG)
    return path


@pytest.fixture
def slack_stub() -> Iterator[SlackApiStub]:
    """A Slack Web API stand-in of the test's own, with no users yet."""
    with SlackApiStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory):
    """One moto_server for the session, signatures checked after the admin bootstrap."""
    from tests.support.moto import start_moto

    server = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def two_accounts(tmp_path_factory: pytest.TempPathFactory):
    """A second moto_server with two AWS accounts, main and prod (flow 7;
    tests/support/moto_accounts.py), each with its profiles' group."""
    from tests.support.moto_accounts import start_two_accounts

    server = start_two_accounts(tmp_path_factory.mktemp("moto2") / "moto.log")
    server.main_iam().create_group(GroupName="developers")
    server.prod_iam().create_group(GroupName="prod-deployers")
    yield server
    server.moto.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module: Playwright's sync API allows one running
    instance per thread, and other modules start their own."""
    if not HAVE_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    with headless_chromium() as browser:
        yield browser


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's reporter
    """Browser tests skipped for want of Chromium: one line that says why, even without -rs."""
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in skipped if NO_CHROMIUM in str(report.longrepr))
    if count:
        terminalreporter.write_line(
            f"{count} browser test(s) skipped: {NO_CHROMIUM}", yellow=True, bold=True
        )
