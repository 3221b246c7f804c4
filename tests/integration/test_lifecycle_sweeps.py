"""The reminder and expiry sweeps against SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import event, func, select, text

from bot.domain.reminders import period_grace
from bot.domain.states import Status
from bot.services.expire import ExpirySweep
from bot.services.remind import ReminderSweep
from bot.store import lifecycle
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest, AuditEvent
from bot.store.repository import Repository
from tests.support.lifecycle import (
    RecordingNotifier,
    approve_once,
    decide,
    lifecycle_config,
    seed_request,
)

CONFIG = lifecycle_config()
EVERY = CONFIG.reminders.every
GRACE = period_grace(EVERY)


def sweep(sessions, notifier=None, **kw) -> ReminderSweep:  # noqa: ANN001
    return ReminderSweep(sessions, notifier or RecordingNotifier(), CONFIG, **kw)


def audit(sessions, kind: str) -> list[AuditEvent]:  # noqa: ANN001
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
            )
        )


def row(sessions, request_id: int) -> AccessRequest:  # noqa: ANN001
    with sessions() as session:
        found = Repository(session).get(request_id)
        assert found is not None
        return found


# --- who is reminded when ------------------------------------------------------------


def test_reminds_only_requests_pending_past_remind_after(sessions, clock) -> None:
    now = clock.now()
    fresh = seed_request(sessions, created_at=now - timedelta(minutes=59))
    just_due = seed_request(sessions, created_at=now - timedelta(hours=1), iam_user_name="b")
    old = seed_request(sessions, created_at=now - timedelta(days=3), iam_user_name="c")
    past_expiry = seed_request(sessions, created_at=now - timedelta(days=7), iam_user_name="d")
    denied = seed_request(sessions, created_at=now - timedelta(hours=5), iam_user_name="e")
    decide(sessions, denied, Status.DENIED, "U0OWNER1", now)

    notifier = RecordingNotifier()
    report = sweep(sessions, notifier)(now)

    # Oldest first; the expiry sweep, not a reminder, deals with the week-old one.
    assert report.reminded == [old, just_due]
    assert notifier.ids("remind") == [old, just_due]
    assert notifier.ids("request_updated") == [old, just_due]  # the age on the main message
    assert fresh not in report.reminded and past_expiry not in report.reminded
    for sent in notifier.of("remind"):
        owners, number, when = sent.args
        assert owners == ("U0OWNER1", "U0OWNER2", "U0OWNER3")
        assert number == 1 and when == now
    assert row(sessions, old).reminder_count == 1
    assert row(sessions, old).last_reminded_at == now
    assert row(sessions, fresh).reminder_count == 0
    assert [(e.request_id, e.actor, e.detail["number"]) for e in audit(sessions, "reminded")] == [
        (old, "scheduler", 1),
        (just_due, "scheduler", 1),
    ]


def test_mentions_only_owners_who_can_still_decide(sessions, clock) -> None:
    now = clock.now()
    by_owner = seed_request(
        sessions, created_at=now - timedelta(hours=2), requester_id="U0OWNER2", profile="prod"
    )
    half_approved = seed_request(
        sessions, created_at=now - timedelta(hours=3), profile="prod", iam_user_name="bob"
    )
    approve_once(sessions, half_approved, "U0OWNER1", now - timedelta(hours=2))

    notifier = RecordingNotifier()
    sweep(sessions, notifier)(now)

    mentioned = {s.request_id: s.args[0] for s in notifier.of("remind")}
    assert mentioned == {
        by_owner: ("U0OWNER1", "U0OWNER3"),  # a requester never approves their own request
        half_approved: ("U0OWNER2", "U0OWNER3"),
    }


def test_nobody_is_reminded_twice_within_a_period(sessions, clock) -> None:
    first = clock.now()
    request = seed_request(sessions, created_at=first - timedelta(hours=2))
    notifier = RecordingNotifier()
    remind = sweep(sessions, notifier)

    assert remind(first).reminded == [request]
    assert remind(first).reminded == []  # an overlapping run at the same instant
    assert remind(first + EVERY - GRACE - timedelta(seconds=1)).reminded == []
    # A request that became due in the meantime is reminded on its own schedule.
    late = seed_request(sessions, created_at=first, iam_user_name="late")
    assert remind(first + EVERY - GRACE).reminded == [request, late]
    assert [s.args[1] for s in notifier.of("remind")] == [1, 2, 1]
    assert row(sessions, request).reminder_count == 2


def test_two_replicas_sweeping_at_once_send_each_reminder_once(db_url, sessions, clock) -> None:
    now = clock.now()
    ids = [
        seed_request(
            sessions, created_at=now - timedelta(hours=2, minutes=i), iam_user_name=f"u{i}"
        )
        for i in range(20)
    ]
    # Each replica has its own engine (own connections), as two processes would.
    engines = [make_engine(db_url) for _ in range(2)]
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    sweeps = [
        ReminderSweep(make_sessionmaker(engine), notifier, CONFIG)
        for engine, notifier in zip(engines, notifiers, strict=True)
    ]
    start = threading.Barrier(2)
    reports = [None, None]

    def replica(i: int) -> None:
        start.wait()
        reports[i] = sweeps[i](now)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()

    sent = notifiers[0].ids("remind") + notifiers[1].ids("remind")
    assert sorted(sent) == sorted(ids)  # every due reminder, exactly once
    assert len(notifiers[0].of("pending_summary")) + len(notifiers[1].of("pending_summary")) == 1
    assert len(audit(sessions, "reminded")) == 20


def test_request_decided_between_claim_and_send_gets_no_reminder(db_url, sessions, clock) -> None:
    now = clock.now()
    decided = seed_request(sessions, created_at=now - timedelta(hours=3))
    other = seed_request(sessions, created_at=now - timedelta(hours=2), iam_user_name="bob")
    # Another replica approves the moment the sweep's claim of `decided` commits.
    elsewhere = make_engine(db_url)
    other_replica = make_sessionmaker(elsewhere)
    fired = []

    @event.listens_for(sessions, "after_commit")
    def approve_after_claim(session) -> None:  # noqa: ANN001
        if not fired:
            fired.append(True)
            assert decide(other_replica, decided, Status.APPROVED, "U0OWNER1", now)

    notifier = RecordingNotifier()
    try:
        report = sweep(sessions, notifier)(now)
    finally:
        event.remove(sessions, "after_commit", approve_after_claim)
        elsewhere.dispose()

    assert fired
    assert report.skipped == [decided]
    assert report.reminded == [other]
    assert notifier.ids("remind") == [other]
    assert decided not in notifier.ids("request_updated")
    [skip] = audit(sessions, "reminder_skipped")
    assert (skip.request_id, skip.detail) == (decided, {"number": 1, "reason": "decided"})


def test_stale_candidates_are_not_reminded(sessions, clock, monkeypatch) -> None:
    """The candidate list was read before another replica reminded or someone decided."""
    now = clock.now()
    approved = seed_request(sessions, created_at=now - timedelta(hours=3))
    taken = seed_request(sessions, created_at=now - timedelta(hours=2), iam_user_name="bob")
    with sessions() as session:
        stale = lifecycle.due_for_reminder(session, lifecycle_window(now), limit=10)
    decide(sessions, approved, Status.APPROVED, "U0OWNER1", now)
    assert sweep(sessions)(now).reminded == [taken]  # replica B got there first
    monkeypatch.setattr(lifecycle, "due_for_reminder", lambda *a, **k: stale)

    notifier = RecordingNotifier()
    report = sweep(sessions, notifier)(now)
    assert report.reminded == [] and notifier.ids("remind") == []
    assert row(sessions, taken).reminder_count == 1
    assert row(sessions, approved).reminder_count == 0


def lifecycle_window(now):  # noqa: ANN001, ANN201
    from bot.domain.reminders import reminder_window

    return reminder_window(now, CONFIG.reminders)


# --- escalation ------------------------------------------------------------------


def test_owners_are_dmed_from_the_fourth_reminder_on(sessions, clock) -> None:
    start = clock.now()
    request = seed_request(sessions, created_at=start - timedelta(hours=1))
    half_approved = seed_request(
        sessions, created_at=start - timedelta(hours=1), profile="prod", iam_user_name="p"
    )
    approve_once(sessions, half_approved, "U0OWNER3", start)
    notifier = RecordingNotifier()
    remind = sweep(sessions, notifier)

    escalated = []
    for period in range(5):
        report = remind(start + period * EVERY)
        escalated.append(sorted(report.escalated))

    both = sorted([request, half_approved])
    assert escalated == [[], [], [], both, both]
    dms = {(s.request_id, s.args[1]): s.args[0] for s in notifier.of("escalate")}
    assert dms == {
        (request, 4): ("U0OWNER1", "U0OWNER2", "U0OWNER3"),
        (half_approved, 4): ("U0OWNER1", "U0OWNER2"),
        (request, 5): ("U0OWNER1", "U0OWNER2", "U0OWNER3"),
        (half_approved, 5): ("U0OWNER1", "U0OWNER2"),
    }
    assert [e.detail["escalated"] for e in audit(sessions, "reminded")][::2] == [
        False,
        False,
        False,
        True,
        True,
    ]


# --- the channel summary ---------------------------------------------------------


def test_summary_lists_every_pending_request_oldest_first_once_per_period(sessions, clock) -> None:
    now = clock.now()
    newest = seed_request(sessions, created_at=now - timedelta(minutes=5), iam_user_name="n")
    oldest = seed_request(sessions, created_at=now - timedelta(days=2), iam_user_name="o")
    middle = seed_request(sessions, created_at=now - timedelta(hours=2), iam_user_name="m")
    decided = seed_request(sessions, created_at=now - timedelta(days=3), iam_user_name="d")
    decide(sessions, decided, Status.DENIED, "U0OWNER1", now)
    notifier = RecordingNotifier()

    assert sweep(sessions, notifier)(now).summary_posted
    [summary] = notifier.of("pending_summary")
    assert summary.args == ([oldest, middle, newest], 3, now)
    # A second replica in the same period posts no second summary.
    assert not sweep(sessions, notifier)(now + timedelta(minutes=30)).summary_posted
    assert sweep(sessions, notifier)(now + EVERY).summary_posted
    assert len(notifier.of("pending_summary")) == 2
    assert len(audit(sessions, "pending_summary")) == 2


def test_summary_is_cut_short_but_counts_everything(sessions, clock) -> None:
    now = clock.now()
    ids = [
        seed_request(sessions, created_at=now - timedelta(hours=i), iam_user_name=f"u{i}")
        for i in range(5, 0, -1)
    ]
    notifier = RecordingNotifier()
    sweep(sessions, notifier, summary_rows=2)(now)
    [summary] = notifier.of("pending_summary")
    assert summary.args[:2] == (ids[:2], 5)


def test_no_summary_when_nothing_is_pending(sessions, clock) -> None:
    now = clock.now()
    decided = seed_request(sessions, created_at=now - timedelta(hours=2))
    decide(sessions, decided, Status.DENIED, "U0OWNER1", now)
    notifier = RecordingNotifier()
    report = sweep(sessions, notifier)(now)
    assert not report.summary_posted and notifier.sent == []


# --- expiry ------------------------------------------------------------------------


def test_expiry_sweep_expires_pending_requests_past_expire_after(sessions, clock) -> None:
    now = clock.now()
    expired = seed_request(sessions, created_at=now - timedelta(days=7))
    almost = seed_request(
        sessions, created_at=now - timedelta(days=7) + timedelta(seconds=1), iam_user_name="b"
    )
    approved = seed_request(sessions, created_at=now - timedelta(days=9), iam_user_name="c")
    decide(sessions, approved, Status.APPROVED, "U0OWNER1", now - timedelta(days=8))
    notifier = RecordingNotifier()
    expire = ExpirySweep(sessions, notifier, CONFIG)

    assert expire(now).expired == [expired]
    gone = row(sessions, expired)
    assert (gone.status, gone.decided_at, gone.decided_by) == ("expired", now, None)
    assert row(sessions, almost).status == "pending"
    assert row(sessions, approved).status == "approved"
    [notice] = notifier.of("request_expired")
    assert notice.request_id == expired
    assert notice.args == (Status.EXPIRED, timedelta(days=7))
    [event_] = audit(sessions, "expired")
    assert (event_.request_id, event_.actor) == (expired, "scheduler")
    assert event_.detail == {"pending_for_seconds": 7 * 86400}

    # Idempotent: a second run (or replica) finds nothing; reminders skip it too.
    assert expire(now).expired == []
    assert sweep(sessions, notifier)(now).reminded == [almost]
    assert len(notifier.of("request_expired")) == 1


def test_expiry_never_overrides_a_decision_made_after_the_query(
    sessions, clock, monkeypatch
) -> None:
    now = clock.now()
    first = seed_request(sessions, created_at=now - timedelta(days=8))
    second = seed_request(sessions, created_at=now - timedelta(days=8), iam_user_name="b")
    real = lifecycle.expired_pending

    def query_then_someone_approves(session, cutoff, *, limit):  # noqa: ANN001, ANN202
        found = real(session, cutoff, limit=limit)
        session.commit()  # release SQLite's write lock so the "other replica" can write
        assert decide(sessions, first, Status.APPROVED, "U0OWNER2", now)
        return found

    monkeypatch.setattr(lifecycle, "expired_pending", query_then_someone_approves)
    notifier = RecordingNotifier()
    assert ExpirySweep(sessions, notifier, CONFIG)(now).expired == [second]
    assert row(sessions, first).status == "approved"
    assert notifier.ids("request_expired") == [second]


def test_expiry_race_between_two_replicas_expires_once(db_url, sessions, clock) -> None:
    now = clock.now()
    ids = [
        seed_request(sessions, created_at=now - timedelta(days=8, hours=i), iam_user_name=f"u{i}")
        for i in range(10)
    ]
    engines = [make_engine(db_url) for _ in range(2)]
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    start = threading.Barrier(2)

    def replica(i: int) -> None:
        start.wait()
        ExpirySweep(make_sessionmaker(engines[i]), notifiers[i], CONFIG)(now)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    told = notifiers[0].ids("request_expired") + notifiers[1].ids("request_expired")
    assert sorted(told) == sorted(ids)
    assert len(audit(sessions, "expired")) == 10


# --- the sweeps read only what they need ---------------------------------------------


_STATUS_CREATED = "ix_access_requests_status_created_at"


def _plan(engine, statement) -> str:  # noqa: ANN001
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(str(r[-1]) for r in rows)
        # On a near-empty table PostgreSQL rightly prefers a sequential scan; forbid it to
        # see which index the query *can* walk.
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")).all())


def test_sweep_queries_walk_the_status_created_at_index(engine, sessions, clock) -> None:
    now = clock.now()
    for i in range(30):
        request = seed_request(sessions, created_at=now - timedelta(days=i), iam_user_name=f"u{i}")
        if i % 3:
            decide(sessions, request, Status.DENIED, "U0OWNER1", now)
    queries = {
        "due": lifecycle.due_for_reminder_query(lifecycle_window(now), 200),
        "expired": lifecycle.expired_pending_query(now - timedelta(days=7), 200),
        "summary": lifecycle.pending_oldest_first_query(40),
        "count": lifecycle.count_pending_query(),
    }
    for name, query in queries.items():
        plan = _plan(engine, query)
        # A count needs only the status prefix, which every status index offers.
        wanted = "ix_access_requests_status_" if name == "count" else _STATUS_CREATED
        assert wanted in plan, (name, plan)
        assert "SCAN access_requests\n" not in plan + "\n", (name, plan)
        assert "Seq Scan" not in plan, (name, plan)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessRequest)) == 30
