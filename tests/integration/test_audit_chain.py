"""The audit log is a hash chain (docs/audit.md): `aws-access-bot audit verify` passes on
an untouched log and names the first event a hand edit, a deletion or a truncation
broke; PostgreSQL refuses UPDATE, DELETE and TRUNCATE outright; two processes
appending at once still make one chain; and the events written before migration 0007
were chained by it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from bot.cli import main
from bot.domain.audit import GENESIS, event_hash
from bot.store.audit import SqlAuditLog
from bot.store.db import alembic_config, make_engine, make_sessionmaker, upgrade
from bot.store.models import AccessRequest, AuditEvent
from tests.support.polling import wait_until
from tests.support.processes import REPO
from tests.support.stores import NOW, OWNERS, submitted


def audit_cli(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["audit", *args], env={"DATABASE_URL": db_url})
    return status, capsys.readouterr().out


def a_few_events(stores) -> int:  # noqa: ANN001
    view = submitted(stores)
    stores.requests.approve(view.id, OWNERS[0], 2, NOW)
    stores.requests.approve(view.id, OWNERS[1], 2, NOW)
    stores.requests.record(None, actor="scheduler", kind="pending_summary", now=NOW, pending=0)
    return view.id


def tamper(engine: Engine, sql: str) -> None:
    """What someone with the database's password could do by hand. On PostgreSQL the
    append-only trigger is bypassed as the superuser would (replica role)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(sql)


def seq_ids(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(AuditEvent.seq, AuditEvent.id)).all())


def test_verify_passes_then_names_the_hand_edited_event(stores, engine, db_url, capsys) -> None:
    a_few_events(stores)
    assert audit_cli(db_url, capsys, "verify") == (0, "audit chain verified: 5 events\n")

    edited = seq_ids(engine)[3]
    tamper(engine, f"UPDATE audit_events SET actor = 'U0MALLORY' WHERE id = {edited}")

    status, out = audit_cli(db_url, capsys, "verify")
    assert status == 1
    assert f"audit event id={edited} (seq 3, approval, request #1)" in out
    assert "stored hash does not match its content (edited)" in out
    assert "2 events before it verify" in out


def test_an_edit_that_rehashes_its_row_is_named_at_the_next_event(
    stores, engine, sessions, db_url, capsys
) -> None:
    a_few_events(stores)
    ids = seq_ids(engine)
    # The forger rewrites event 2 and recomputes its own hash by the canonical form;
    # event 3 still holds the old hash as its previous one.
    [_, second, *_] = list(SqlAuditLog(sessions).events())
    forged = replace(second.event, actor="U0MALLORY")
    tamper(
        engine,
        f"UPDATE audit_events SET actor = 'U0MALLORY', hash = '{event_hash(forged)}' "
        f"WHERE id = {ids[2]}",
    )
    status, out = audit_cli(db_url, capsys, "verify")
    assert status == 1
    assert f"audit event id={ids[3]} (seq 3" in out
    assert "previous-hash is not the hash of the event before it" in out


def test_deleted_events_are_named(stores, engine, db_url, capsys) -> None:
    a_few_events(stores)
    ids = seq_ids(engine)
    tamper(engine, f"DELETE FROM audit_events WHERE id = {ids[5]}")  # the newest
    status, out = audit_cli(db_url, capsys, "verify")
    assert status == 1
    assert "the chain head says 5 events" in out and "table ends at seq 4" in out

    tamper(engine, f"DELETE FROM audit_events WHERE id = {ids[2]}")  # one in the middle
    status, out = audit_cli(db_url, capsys, "verify")
    assert status == 1
    assert f"audit event id={ids[3]} (seq 3" in out and "an event is missing" in out


# The append-only trigger is PostgreSQL's: no SQLite case (skipped without TEST_DATABASE_URL).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_update_delete_and_truncate(stores, engine) -> None:
    assert engine.dialect.name == "postgresql"
    a_few_events(stores)
    for sql in (
        "UPDATE audit_events SET actor = 'U0MALLORY'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with (
            pytest.raises(DBAPIError, match="audit_events is append-only"),
            engine.begin() as conn,
        ):
            conn.exec_driver_sql(sql)
    assert SqlAuditLog(make_sessionmaker(engine)).verify() == (5, None)


