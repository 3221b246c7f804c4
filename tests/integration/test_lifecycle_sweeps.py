"""The reminder and expiry sweeps against SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, text

from bot.domain.events import (
    PendingSummary,
    ReminderDue,
    ReminderEscalated,
    RequestChanged,
    RequestExpired,
)
from bot.domain.reminders import period_grace, reminder_window
from bot.domain.states import Status
from bot.services.expire import ExpirySweep
from bot.services.remind import ReminderSweep
from bot.store import Stores, build_stores, sweeps
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest
from tests.support.concurrency import race
from tests.support.lifecycle import (
    approve_once,
    decide,
    ids_of,
    lifecycle_config,
    seed_request,
)
from tests.support.notifier import RecordingNotifier
from tests.support.requests import audit_events as audit
from tests.support.requests import row

CONFIG = lifecycle_config()
EVERY = CONFIG.reminders.every
GRACE = period_grace(EVERY)


def sweep(stores: Stores, notifier=None, **kw) -> ReminderSweep:  # noqa: ANN001
    return ReminderSweep(
        stores.sweeps, stores.requests, notifier or RecordingNotifier(), CONFIG, **kw
    )


def expiry(stores: Stores, notifier: RecordingNotifier) -> ExpirySweep:
    return ExpirySweep(stores.sweeps, stores.requests, notifier, CONFIG)


def two_replicas_at_once(
    db_url: str, make_sweep: Callable[[Stores, RecordingNotifier], Any], now: datetime
) -> list[RecordingNotifier]:
    """`make_sweep` run at `now` by two replicas released at once, each with its own
    engine (own connections) as two processes would; what each replica's notifier heard."""
    engines = [make_engine(db_url) for _ in range(2)]
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    replicas = [
        make_sweep(build_stores(make_sessionmaker(engine)), notifier)
        for engine, notifier in zip(engines, notifiers, strict=True)
    ]
    try:
        race(2, lambda i: replicas[i](now))
    finally:
        for engine in engines:
            engine.dispose()
    return notifiers


# --- who is reminded when ------------------------------------------------------------


def test_reminds_only_requests_pending_past_remind_after(sessions, stores, clock) -> None:
    now = clock.now()
    fresh = seed_request(stores, created_at=now - timedelta(minutes=59))
    just_due = seed_request(stores, created_at=now - timedelta(hours=1), iam_user_name="b")
    old = seed_request(stores, created_at=now - timedelta(days=3), iam_user_name="c")
    past_expiry = seed_request(stores, created_at=now - timedelta(days=7), iam_user_name="d")
    denied = seed_request(stores, created_at=now - timedelta(hours=5), iam_user_name="e")
    assert decide(stores, denied, Status.DENIED, "U0OWNER1", now)

    notifier = RecordingNotifier()
    report = sweep(stores, notifier)(now)

    # Oldest first; the expiry sweep, not a reminder, deals with the week-old one.
    assert report.reminded == [old, just_due]
    assert ids_of(notifier, ReminderDue) == [old, just_due]
    assert ids_of(notifier, RequestChanged) == [old, just_due]  # the age on the main message
    assert fresh not in report.reminded and past_expiry not in report.reminded
    for sent in notifier.of(ReminderDue):
        assert sent.owners == ("U0OWNER1", "U0OWNER2", "U0OWNER3")
        assert sent.number == 1 and sent.now == now
        assert sent.request.reminder_count == 1 and sent.request.approval_ts
    assert notifier.of(ReminderEscalated) == []
    assert row(sessions, old).reminder_count == 1
    assert row(sessions, old).last_reminded_at == now
    assert row(sessions, fresh).reminder_count == 0
    assert [(e.request_id, e.actor, e.detail["number"]) for e in audit(sessions, "reminded")] == [
        (old, "scheduler", 1),
        (just_due, "scheduler", 1),
    ]


def test_mentions_only_owners_who_can_still_decide(stores, clock) -> None:
    now = clock.now()
    by_owner = seed_request(
        stores, created_at=now - timedelta(hours=2), requester_id="U0OWNER2", profile="prod"
    )
    half_approved = seed_request(
        stores, created_at=now - timedelta(hours=3), profile="prod", iam_user_name="bob"
    )
    approve_once(stores, half_approved, "U0OWNER1", now - timedelta(hours=2))

    notifier = RecordingNotifier()
    sweep(stores, notifier)(now)

    mentioned = {sent.request.id: sent.owners for sent in notifier.of(ReminderDue)}
    assert mentioned == {
        by_owner: ("U0OWNER1", "U0OWNER3"),  # a requester never approves their own request
        half_approved: ("U0OWNER2", "U0OWNER3"),
    }


def test_nobody_is_reminded_twice_within_a_period(sessions, stores, clock) -> None:
    first = clock.now()
    request = seed_request(stores, created_at=first - timedelta(hours=2))
    notifier = RecordingNotifier()
    remind = sweep(stores, notifier)

    assert remind(first).reminded == [request]
    assert remind(first).reminded == []  # an overlapping run at the same instant
    assert remind(first + EVERY - GRACE - timedelta(seconds=1)).reminded == []
    # A request that became due in the meantime is reminded on its own schedule.
    late = seed_request(stores, created_at=first, iam_user_name="late")
    assert remind(first + EVERY - GRACE).reminded == [request, late]
    assert [sent.number for sent in notifier.of(ReminderDue)] == [1, 2, 1]
    assert row(sessions, request).reminder_count == 2


