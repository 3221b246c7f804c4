"""Bulk-seed a history of requests: N rows, 1% still pending, the rest decided. Every
row carries its frozen rules (docs/architecture.md, "Frozen rules"), as a submit stores
them, from the bench config's profile."""

from __future__ import annotations

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
                    **frozen_rules("developer", created),
                }
            )
            if len(rows) == 5000:
                conn.execute(insert(AccessRequest), rows)
                rows = []
        if rows:
            conn.execute(insert(AccessRequest), rows)
    return pending


def frozen_rules(profile_name: str, now: datetime) -> dict[str, object]:
    """The rule columns a submit of `profile_name` (bench config) stores."""
    config = parse_config(tomllib.loads(CONFIG), "bench.toml")
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