def test_a_deleted_request_keeps_its_audit_trail(stores, sessions) -> None:
    request_id = a_few_events(stores)
    with sessions.begin() as session:
        session.execute(delete(AccessRequest).where(AccessRequest.id == request_id))
    trail = stores.requests.audit_of(request_id)
    assert [e.kind for e in trail] == ["requested", "approval", "approval", "approved"]
    assert SqlAuditLog(sessions).verify() == (5, None)


APPENDER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from bot.domain.storage import NewRequest
    from bot.store import build_stores
    from bot.store.db import make_engine, make_sessionmaker
    from tests.support.stores import RULES

    url, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    stores = build_stores(make_sessionmaker(make_engine(url)))
    (go.parent / name).touch()  # ready
    while not go.exists():
        time.sleep(0.005)
    for n in range(count):
        now = datetime.now(UTC)
        if n % 10 == 0:
            new = NewRequest(name, f"p{n}", f"{name}-{n}", "load", RULES)
            stores.requests.submit(new, now)
        else:
            stores.requests.record(None, actor=name, kind="appended", now=now, n=n)
    """
)


NAMES = ("U0PROCA", "U0PROCB")


def test_two_processes_appending_at_once_make_one_chain(engine, db_url, tmp_path: Path) -> None:
    go = tmp_path / "go"
    count = 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, db_url, name, str(count), str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in NAMES
    ]
    wait_until(lambda: all((tmp_path / name).exists() for name in NAMES), timeout=60)
    go.touch()  # both imported and connected: they start appending together
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    sessions = make_sessionmaker(engine)
    assert SqlAuditLog(sessions).verify() == (2 * count, None)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.actor, AuditEvent.created_at).order_by(AuditEvent.seq)
        ).all()
    windows = {
        name: (min(at for a, at in rows if a == name), max(at for a, at in rows if a == name))
        for name in NAMES
    }
    # The two really ran at once: each began appending before the other had finished.
    assert max(start for start, _ in windows.values()) < min(end for _, end in windows.values())


# --- migration 0007 chains what was there before ----------------------------------


def test_migration_chains_events_written_before_it(db_url) -> None:
    engine = make_engine(db_url)
    try:
        command.upgrade(alembic_config(engine), "0006")
        at = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO access_requests (id, requester_id, profile, iam_user_name, "
                    "console, programmatic, reason, status, created_at, updated_at, "
                    "reminder_count, provision_attempts, account, groups, policies, "
                    "permissions_boundary, max_duration_seconds, approvals_required, "
                    "rules_frozen_at) VALUES (7, 'U0OLD', 'dev', 'olduser', true, false, "
                    "'old', 'pending', :at, :at, 0, 0, 'legacy', '[\"devs\"]', '[]', '', "
                    "NULL, 1, :at)"
                ),
                {"at": at},
            )
            for n, kind in enumerate(("requested", "reminded", "reminded"), start=1):
                conn.execute(
                    text(
                        "INSERT INTO audit_events (id, request_id, actor, kind, detail, "
                        "created_at) VALUES (:id, 7, 'U0OLD', :kind, :detail, :at)"
                    ),
                    {"id": n * 10, "kind": kind, "detail": f'{{"n": {n}}}', "at": at},
                )
        upgrade(engine)

        sessions = make_sessionmaker(engine)
        log = SqlAuditLog(sessions)
        assert log.verify() == (3, None)
        [first, *_] = list(log.events())
        assert (first.id, first.event.seq, first.event.prev) == (10, 1, GENESIS)
        assert (first.event.account, first.event.iam_user) == ("legacy", "olduser")
        assert first.event.rules is not None and first.event.rules["groups"] == ["devs"]

        from bot.store import build_stores

        build_stores(sessions).requests.record(
            7, actor="U0OWNER1", kind="denied", now=datetime.now(UTC), reason="old"
        )
        events = list(log.events())
        assert [e.event.seq for e in events] == [1, 2, 3, 4]
        assert events[3].event.prev == events[2].hash
        assert log.verify() == (4, None)
    finally:
        engine.dispose()


def test_migration_0007_downgrades(db_url) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "0006")
        with engine.connect() as conn:
            columns = {
                row[0] if engine.dialect.name == "postgresql" else row[1]
                for row in conn.exec_driver_sql(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'audit_events'"
                    if engine.dialect.name == "postgresql"
                    else "PRAGMA table_info(audit_events)"
                )
            }
        assert "hash" not in columns and "seq" not in columns
        upgrade(engine)
    finally:
        engine.dispose()