def test_two_replicas_sweeping_at_once_send_each_reminder_once(
    db_url, sessions, stores, clock
) -> None:
    now = clock.now()
    ids = [
        seed_request(stores, created_at=now - timedelta(hours=2, minutes=i), iam_user_name=f"u{i}")
        for i in range(20)
    ]
    notifiers = two_replicas_at_once(db_url, sweep, now)

    sent = ids_of(notifiers[0], ReminderDue) + ids_of(notifiers[1], ReminderDue)
    assert sorted(sent) == sorted(ids)  # every due reminder, exactly once
    assert len(notifiers[0].of(PendingSummary)) + len(notifiers[1].of(PendingSummary)) == 1
    assert len(audit(sessions, "reminded")) == 20


def test_request_decided_between_claim_and_send_gets_no_reminder(
    db_url, sessions, stores, clock
) -> None:
    now = clock.now()
    decided = seed_request(stores, created_at=now - timedelta(hours=3))
    other = seed_request(stores, created_at=now - timedelta(hours=2), iam_user_name="bob")
    # Another replica approves the moment the sweep's claim of `decided` commits.
    elsewhere = make_engine(db_url)
    other_replica = build_stores(make_sessionmaker(elsewhere))
    fired = []

    @event.listens_for(sessions, "after_commit")
    def approve_after_claim(session) -> None:  # noqa: ANN001
        if not fired:
            fired.append(True)
            assert decide(other_replica, decided, Status.APPROVED, "U0OWNER1", now)

    notifier = RecordingNotifier()
    try:
        report = sweep(stores, notifier)(now)
    finally:
        event.remove(sessions, "after_commit", approve_after_claim)
        elsewhere.dispose()

    assert fired
    assert report.skipped == [decided]
    assert report.reminded == [other]
    assert ids_of(notifier, ReminderDue) == [other]
    assert decided not in ids_of(notifier, RequestChanged)
    assert decided not in ids_of(notifier, ReminderEscalated)
    [skip] = audit(sessions, "reminder_skipped")
    assert (skip.request_id, skip.detail) == (decided, {"number": 1, "reason": "decided"})


def test_stale_candidates_are_not_reminded(sessions, stores, clock, monkeypatch) -> None:
    """The candidate list was read before another replica reminded or someone decided."""
    now = clock.now()
    approved = seed_request(stores, created_at=now - timedelta(hours=3))
    taken = seed_request(stores, created_at=now - timedelta(hours=2), iam_user_name="bob")
    stale = stores.sweeps.due_for_reminder(lifecycle_window(now), limit=10)
    assert [request_id for request_id, _ in stale] == [approved, taken]
    assert decide(stores, approved, Status.APPROVED, "U0OWNER1", now)
    assert sweep(stores)(now).reminded == [taken]  # replica B got there first
    monkeypatch.setattr(stores.sweeps, "due_for_reminder", lambda *a, **k: stale)

    notifier = RecordingNotifier()
    report = sweep(stores, notifier)(now)
    assert report.reminded == [] and ids_of(notifier, ReminderDue) == []
    assert row(sessions, taken).reminder_count == 1
    assert row(sessions, approved).reminder_count == 0


def lifecycle_window(now):  # noqa: ANN001, ANN201
    return reminder_window(now, CONFIG.reminders)


# --- escalation ------------------------------------------------------------------


def test_owners_are_dmed_from_the_fourth_reminder_on(sessions, stores, clock) -> None:
    start = clock.now()
    request = seed_request(stores, created_at=start - timedelta(hours=1))
    half_approved = seed_request(
        stores, created_at=start - timedelta(hours=1), profile="prod", iam_user_name="p"
    )
    approve_once(stores, half_approved, "U0OWNER3", start)
    notifier = RecordingNotifier()
    remind = sweep(stores, notifier)

    escalated = []
    for period in range(5):
        report = remind(start + period * EVERY)
        escalated.append(sorted(report.escalated))

    both = sorted([request, half_approved])
    assert escalated == [[], [], [], both, both]
    dms = {(sent.request.id, sent.number): sent.owners for sent in notifier.of(ReminderEscalated)}
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


def test_summary_lists_every_pending_request_oldest_first_once_per_period(
    sessions, stores, clock
) -> None:
    now = clock.now()
    newest = seed_request(stores, created_at=now - timedelta(minutes=5), iam_user_name="n")
    oldest = seed_request(stores, created_at=now - timedelta(days=2), iam_user_name="o")
    middle = seed_request(stores, created_at=now - timedelta(hours=2), iam_user_name="m")
    decided = seed_request(stores, created_at=now - timedelta(days=3), iam_user_name="d")
    assert decide(stores, decided, Status.DENIED, "U0OWNER1", now)
    notifier = RecordingNotifier()

    assert sweep(stores, notifier)(now).summary_posted
    [summary] = notifier.of(PendingSummary)
    assert summary.channel == "C0APPROVALS"
    assert ([r.id for r in summary.requests], summary.total, summary.now) == (
        [oldest, middle, newest],
        3,
        now,
    )
    # A second replica in the same period posts no second summary.
    assert not sweep(stores, notifier)(now + timedelta(minutes=30)).summary_posted
    assert sweep(stores, notifier)(now + EVERY).summary_posted
    assert len(notifier.of(PendingSummary)) == 2
    assert [(e.request_id, e.detail) for e in audit(sessions, "pending_summary")] == [
        (None, {"pending": 3}),
        (None, {"pending": 3}),
    ]


