"""The schema, and the RequestStore (bot/store/requests.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from bot.domain.errors import RequestNotFound
from bot.domain.policy import Verdict
from bot.domain.requests import MessageRef
from bot.domain.states import Status
from bot.domain.storage import AlreadyRequested, NameClaimed
from bot.store.db import make_engine, pending_migrations, upgrade
from bot.store.models import AccessRequest, Approval, AuditEvent, Base
from tests.support.concurrency import race
from tests.support.processes import bot_env
from tests.support.stores import NOW, OWNERS, RULES, new_request, submitted


def kinds(stores, request_id: int) -> list[str]:  # noqa: ANN001
    return [e.kind for e in stores.requests.audit_of(request_id)]


def row_count(sessions, model) -> int:  # noqa: ANN001
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- schema --------------------------------------------------------------------------


def test_migrated_schema_matches_models(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert not pending_migrations(engine)


def test_upgrade_is_idempotent(engine) -> None:
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= {
        "access_requests",
        "approvals",
        "audit_events",
        "credential_links",
        "alembic_version",
    }


def test_naive_datetimes_are_refused(stores) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        stores.requests.submit(new_request(), datetime(2026, 1, 1))  # noqa: DTZ001


# --- submit --------------------------------------------------------------------------


def test_submit_stores_the_frozen_rules(stores) -> None:
    view = submitted(stores)
    assert view == stores.requests.get(view.id)
    assert view.status is Status.PENDING and view.created_at == NOW
    assert view.created_at.tzinfo is not None  # UTC back, even from SQLite
    assert view.rules_frozen
    assert (view.account, view.groups, view.policies) == (
        "prod-account",
        ("admins", "auditors"),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess",),
    )
    assert view.permissions_boundary == RULES.permissions_boundary
    assert view.max_duration == timedelta(hours=8)
    assert view.approvals_required == 2
    assert (view.console, view.programmatic) == (True, False)
    [event] = stores.requests.audit_of(view.id)
    assert (event.actor, event.kind) == ("U0ALICE", "requested")
    assert event.detail == {
        "reason": "incident 42",
        "profile": "admin",
        "iam_user_name": "alice",
        "console": True,
        "programmatic": False,
        "account": "prod-account",
        "groups": ["admins", "auditors"],
        "policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "permissions_boundary": RULES.permissions_boundary,
        "max_duration_seconds": 8 * 3600,
        "approvals_required": 2,
    }


def test_a_second_open_request_for_the_profile_is_refused(stores, sessions) -> None:
    first = submitted(stores)
    with pytest.raises(AlreadyRequested) as refused:
        submitted(stores, iam_user_name="alice2")
    assert (refused.value.request_id, refused.value.status) == (first.id, Status.PENDING)
    submitted(stores, profile="developer", iam_user_name="alice3")  # another profile is fine
    stores.requests.cancel(first.id, "U0ALICE", NOW)
    submitted(stores, iam_user_name="alice4")  # and so is the same, once decided
    assert row_count(sessions, AccessRequest) == 3


def test_another_requesters_open_request_claims_the_iam_name(stores, sessions) -> None:
    first = submitted(stores, iam_user_name="Alice")
    with pytest.raises(NameClaimed) as refused:
        submitted(stores, requester_id="U0BOB", iam_user_name="alice")  # IAM ignores case
    assert refused.value.request_id == first.id
    assert row_count(sessions, AccessRequest) == 1
    assert row_count(sessions, AuditEvent) == 1


def test_concurrent_submits_store_one(stores, sessions) -> None:
    def attempt(i: int) -> str:
        try:
            submitted(stores, requester_id=f"U{i}", iam_user_name="same-name")
        except NameClaimed:
            return "claimed"
        return "stored"

    assert sorted(race(6, attempt)) == ["claimed"] * 5 + ["stored"]
    assert row_count(sessions, AccessRequest) == 1


def test_message_refs_are_kept(stores) -> None:
    view = submitted(stores)
    stores.requests.set_approval_message(view.id, MessageRef("C0APPROVALS", "1.1"))
    stores.requests.set_requester_dm(view.id, MessageRef("D0ALICE", "2.2"))
    after = stores.requests.get(view.id)
    assert (after.approval_channel, after.approval_ts) == ("C0APPROVALS", "1.1")
    assert (after.requester_dm_channel, after.requester_dm_ts) == ("D0ALICE", "2.2")


# --- approve -------------------------------------------------------------------------


def test_approvals_count_up_to_the_required_number(stores) -> None:
    view = submitted(stores)
    first = stores.requests.approve(view.id, OWNERS[0], 2, NOW)
    assert first.count.verdict is Verdict.RECORDED and first.count.approvals == 1
    assert first.request.status is Status.PENDING
    assert first.request.approvers == (OWNERS[0],)
    second = stores.requests.approve(view.id, OWNERS[1], 2, NOW + timedelta(minutes=1))
    assert second.count.verdict is Verdict.APPROVED and second.count.approvals == 2
    assert second.request.status is Status.APPROVED
    assert second.request.approvers == OWNERS[:2]
    assert (second.request.decided_by, second.request.decided_at) == (
        OWNERS[1],
        NOW + timedelta(minutes=1),
    )
    events = stores.requests.audit_of(view.id)
    assert [(e.kind, e.detail) for e in events[1:]] == [
        ("approval", {"approvals": 1, "required": 2}),
        ("approval", {"approvals": 2, "required": 2}),
        ("approved", {}),
    ]


def test_a_duplicate_approval_writes_nothing(stores, sessions) -> None:
    view = submitted(stores)
    stores.requests.approve(view.id, OWNERS[0], 2, NOW)
    with sessions() as session:
        before = session.get(AccessRequest, view.id).updated_at
    again = stores.requests.approve(view.id, OWNERS[0], 2, NOW + timedelta(hours=1))
    assert again.count.verdict is Verdict.DUPLICATE and again.count.approvals == 1
    assert again.request.status is Status.PENDING
    with sessions() as session:
        assert session.get(AccessRequest, view.id).updated_at == before
    assert row_count(sessions, Approval) == 1
    assert kinds(stores, view.id) == ["requested", "approval"]


def test_approving_a_decided_request_counts_nothing(stores, sessions) -> None:
    view = submitted(stores)
    stores.requests.deny(view.id, OWNERS[1], "no", NOW)
    result = stores.requests.approve(view.id, OWNERS[0], 1, NOW)
    assert result.count is None
    assert result.request.status is Status.DENIED
    assert row_count(sessions, Approval) == 0


def test_approving_a_missing_request_raises(stores) -> None:
    with pytest.raises(RequestNotFound):
        stores.requests.approve(404, OWNERS[0], 1, NOW)


def test_concurrent_approvals_make_one_transition(stores) -> None:
    """Three owners click at once on a request that needs two: exactly one click
    approves it, one is recorded before it, and the third finds it decided."""
    for round_ in range(3):
        view = submitted(stores, requester_id=f"U{round_}", iam_user_name=f"user{round_}")
        request_id = view.id
        results = race(3, lambda i, rid=request_id: stores.requests.approve(rid, OWNERS[i], 2, NOW))
        verdicts = sorted(r.count.verdict.value if r.count else "decided" for r in results)
        assert verdicts == ["approved", "decided", "recorded"]
        after = stores.requests.get(view.id)
        assert after.status is Status.APPROVED and len(after.approvers) == 2
        assert [e.kind for e in stores.requests.audit_of(view.id)].count("approved") == 1


def test_the_same_owner_clicking_twice_at_once_counts_once(stores, sessions) -> None:
    view = submitted(stores)
    results = race(4, lambda _: stores.requests.approve(view.id, OWNERS[0], 2, NOW))
    verdicts = sorted(r.count.verdict.value for r in results)
    assert verdicts == ["duplicate"] * 3 + ["recorded"]
    assert row_count(sessions, Approval) == 1


# --- deny, cancel, expire --------------------------------------------------------------


def test_deny_is_compare_and_set(stores) -> None:
    view = submitted(stores)
    denied = stores.requests.deny(view.id, OWNERS[0], "not now", NOW)
    assert (denied.status, denied.deny_reason, denied.decided_by) == (
        Status.DENIED,
        "not now",
        OWNERS[0],
    )
    assert stores.requests.deny(view.id, OWNERS[1], "again", NOW) is None
    assert stores.requests.cancel(view.id, "U0ALICE", NOW) is None
    assert stores.requests.deny(404, OWNERS[1], "", NOW) is None
    events = stores.requests.audit_of(view.id)
    assert [(e.kind, e.detail) for e in events] == [
        ("requested", events[0].detail),
        ("denied", {"reason": "not now"}),
    ]


def test_an_empty_deny_reason_is_stored_as_none(stores) -> None:
    view = submitted(stores)
    assert stores.requests.deny(view.id, OWNERS[0], "", NOW).deny_reason is None


def test_cancel(stores) -> None:
    view = submitted(stores)
    cancelled = stores.requests.cancel(view.id, "U0ALICE", NOW)
    assert (cancelled.status, cancelled.decided_by) == (Status.CANCELLED, "U0ALICE")
    assert stores.requests.audit_of(view.id)[-1].kind == "cancelled"


def test_expire_audits_how_long_it_waited(stores) -> None:
    view = submitted(stores)
    later = NOW + timedelta(days=7)
    expired = stores.requests.expire(view.id, later, expire_after="7d")
    assert (expired.status, expired.decided_at) == (Status.EXPIRED, later)
    assert stores.requests.expire(view.id, later) is None
    event = stores.requests.audit_of(view.id)[-1]
    assert (event.actor, event.kind) == ("scheduler", "expired")
    assert event.detail == {"pending_for_seconds": 7 * 86400, "expire_after": "7d"}


# --- reads and the audit log -------------------------------------------------------------


def test_listing_and_counts(stores) -> None:
    first = submitted(stores, requester_id="U1", iam_user_name="one")
    second = submitted(stores, requester_id="U2", iam_user_name="two", now=NOW + timedelta(1))
    stores.requests.approve(second.id, OWNERS[0], 2, NOW)
    stores.requests.deny(first.id, OWNERS[0], "", NOW)
    assert [v.id for v in stores.requests.list()] == [second.id, first.id]
    assert [v.id for v in stores.requests.list(newest_first=False)] == [first.id, second.id]
    pending = stores.requests.list(statuses=[Status.PENDING])
    assert [(v.id, v.approvers) for v in pending] == [(second.id, (OWNERS[0],))]
    assert [v.id for v in stores.requests.list(requester_id="U1")] == [first.id]
    assert [v.id for v in stores.requests.list(limit=1)] == [second.id]
    assert stores.requests.count_by_status() == {"denied": 1, "pending": 1}


def test_record_appends_to_the_audit_log(stores) -> None:
    view = submitted(stores)
    stores.requests.record(view.id, actor="scheduler", kind="reminded", now=NOW, number=1)
    stores.requests.record(None, actor="scheduler", kind="pending_summary", now=NOW, pending=1)
    [_, reminded] = stores.requests.audit_of(view.id)
    assert (reminded.request_id, reminded.actor, reminded.kind, reminded.detail) == (
        view.id,
        "scheduler",
        "reminded",
        {"number": 1},
    )
    assert reminded.created_at == NOW


# --- freezing rows stored before rules were frozen ---------------------------------------


def test_freeze_gives_an_unfrozen_row_its_rules_once(stores, sessions) -> None:
    view = submitted(stores)
    with sessions.begin() as session:  # as revision 0001 stored it
        row = session.get(AccessRequest, view.id)
        for column in ("account", "groups", "policies", "permissions_boundary"):
            setattr(row, column, None)
        row.max_duration_seconds = row.approvals_required = row.rules_frozen_at = None
    [legacy] = stores.requests.unfrozen()
    assert not legacy.rules_frozen
    assert (legacy.approvals_required, legacy.groups, legacy.account) == (1, (), "default")

    rules = replace(RULES, max_duration=None, approvals_required=3)
    assert stores.requests.freeze(view.id, rules, NOW)
    assert not stores.requests.freeze(view.id, RULES, NOW)  # once
    assert stores.requests.unfrozen() == []
    frozen = stores.requests.get(view.id)
    assert frozen.rules_frozen and frozen.approvals_required == 3
    assert frozen.max_duration is None and frozen.groups == RULES.groups
    assert kinds(stores, view.id) == ["requested", "rules_frozen"]


# --- processes ---------------------------------------------------------------------------


def test_replicas_migrating_at_once_all_succeed(db_url: str, tmp_path) -> None:  # noqa: ANN001
    """Replicas that start together on an empty database (separate processes, as in
    production): every `db upgrade` succeeds and the schema is created once
    (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE)."""
    env = bot_env({"DATABASE_URL": db_url})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], outputs
    engine = make_engine(db_url)
    try:
        assert not pending_migrations(engine)
    finally:
        engine.dispose()
