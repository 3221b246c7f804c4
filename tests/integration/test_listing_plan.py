"""`aws-access-bot requests --status pending` walks the (status, created_at) index: its
cost follows the pending rows, not the decided history (bench/README.md, growth).
The requests' approvers come in one more query, by index, never one query per row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from bot.domain.states import Status
from bot.services.listing import list_requests
from bot.store import build_stores
from tests.support.stores import OWNERS, submitted

INDEX = "ix_access_requests_status_created_at"


def _plans_of_listing(engine, store, status):  # noqa: ANN001, ANN202
    """Run the real listing, capture the SQL it sent, and EXPLAIN exactly that."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        rows = list_requests(store, status=status)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(captured) == 2, captured  # the requests, then all their approvers
    plans = {}
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            # A near-empty table makes PostgreSQL prefer a sequential scan; forbid it to
            # see which index the query can walk.
            conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in captured:
            table = "approvals" if "FROM approvals" in statement else "access_requests"
            if engine.dialect.name == "sqlite":
                result = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans[table] = "\n".join(str(r[-1]) for r in result)
            else:
                result = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plans[table] = "\n".join(r[0] for r in result)
    return rows, plans


def test_pending_listing_walks_the_status_created_at_index(engine, sessions, clock) -> None:
    stores = build_stores(sessions)
    now = clock.now()
    pending = []
    for i in range(30):
        request = submitted(
            stores, now - timedelta(days=i), requester_id=f"U{i}", iam_user_name=f"u{i}"
        )
        if i % 3:
            stores.requests.deny(request.id, OWNERS[0], "", now)
        else:
            pending.append(request.id)
    rows, plans = _plans_of_listing(engine, stores.requests, Status.PENDING)
    assert [r.id for r in rows] == pending  # newest first, decided history left out
    assert INDEX in plans["access_requests"], plans
    for table, plan in plans.items():
        assert f"SCAN {table}\n" not in plan + "\n", plan
        assert "Seq Scan" not in plan, plan
