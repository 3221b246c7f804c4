"""How long a reminder/expiry sweep takes over a large history.

    python -m bench.sweeps [--history 50000] [--pending 200] [--url DATABASE_URL]

Seeds `history` decided requests and `pending` due ones, then times one reminder sweep
(claims + audit rows, a no-op notifier), a second sweep that finds nothing due, and an
expiry sweep that finds nothing: the last two show the cost of the index walk alone.
Writes to the database at --url (default: a temporary SQLite file); it is reset first.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bot.services.expire import ExpirySweep
from bot.services.remind import ReminderSweep
from bot.settings import parse_config
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import AccessRequest

CONFIG = parse_config(
    {
        "slack": {"approval_channel": "C0APPROVALS", "owners": ["U0OWNER1", "U0OWNER2"]},
        "profiles": [{"name": "developer", "description": "", "groups": ["developers"]}],
    },
    "bench",
)


class NullNotifier:
    def __getattr__(self, name: str):  # noqa: ANN204
        return lambda *args, **kwargs: None


def seed(sessions, now: datetime, history: int, pending: int) -> None:  # noqa: ANN001
    def row(i: int, status: str, age: timedelta) -> dict:
        return {
            "requester_id": f"U{i:08d}",
            "profile": "developer",
            "iam_user_name": f"user{i}",
            "console": True,
            "programmatic": True,
            "reason": "",
            "status": status,
            "created_at": now - age,
            "updated_at": now - age,
            "reminder_count": 0,
            "provision_attempts": 0,
            "approval_channel": "C0APPROVALS",
            "approval_ts": f"{i}.000100",
        }

    statuses = ("provisioned", "denied", "expired", "revoked")
    with sessions.begin() as session:
        for start in range(0, history, 5000):
            session.execute(
                insert(AccessRequest),
                [
                    row(i, statuses[i % 4], timedelta(days=1 + i % 3000))
                    for i in range(start, min(history, start + 5000))
                ],
            )
        session.execute(
            insert(AccessRequest),
            [row(history + i, "pending", timedelta(hours=2, seconds=i)) for i in range(pending)],
        )


def timed(fn, *args) -> tuple[float, object]:  # noqa: ANN001
    started = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=50_000)
    parser.add_argument("--pending", type=int, default=200)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC)
        seed(sessions, now, args.history, args.pending)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE access_requests"))
        remind = ReminderSweep(sessions, NullNotifier(), CONFIG, batch_size=args.pending)
        expire = ExpirySweep(sessions, NullNotifier(), CONFIG)
        first, report = timed(remind, now)
        idle, _ = timed(remind, now + timedelta(minutes=1))
        expiry, _ = timed(expire, now)
        print(
            f"{engine.dialect.name}: history={args.history} pending={args.pending}: "
            f"remind sweep {first:.0f} ms ({len(report.reminded)} reminded, "
            f"{first / max(1, len(report.reminded)):.2f} ms/request), "
            f"idle remind sweep {idle:.1f} ms, idle expiry sweep {expiry:.1f} ms"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
