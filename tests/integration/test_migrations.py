"""Upgrading a database that holds revision-0001 rows to head loses nothing, and leaves
them for the bot to freeze at its next start (migration 0002 has no config to read)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from bot.store import build_stores
from bot.store.db import (
    alembic_config,
    make_engine,
    make_sessionmaker,
    pending_migrations,
    upgrade,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LIVE = T0 + timedelta(days=365)  # a lock far in the future: still live after the upgrade

# Revision 0001's columns of each table, as that revision wrote them.
REQUEST_COLUMNS = (
    "id, requester_id, profile, iam_user_name, console, programmatic, reason, status, "
    "created_at, updated_at, decided_at, decided_by, deny_reason, approval_channel, "
    "approval_ts, requester_dm_channel, requester_dm_ts, last_reminded_at, reminder_count, "
    "lease_expires_at, provision_attempts, last_error, access_key_id"
)
LINK_COLUMNS = (
    "id, request_id, ciphertext, nonce, key_check, created_at, expires_at, revealed_at, purged_at"
)
SNAPSHOTS = {
    "access_requests": f"SELECT {REQUEST_COLUMNS} FROM access_requests ORDER BY id",
    "approvals": "SELECT id, request_id, approver_id, created_at FROM approvals ORDER BY id",
    "audit_events": "SELECT id, request_id, actor, kind, detail, created_at FROM audit_events "
    "ORDER BY id",
    "credential_links": f"SELECT {LINK_COLUMNS} FROM credential_links ORDER BY id",
    "job_runs": "SELECT name, last_run_at FROM job_runs ORDER BY name",
}

PENDING, PROVISIONED, FAILED, PROVISIONING = 1, 2, 3, 4


def _request(id_: int, status: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(c.strip() for c in REQUEST_COLUMNS.split(","))
    row.update(
        id=id_,
        requester_id=f"U{id_}",
        profile="developer" if id_ != PENDING else "admin",
        iam_user_name=f"user{id_}",
        console=True,
        programmatic=id_ % 2 == 0,
        reason=f"reason {id_}",
        status=status,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=id_),
        reminder_count=0,
        provision_attempts=0,
    )
    row.update(values)
    return row


LEGACY_REQUESTS = [
    _request(
        PENDING,
        "pending",
        approval_channel="C0APPROVALS",
        approval_ts="1700000001.000100",
        last_reminded_at=T0 + timedelta(hours=4),
        reminder_count=1,
    ),
    _request(
        PROVISIONED,
        "provisioned",
        decided_at=T0,
        decided_by="U0OWNER1",
        requester_dm_channel="D0USER2",
        requester_dm_ts="1700000002.000200",
        lease_expires_at=LIVE,  # a re-issue or roll back lock of the old single column
        provision_attempts=1,
        access_key_id="AKIAOLDKEY",
    ),
    _request(
        FAILED,
        "failed",
        decided_at=T0,
        decided_by="U0OWNER2",
        provision_attempts=3,
        last_error="NoSuchEntity: group developers",
    ),
    _request(PROVISIONING, "provisioning", lease_expires_at=LIVE, provision_attempts=1),
]


def _bind(engine: Engine, value: object) -> object:
    # Revision 0001 stored naive UTC on SQLite (bot/store/models.py, UTCDateTime).
    if isinstance(value, datetime) and engine.dialect.name == "sqlite":
        return value.replace(tzinfo=None)
    return value


def _insert(conn, engine: Engine, table: str, row: dict[str, object]) -> None:  # noqa: ANN001
    names = ", ".join(row)
    params = ", ".join(f":{name}" for name in row)
    conn.execute(
        text(f"INSERT INTO {table} ({names}) VALUES ({params})"),  # noqa: S608 - test data
        {name: _bind(engine, value) for name, value in row.items()},
    )


def _seed_0001(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        for row in LEGACY_REQUESTS:
            _insert(conn, engine, "access_requests", row)
        _insert(
            conn,
            engine,
            "approvals",
            {"id": 1, "request_id": PROVISIONED, "approver_id": "U0OWNER1", "created_at": T0},
        )
        _insert(
            conn,
            engine,
            "credential_links",
            {
                "id": "legacy-link",
                "request_id": PROVISIONED,
                "ciphertext": b"\x00ciphertext",
                "nonce": b"\x01" * 12,
                "key_check": b"\x02" * 32,
                "created_at": T0,
                "expires_at": T0 + timedelta(days=1),
                "revealed_at": None,
                "purged_at": None,
            },
        )
        _insert(conn, engine, "job_runs", {"name": "pending_summary", "last_run_at": T0})
        conn.execute(
            text(
                "INSERT INTO audit_events (id, request_id, actor, kind, detail, created_at) "
                "VALUES (1, :id, 'U1', 'requested', :detail, :at)"
            ),
            {"id": PENDING, "detail": '{"profile": "admin"}', "at": _bind(engine, T0)},
        )


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(sql))] for table, sql in SNAPSHOTS.items()
        }


@pytest.fixture
def legacy(db_url: str):
    engine = make_engine(db_url)
    _seed_0001(engine)
    yield engine
    engine.dispose()


def test_upgrading_0001_rows_keeps_every_value(legacy: Engine) -> None:
    before = _snapshot(legacy)
    assert pending_migrations(legacy)

    upgrade(legacy)

    assert not pending_migrations(legacy)
    after = _snapshot(legacy)
    lease = REQUEST_COLUMNS.split(", ").index("lease_expires_at")
    # Only change: the old single lock column is now the provisioning lease alone, so a
    # value on a row that is not provisioning (an owner's short-lived lock) is cleared.
    expected = [
        row if row[7] == "provisioning" else (*row[:lease], None, *row[lease + 1 :])
        for row in before["access_requests"]
    ]
    assert after["access_requests"] == expected
    assert after["access_requests"][PROVISIONING - 1][lease] is not None
    assert after["access_requests"][PROVISIONED - 1][lease] is None
    for table in ("approvals", "audit_events", "credential_links", "job_runs"):
        assert after[table] == before[table], table


def test_upgraded_rows_wait_to_be_frozen(legacy: Engine) -> None:
    upgrade(legacy)
    new_columns = (
        "rules_frozen_at, account, groups, policies, permissions_boundary, "
        "max_duration_seconds, approvals_required, provisioned_at, rollback_lock_until, "
        "reissue_lock_until"
    )
    with legacy.connect() as conn:
        rows = conn.execute(text(f"SELECT {new_columns} FROM access_requests")).all()  # noqa: S608
    assert rows == [(None,) * 10] * len(LEGACY_REQUESTS)

    stores = build_stores(make_sessionmaker(legacy))
    unfrozen = stores.requests.unfrozen()
    assert [v.id for v in unfrozen] == [PENDING, PROVISIONED, FAILED, PROVISIONING]
    assert not any(v.rules_frozen for v in unfrozen)
    views = {v.id: v for v in unfrozen}
    assert views[PROVISIONED].approvers == ("U0OWNER1",)
    assert views[PROVISIONED].created_at == T0
    assert views[FAILED].last_error == "NoSuchEntity: group developers"
    assert views[PENDING].reminder_count == 1


def test_0002_downgrades_to_0001(legacy: Engine) -> None:
    upgrade(legacy)
    command.downgrade(alembic_config(legacy), "0001")
    columns = {c["name"] for c in inspect(legacy).get_columns("access_requests")}
    assert "rules_frozen_at" not in columns and "reissue_lock_until" not in columns
    assert len(_snapshot(legacy)["access_requests"]) == len(LEGACY_REQUESTS)
