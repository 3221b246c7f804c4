"""How the reminder sweep and the `requests --status pending` listing grow with history:
1k, 10k and 100k requests of which 1% pending, with their approvals, audit events and
credentials links (bench/seed.py), on SQLite and PostgreSQL. The baseline of
each figure is the same figure at 1k, so a ratio near 1.0x means flat.

- idle sweep: a reminder sweep right after sweeps that reminded everything due (the
  batch is capped at 200 per run, so at 100k it takes several), so it finds nothing:
  the cost of finding due work, which must not grow with decided history.
- sweep per reminded request: the first sweep's time over the requests it reminded
  (claim + audit row each; the batch is capped at 200 per run).
- listing per row: `list_requests(status=pending)` over the rows it returns (1% of
  history, so the total grows by design; the per-row cost must not).
"""

from __future__ import annotations

from datetime import timedelta

from bench.harness import Report, best_of
from bench.seed import fresh_database, seed_history, utc_now
from bench.servers import CONFIG
from bot.domain.states import Status
from bot.services.listing import list_requests
from bot.services.remind import ReminderSweep
from bot.settings import parse_config
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker

SIZES = (1_000, 10_000, 100_000)


class NullNotifier:
    """Sends nothing: the sweep's database work alone is measured."""

    def notify(self, event: object) -> None:
        return None


def measure(report: Report, label: str, database_url: str, sizes=SIZES) -> None:  # noqa: ANN001
    import tomllib

    config = parse_config(tomllib.loads(CONFIG), "bench")
    now = utc_now()
    first: dict[str, float] = {}
    engine = None
    try:
        for size in sizes:
            if engine is not None:
                engine.dispose()
            fresh_database(database_url)  # the audit log refuses DELETE: start empty
            engine = make_engine(database_url)
            stores = build_stores(make_sessionmaker(engine))
            pending = seed_history(engine, size, now=now)
            if engine.dialect.name == "postgresql":
                with engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE access_requests")
            sweep = ReminderSweep(stores.sweeps, stores.requests, NullNotifier(), config)
            import time

            started = time.perf_counter()
            reminded = len(sweep(now).reminded)
            per_request = (time.perf_counter() - started) * 1000 / max(1, reminded)
            while sweep(now).reminded:  # the batch is capped: remind everything due
                pass
            later = now + timedelta(minutes=1)
            idle = best_of(lambda later=later, sweep=sweep: sweep(later)) * 1000
            rows = len(list_requests(stores.requests, status=Status.PENDING))
            assert rows == pending, (rows, pending)
            listing = (
                best_of(lambda s=stores: list_requests(s.requests, status=Status.PENDING)) * 1000
            )
            figures = {
                "idle reminder sweep": (idle, "ms"),
                "reminder sweep per reminded request": (per_request, "ms"),
                "listing --status pending per row": (listing * 1000 / rows, "us"),
            }
            for name, (value, unit) in figures.items():
                first.setdefault(name, value)
                report.add(
                    "growth",
                    f"{name} @{size // 1000}k ({label})",
                    value,
                    unit,
                    baseline=first[name],
                    note=f"{size} requests, {pending} pending; baseline = same figure at 1k",
                )
    finally:
        if engine is not None:
            engine.dispose()
