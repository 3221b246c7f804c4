"""Engine and session setup, and applying migrations."""

from __future__ import annotations

import functools
import inspect
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the same transaction semantics on SQLite and PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _sqlite_immediate_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


WRITER_WAIT = 35.0  # seconds; longer than SQLite's own busy timeout (30 s)
_WRITER = "aws_access_bot.sqlite_writer"
_READ_ONLY = "aws_access_bot_read_only"


def _sqlite_immediate_transactions(engine: Engine) -> None:
    # pysqlite opens transactions lazily and lets two writers deadlock on the upgrade
    # from a read lock; BEGIN IMMEDIATE takes the write lock up front, so concurrent
    # writers wait (busy timeout) instead of failing with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
    # growing steps (1, 2, 5, 10, ... 100 ms) before it looks again: with a few threads
    # writing, most of their time went to those sleeps (bench/README.md, "SQLite").
    # Threads of this process queue on a lock of their own instead, handed over the
    # moment a transaction ends; SQLite's lock still guards against other processes.
    # Never held for good: a thread waits WRITER_WAIT at most, then falls back to
    # SQLite's own waiting.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get(_READ_ONLY):
            # A read (`reading` below): a deferred BEGIN reads WAL's last committed
            # snapshot without taking SQLite's write lock or queueing on ours.
            conn.exec_driver_sql("BEGIN")
            return
        held = writer.acquire(timeout=WRITER_WAIT)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                writer.release()
            raise
        if held:
            conn.info[_WRITER] = writer

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn):  # noqa: ANN001
        _release(conn.info)

    # However a transaction ends (a connection invalidated by an error, returned to the
    # pool mid-transaction), the lock goes with it.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # noqa: ANN001
        _release(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection, record, _exc):  # noqa: ANN001
        _release(record.info)


def _release(info: dict) -> None:
    held = info.pop(_WRITER, None)
    if held is not None:
        held.release()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- the one place driver errors become domain errors -------------------------------


class SqlStore:
    """Base of every store class. Each public method's driver errors become
    StoreUnavailable here, once: callers (listeners, sweeps, the worker) then answer
    "not recorded, try again" without knowing SQLAlchemy, and no driver text (SQL,
    parameters, host names) travels further than this log line."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, translating(member))


def translating(fn: F) -> F:
    """`fn` with the database's failures raised as StoreUnavailable (the transaction,
    if any, was rolled back by its context manager on the way out)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            _log_failure(fn, exc, "unreachable")
            raise StoreUnavailable() from None
        except DBAPIError as exc:
            if exc.connection_invalidated:
                _log_failure(fn, exc, "unreachable")
                raise StoreUnavailable() from None
            _log_failure(fn, exc, "refused the statement")
            raise StoreUnavailable(refused=True) from None

    return call  # type: ignore[return-value]


def _log_failure(fn: Callable[..., Any], exc: Exception, what: str) -> None:
    # The driver's class names the problem; its message may quote SQL or parameters.
    cause = getattr(exc, "orig", None) or exc
    log.warning("database %s in %s: %s", what, fn.__qualname__, type(cause).__name__)


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only, never writes. On SQLite its transaction is a deferred
    BEGIN: it reads the last committed snapshot (WAL) without waiting for the single
    writer, where every other transaction is BEGIN IMMEDIATE and queues for it
    (bench/README.md, "SQLite"). A write in it would fail (or, worse, upgrade a read
    lock), so only code that cannot write may use it. PostgreSQL: a plain session."""
    with sessions() as session:
        session.connection(execution_options={_READ_ONLY: True})
        yield session


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with sessions.begin() as session:
        yield session


def alembic_config(engine: Engine | None = None) -> Config:
    # Alembic is imported only to migrate: `run` on a migrated database never loads it
    # (at_head below; bench/README.md, "Memory").
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("bot.migrations")))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


# Any fixed number: the PostgreSQL advisory lock that serialises replicas' migrations.
MIGRATION_LOCK_KEY = 0x61776262


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (idempotent; safe when replicas start together)."""
    from alembic import command

    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


_REVISION = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)


def migration_heads() -> set[str]:
    """The newest revision(s) of the migration scripts, read as text (no Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (resources.files("bot.migrations") / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        for down, value in _REVISION.findall(script.read_text()):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (parents if down else revisions).update(names)
    return revisions - parents


def at_head(engine: Engine) -> bool:
    """True when the database is at the newest revision, asked with plain SQL. False
    when unsure (no alembic_version table, scripts unreadable): then migrate."""
    heads = migration_heads()
    with engine.connect() as conn:
        if not heads or not sa_inspect(conn).has_table("alembic_version"):
            return False
        current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return current == heads


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    # Several replicas starting at once would all see an empty database and race to
    # CREATE TABLE. On PostgreSQL they queue on an advisory lock, and each then finds
    # the work done. SQLite needs none: migrations/env.py runs every pending migration
    # in one transaction, whose BEGIN IMMEDIATE takes the write lock before Alembic
    # reads the current revision.
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


def pending_migrations(engine: Engine) -> bool:
    """True when the database is not at the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current != set(script.get_heads())