def test_summary_is_cut_short_but_counts_everything(stores, clock) -> None:
    now = clock.now()
    ids = [
        seed_request(stores, created_at=now - timedelta(hours=i), iam_user_name=f"u{i}")
        for i in range(5, 0, -1)
    ]
    notifier = RecordingNotifier()
    sweep(stores, notifier, summary_rows=2)(now)
    [summary] = notifier.of(PendingSummary)
    assert ([r.id for r in summary.requests], summary.total) == (ids[:2], 5)


def test_no_summary_when_nothing_is_pending(stores, clock) -> None:
    now = clock.now()
    decided = seed_request(stores, created_at=now - timedelta(hours=2))
    assert decide(stores, decided, Status.DENIED, "U0OWNER1", now)
    notifier = RecordingNotifier()
    report = sweep(stores, notifier)(now)
    assert not report.summary_posted and notifier.events == []


# --- expiry ------------------------------------------------------------------------


def test_expiry_sweep_expires_pending_requests_past_expire_after(sessions, stores, clock) -> None:
    now = clock.now()
    expired = seed_request(stores, created_at=now - timedelta(days=7))
    almost = seed_request(
        stores, created_at=now - timedelta(days=7) + timedelta(seconds=1), iam_user_name="b"
    )
    approved = seed_request(stores, created_at=now - timedelta(days=9), iam_user_name="c")
    assert decide(stores, approved, Status.APPROVED, "U0OWNER1", now - timedelta(days=8))
    notifier = RecordingNotifier()
    expire = expiry(stores, notifier)

    assert expire(now).expired == [expired]
    gone = row(sessions, expired)
    assert (gone.status, gone.decided_at, gone.decided_by) == ("expired", now, None)
    assert row(sessions, almost).status == "pending"
    assert row(sessions, approved).status == "approved"
    [notice] = notifier.of(RequestExpired)
    assert notifier.kinds() == ["RequestExpired"]
    assert notice.request.id == expired
    assert (notice.request.status, notice.expired_after) == (Status.EXPIRED, timedelta(days=7))
    [event_] = audit(sessions, "expired")
    assert (event_.request_id, event_.actor) == (expired, "scheduler")
    assert event_.detail == {"pending_for_seconds": 7 * 86400}

    # Idempotent: a second run (or replica) finds nothing; reminders skip it too.
    assert expire(now).expired == []
    assert sweep(stores, notifier)(now).reminded == [almost]
    assert len(notifier.of(RequestExpired)) == 1


def test_expiry_never_overrides_a_decision_made_after_the_query(
    sessions, stores, clock, monkeypatch
) -> None:
    now = clock.now()
    first = seed_request(stores, created_at=now - timedelta(days=8))
    second = seed_request(stores, created_at=now - timedelta(days=8), iam_user_name="b")
    real = stores.sweeps.expired_pending

    def query_then_someone_approves(cutoff, *, limit):  # noqa: ANN001, ANN202
        found = real(cutoff, limit=limit)
        assert decide(stores, first, Status.APPROVED, "U0OWNER2", now)
        return found

    monkeypatch.setattr(stores.sweeps, "expired_pending", query_then_someone_approves)
    notifier = RecordingNotifier()
    assert expiry(stores, notifier)(now).expired == [second]
    assert row(sessions, first).status == "approved"
    assert ids_of(notifier, RequestExpired) == [second]


def test_expiry_race_between_two_replicas_expires_once(db_url, sessions, stores, clock) -> None:
    now = clock.now()
    ids = [
        seed_request(stores, created_at=now - timedelta(days=8, hours=i), iam_user_name=f"u{i}")
        for i in range(10)
    ]
    notifiers = two_replicas_at_once(db_url, expiry, now)
    told = ids_of(notifiers[0], RequestExpired) + ids_of(notifiers[1], RequestExpired)
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


def test_sweep_queries_walk_the_status_created_at_index(engine, sessions, stores, clock) -> None:
    now = clock.now()
    for i in range(30):
        request = seed_request(stores, created_at=now - timedelta(days=i), iam_user_name=f"u{i}")
        if i % 3:
            assert decide(stores, request, Status.DENIED, "U0OWNER1", now)
    queries = {
        "due": sweeps.due_for_reminder_query(lifecycle_window(now), 200),
        "expired": sweeps.expired_pending_query(now - timedelta(days=7), 200),
        "summary": sweeps.pending_oldest_first_query(40),
        "count": sweeps.count_pending_query(),
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
