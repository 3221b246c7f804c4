"""Bulk-seed a history of requests: N rows, 1% still pending, the rest decided."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert

from bot.store.models import AccessRequest, Approval, AuditEvent, CredentialLink

DECIDED = ("provisioned", "denied", "expired", "cancelled", "revoked")


def seed_history(engine: Engine, total: int, *, now: datetime, pending_share: float = 0.01) -> int:
    """Replace all requests with `total` rows; returns how many are pending."""
    rng = random.Random(total)  # same history for the same size, run after run
    pending = max(1, int(total * pending_share))
    with engine.begin() as conn:
        for model in (CredentialLink, Approval, AuditEvent, AccessRequest):
            conn.execute(delete(model))
        rows = []
        for i in range(total):
            is_pending = i >= total - pending
            age = (
                timedelta(hours=rng.uniform(2, 48))
                if is_pending
                else timedelta(days=rng.uniform(8, 365))
            )
            created = now - age
            rows.append(
                {
                    "requester_id": f"U{i % 500:06d}",
                    "profile": "developer",
                    "iam_user_name": f"user{i}",
                    "console": True,
                    "programmatic": True,
                    "reason": "benchmark history",
                    "status": "pending" if is_pending else rng.choice(DECIDED),
                    "created_at": created,
                    "updated_at": created,
                    "reminder_count": 0,
                    "provision_attempts": 0,
                    "approval_channel": "C0APPROVALS",
                    "approval_ts": f"{1700000000 + i}.000100",
                }
            )
            if len(rows) == 5000:
                conn.execute(insert(AccessRequest), rows)
                rows = []
        if rows:
            conn.execute(insert(AccessRequest), rows)
    return pending


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
