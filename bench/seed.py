"""Bulk-seed a history of requests: N rows, 1% still pending, the rest decided. Every
row carries its frozen rules (docs/architecture.md, "Frozen rules"), as a submit stores
them, from the bench config's profile."""

from __future__ import annotations

import functools
import random
import tomllib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert

from bench.servers import CONFIG
from bot.domain.rules import freeze
from bot.settings import parse_config
from bot.store.models import AccessRequest, Approval, AuditEvent, CredentialLink

DECIDED = ("provisioned", "denied", "expired", "cancelled", "revoked")


def seed_history(engine: Engine, total: int, *, now: datetime, pending_share: float = 0.01) -> int:
    """Add `total` requests to an empty database, 1% pending, with what a real history
    holds next to them: an approval for every approved one, audit events (submitted, its
    decision, provisioned), a credentials link for every provisioned one (expired,
    purged). Returns how many are pending."""
    rng = random.Random(total)  # same history for the same size, run after run
    pending = max(1, int(total * pending_share))
    audit_columns = set(AuditEvent.__table__.c.keys())
    seq = 0
    with engine.begin() as conn:
        first_id = 1
        rows: list[dict] = []
        extras: dict[type, list[dict]] = {Approval: [], AuditEvent: [], CredentialLink: []}

        def flush() -> None:
            if rows:
                conn.execute(insert(AccessRequest), rows)
                rows.clear()
            for model, batch in extras.items():
                if batch:
                    conn.execute(insert(model), batch)
                    batch.clear()

        for i in range(total):
            request_id = first_id + i
            is_pending = i >= total - pending
            age = (
                timedelta(hours=rng.uniform(2, 48))
                if is_pending
                else timedelta(days=rng.uniform(8, 365))
            )
            created = now - age
            status = "pending" if is_pending else rng.choice(DECIDED)
            rows.append(
                {
                    "id": request_id,
                    "requester_id": f"U{i % 500:06d}",
                    "profile": "developer",
                    "iam_user_name": f"user{i}",
                    "console": True,
                    "programmatic": True,
                    "reason": "benchmark history",
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                    "reminder_count": 0,
                    "provision_attempts": 0,
                    "approval_channel": "C0APPROVALS",
                    "approval_ts": f"{1700000000 + i}.000100",
                    **frozen_rules("developer", created),
                }
            )
            kinds = ["submitted"] + ([] if is_pending else [status])
            if status in ("provisioned", "revoked"):
                extras[Approval].append(
                    {"request_id": request_id, "approver_id": "U0OWNER1", "created_at": created}
                )
                extras[CredentialLink].append(
                    {
                        "id": f"seed{request_id:08d}",
                        "request_id": request_id,
                        "created_at": created,
                        "expires_at": created + timedelta(days=1),
                        "purged_at": created + timedelta(days=1),
                    }
                )
                kinds = ["submitted", "approved", "provisioned"]
            for kind in kinds:
                seq += 1
                event = {
                    "request_id": request_id,
                    "actor": "U0OWNER1",
                    "kind": kind,
                    "detail": {},
                    "created_at": created,
                    "account": "default",
                    "iam_user": f"user{i}",
                    "seq": seq,
                    "prev_hash": f"{seq - 1:064x}",
                    "hash": f"{seq:064x}",
                }
                extras[AuditEvent].append({k: v for k, v in event.items() if k in audit_columns})
            if len(rows) == 5000:
                flush()
        flush()
        _set_chain_head(conn, seq)
        if engine.dialect.name == "postgresql":  # ids were given: move the sequence on
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('access_requests', 'id'), "
                "(SELECT max(id) FROM access_requests))"
            )
    return pending


def _set_chain_head(conn, seq: int) -> None:  # noqa: ANN001
    """Where the audit chain (bot/store/audit.py) appends next, when it has a head row.
    The seeded events are not a valid chain (nothing here verifies it)."""
    from bot.store import models

    head = getattr(models, "AuditChainHead", None)
    if head is None or not seq:
        return
    conn.execute(delete(head))
    conn.execute(insert(head), [{"id": 1, "seq": seq, "head_hash": f"{seq:064x}"}])


def frozen_rules(profile_name: str, now: datetime) -> dict[str, object]:
    """The rule columns a submit of `profile_name` (bench config) stores."""
    config = _config()
    profile = config.profile(profile_name)
    assert profile is not None, profile_name
    rules = freeze(profile, config, console=True, programmatic=True)
    return {
        "account": rules.account,
        "groups": list(rules.groups),
        "policies": list(rules.policies),
        "permissions_boundary": rules.permissions_boundary,
        "max_duration_seconds": None,
        "approvals_required": rules.approvals_required,
        "rules_frozen_at": now,
    }


@functools.cache
def _config():  # noqa: ANN202
    return parse_config(tomllib.loads(CONFIG), "bench.toml")


def utc_now() -> datetime:
    return datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def seed_pending(engine: Engine, count: int, *, profile: str, now: datetime) -> list[int]:
    """`count` pending requests already posted to the approval channel; their ids."""
    rows = [
        {
            "requester_id": f"U{i % 500:06d}",
            "profile": profile,
            "iam_user_name": f"bench{i}",
            "console": True,
            "programmatic": True,
            "reason": "benchmark",
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "reminder_count": 0,
            "provision_attempts": 0,
            "approval_channel": "C0APPROVALS",
            "approval_ts": f"{1700000000 + i}.000100",
            **frozen_rules(profile, now),
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        first = conn.execute(insert(AccessRequest).returning(AccessRequest.id), rows[:1]).scalar()
        if len(rows) > 1:
            conn.execute(insert(AccessRequest), rows[1:])
    return list(range(first, first + count))


def reset_database(url: str) -> None:
    """An empty, migrated database (PostgreSQL: a fresh public schema)."""
    from sqlalchemy import text

    from bot.store.db import make_engine, upgrade

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()


def fresh_database(url: str) -> None:
    """reset_database, and for a SQLite file, a new file."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        from pathlib import Path

        Path(parsed.database).unlink(missing_ok=True)
    reset_database(url)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database `url` names when it does not exist yet (a clean
    checkout's `make bench`); raise SystemExit with one line when the server is out of
    reach."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    parsed = make_url(url)
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise SystemExit(
                f"PostgreSQL at {parsed.host}:{parsed.port or 5432} is out of reach "
                f"({type(exc.orig).__name__}): start it, or set BENCH_DATABASE_URL=none"
            ) from None
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
