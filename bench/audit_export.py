"""`aws-access-bot audit` at scale: seed N audit events (a valid hash chain, inserted in
bulk), then export them (OCSF JSON lines and CSV) and verify the chain, each in a
subprocess whose peak RSS (VmHWM of /proc/self/status) and wall time are reported.

    python -m bench.audit_export [--sizes 10000,1000000] [--database-url URL]

Without --database-url each size gets a fresh SQLite file in a temporary directory;
with a PostgreSQL URL its schema is emptied first (never point it at a real bot's
database). Memory should be flat from the smallest size to the largest: the export
streams rows (docs/audit.md, "Export").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text, update

from bot.domain.audit import ChainedEvent, event_hash, plain_detail
from bot.store.audit import HEAD_ID, take_head
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import AuditChainHead, AuditEvent

REPO = Path(__file__).resolve().parent.parent
BATCH = 10_000
ACCOUNTS = ("prod", "staging", "sandbox")
LIFECYCLE = (
    ("requested", {"reason": "deploy the billing service", "profile": "developer"}),
    ("approval", {"approvals": 1, "required": 2}),
    ("approval", {"approvals": 2, "required": 2}),
    ("approved", {}),
    ("provisioning_started", {"previous": "approved"}),
    ("credentials_sealed", {"expires_at": "2026-12-02T08:00:00+00:00"}),
    ("provisioned", {"iam_user": "user", "console": True, "access_key_id": "AKIAEXAMPLE"}),
    ("credentials_revealed", {"client": "203.0.113.7"}),
    ("rolled_back", {"previous": "provisioned", "voided_links": 0}),
)
RULES = plain_detail(
    {
        "groups": ["developers"],
        "policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "console": True,
        "programmatic": True,
        "permissions_boundary": "",
        "max_duration_seconds": 2_592_000,
        "approvals_required": 2,
    }
)
START = datetime(2026, 1, 1, tzinfo=UTC)

# Runs one CLI command with stdout to /dev/null and reports its own peak RSS.
_MEASURED = """
import os, sys
from bot.cli import main
sys.stdout = open(os.devnull, "w")
try:
    status = main(sys.argv[1:])
finally:
    peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    sys.stderr.write("PEAK " + peak.split(":")[1].strip() + "\\n")
raise SystemExit(status)
"""


def seed_events(engine: Engine, count: int, *, start: datetime = START) -> None:
    """Append `count` events to the chain in bulk (one transaction per BATCH)."""
    sessions = make_sessionmaker(engine)
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        with sessions.begin() as session:
            seq, head = take_head(session)
            rows = []
            for values in _events(made, size, start):
                seq += 1
                chained = ChainedEvent(seq=seq, prev=head, **values)
                head = event_hash(chained)
                rows.append(
                    {
                        **values,
                        "created_at": values["time"],
                        "seq": seq,
                        "prev_hash": chained.prev,
                        "hash": head,
                    }
                )
                del rows[-1]["time"]
            session.execute(insert(AuditEvent), rows)
            session.execute(
                update(AuditChainHead)
                .where(AuditChainHead.id == HEAD_ID)
                .values(seq=seq, head_hash=head)
            )
        made += size


def _events(first: int, size: int, start: datetime) -> Iterator[dict[str, Any]]:
    for n in range(first, first + size):
        request_id, step = divmod(n, len(LIFECYCLE))
        kind, detail = LIFECYCLE[step]
        yield {
            "time": start + timedelta(seconds=n),
            "request_id": request_id + 1,
            "account": ACCOUNTS[request_id % len(ACCOUNTS)],
            "iam_user": f"user{request_id + 1}",
            "actor": "aws-access-bot" if step >= 4 else f"U0USER{request_id % 97:03d}",
            "kind": kind,
            "rules": RULES,
            "detail": detail,
        }


def measure(url: str, *args: str) -> tuple[float, int]:
    """(seconds, peak RSS in kB) of `aws-access-bot audit ARGS` against `url`."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, "audit", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"audit {' '.join(args)} failed: {done.stderr[-2000:]}")
    peak = next(line for line in done.stderr.splitlines() if line.startswith("PEAK "))
    return elapsed, int(peak.split()[1])


def fresh_database(url: str | None, folder: Path, size: int) -> str:
    if url is None:
        return f"sqlite:///{folder / f'audit-{size}.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def run(sizes: list[int], url: str | None) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            db_url = fresh_database(url, Path(tmp), size)
            engine = make_engine(db_url)
            upgrade(engine)
            began = time.perf_counter()
            seed_events(engine, size)
            seeded = time.perf_counter() - began
            engine.dispose()
            row: dict[str, Any] = {"events": size, "seed_s": round(seeded, 1)}
            for name, args in (
                ("jsonl", ("--format", "jsonl")),
                ("csv", ("--format", "csv")),
                ("account", ("--account", "prod")),
                ("verify", ("verify",)),
            ):
                seconds, peak_kb = measure(db_url, *args)
                row[f"{name}_s"] = round(seconds, 1)
                row[f"{name}_peak_mb"] = round(peak_kb / 1024, 1)
            results.append(row)
            print(row, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_export")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (emptied!)")
    args = parser.parse_args(argv)
    run([int(s) for s in args.sizes.split(",")], args.database_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
