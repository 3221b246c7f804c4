"""`aws-access-bot requests --status pending` walks the (status, created_at) index: its
cost follows the pending rows, not the decided history (bench/README.md, growth)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from bot.domain.states import Status
from bot.services.listing import list_requests
from tests.support.lifecycle import decide, seed_request

INDEX = "ix_access_requests_status_created_at"


def _plans_of_listing(engine, sessions, status):  # noqa: ANN001, ANN202
    """Run the real listing, capture the SQL it sent, and EXPLAIN exactly that."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        rows = list_requests(sessions, status=status)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(captured) == 1, captured
    statement, parameters = captured[0]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            result = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return rows, "\n".join(str(r[-1]) for r in result)
        # A near-empty table makes PostgreSQL prefer a sequential scan; forbid it to see
        # which index the query can walk.
        conn.exec_driver_sql("SET enable_seqscan = off")
        result = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return rows, "\n".join(r[0] for r in result)


def test_pending_listing_walks_the_status_created_at_index(engine, sessions, clock) -> None:
    now = clock.now()
    pending = []
    for i in range(30):
        request = seed_request(sessions, created_at=now - timedelta(days=i), iam_user_name=f"u{i}")
        if i % 3:
            decide(sessions, request, Status.DENIED, "U0OWNER1", now)
        else:
            pending.append(request)
    rows, plan = _plans_of_listing(engine, sessions, Status.PENDING)
    assert [r.id for r in rows] == pending  # newest first, decided history left out
    assert INDEX in plan, plan
    assert "SCAN access_requests\n" not in plan + "\n", plan
    assert "Seq Scan" not in plan, plan
