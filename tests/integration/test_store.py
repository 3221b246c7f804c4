"""Repository compare-and-set and schema checks, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.domain.errors import InvalidTransition
from bot.domain.states import Status
from bot.store.db import make_engine, make_sessionmaker, pending_migrations, upgrade
from bot.store.models import AccessRequest, Base
from bot.store.repository import Repository
from tests.support.processes import bot_env

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def new_request(sessions, requester: str = "U0REQ", profile: str = "developer") -> int:
    with sessions.begin() as session:
        request = Repository(session).add_request(
            requester_id=requester,
            profile=profile,
            iam_user_name="alice",
            console=True,
            programmatic=True,
            reason="deploys",
            now=NOW,
        )
        return request.id


def status_of(sessions, request_id: int) -> str:
    with sessions() as session:
        return Repository(session).get(request_id).status


def test_migrated_schema_matches_models(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert not pending_migrations(engine)


def test_upgrade_is_idempotent(engine) -> None:
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= {
        "access_requests",
        "approvals",
        "audit_events",
        "credential_links",
        "alembic_version",
    }


def test_datetimes_come_back_as_utc(sessions) -> None:
    request_id = new_request(sessions)
    with sessions() as session:
        created = Repository(session).get(request_id).created_at
    assert created == NOW
    assert created.tzinfo is not None


def test_naive_datetimes_are_refused(sessions) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        Repository(session).add_request(
            requester_id="U",
            profile="p",
            iam_user_name="n",
            console=True,
            programmatic=False,
            reason="",
            now=datetime(2026, 1, 1),
        )


def test_transition_is_compare_and_set(sessions) -> None:
    request_id = new_request(sessions)
    with sessions.begin() as session:
        repo = Repository(session)
        assert repo.transition(
            request_id, Status.PENDING, Status.APPROVED, now=NOW, decided_by="U1"
        )
        # A second identical move finds the row no longer pending.
        assert not repo.transition(request_id, Status.PENDING, Status.DENIED, now=NOW)
    assert status_of(sessions, request_id) == "approved"


def test_transition_rejects_illegal_moves_without_touching_the_row(sessions) -> None:
    request_id = new_request(sessions)
    with pytest.raises(InvalidTransition), sessions.begin() as session:
        Repository(session).transition(request_id, Status.PENDING, Status.PROVISIONED, now=NOW)
    assert status_of(sessions, request_id) == "pending"


def test_set_fields_refuses_status(sessions) -> None:
    request_id = new_request(sessions)
    with pytest.raises(ValueError), sessions.begin() as session:
        Repository(session).set_fields(request_id, status="approved")


def test_duplicate_approval_counts_once(sessions) -> None:
    request_id = new_request(sessions)
    with sessions.begin() as session:
        repo = Repository(session)
        assert repo.add_approval(request_id, "U_A", now=NOW)
        assert not repo.add_approval(request_id, "U_A", now=NOW)
        assert repo.add_approval(request_id, "U_B", now=NOW)
        assert repo.approvers(request_id) == ["U_A", "U_B"]


def test_open_request_lookup_and_listing(sessions) -> None:
    first = new_request(sessions, "U1", "developer")
    new_request(sessions, "U2", "developer")
    with sessions.begin() as session:
        repo = Repository(session)
        assert repo.open_request_for("U1", "developer").id == first
        assert repo.open_request_for("U1", "admin") is None
        repo.transition(first, Status.PENDING, Status.DENIED, now=NOW)
        assert repo.open_request_for("U1", "developer") is None
        assert [r.requester_id for r in repo.list_requests(statuses=[Status.PENDING])] == ["U2"]
        assert repo.count_by_status() == {"denied": 1, "pending": 1}


def test_audit_events_are_appended(sessions) -> None:
    request_id = new_request(sessions)
    with sessions.begin() as session:
        repo = Repository(session)
        repo.record(request_id, actor="U1", kind="submitted", now=NOW, profile="developer")
        repo.record(request_id, actor="U2", kind="approved", now=NOW)
    with sessions() as session:
        events = Repository(session).events(request_id)
    assert [(e.actor, e.kind, e.detail) for e in events] == [
        ("U1", "submitted", {"profile": "developer"}),
        ("U2", "approved", {}),
    ]


def race_once(sessions, contenders: int = 8) -> tuple[int, list[str]]:
    """Threads on separate connections race pending -> approved/denied at one request."""
    request_id = new_request(sessions)
    barrier = threading.Barrier(contenders)
    wins: list[str] = []
    errors: list[BaseException] = []

    def race(target: Status, actor: str) -> None:
        try:
            barrier.wait()
            with sessions.begin() as session:
                if Repository(session).transition(
                    request_id, Status.PENDING, target, now=NOW, decided_by=actor
                ):
                    wins.append(actor)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=race, args=(Status.APPROVED if i % 2 else Status.DENIED, f"U{i}"))
        for i in range(contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return request_id, wins


def test_concurrent_transitions_exactly_one_wins(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    try:
        for _ in range(5):
            request_id, wins = race_once(sessions)
            assert len(wins) == 1
            with sessions() as session:
                row = session.get(AccessRequest, request_id)
            assert row.decided_by == wins[0]
            expected = Status.APPROVED if int(wins[0][1:]) % 2 else Status.DENIED
            assert row.status == expected.value
    finally:
        engine.dispose()


def test_replicas_migrating_at_once_all_succeed(db_url: str, tmp_path) -> None:  # noqa: ANN001
    """Replicas that start together on an empty database (separate processes, as in
    production): every `db upgrade` succeeds and the schema is created once
    (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE)."""
    env = bot_env({"DATABASE_URL": db_url})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], outputs
    engine = make_engine(db_url)
    try:
        assert not pending_migrations(engine)
    finally:
        engine.dispose()
