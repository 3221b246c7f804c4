"""Every transition of every request flow is exactly one audit event (docs/audit.md),
each carrying the request's account, IAM user and frozen rules, all in one valid hash
chain -- and no audit row, export line or audit log line holds a secret.

The flows run through the store's own operations, which are where every event is
written (in the transaction of the change); the credentials are sealed with real
crypto so the password, secret key and link key are known and can be looked for.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from bot import crypto
from bot.audit_export import export
from bot.domain.states import Status
from bot.domain.storage import Lease
from bot.store.audit import AuditQuery, SqlAuditLog, enable_audit_log
from bot.store.models import AuditEvent
from tests.support.secrets import all_rows, find_secrets
from tests.support.stores import (
    LEASE,
    NOW,
    OWNERS,
    RULES,
    claimed,
    submitted,
)
from tests.support.vault import key_of, proof_of, sample_credentials

OWNER = OWNERS[0]
FROZEN = {
    "groups": list(RULES.groups),
    "policies": list(RULES.policies),
    "console": RULES.console,
    "programmatic": RULES.programmatic,
    "permissions_boundary": RULES.permissions_boundary,
    "max_duration_seconds": 8 * 3600,
    "approvals_required": 2,
}


def events(sessions, request_id: int) -> list[AuditEvent]:  # noqa: ANN001
    with sessions() as session:
        return list(
            session.query(AuditEvent).filter_by(request_id=request_id).order_by(AuditEvent.seq)
        )


def kinds(sessions, request_id: int) -> list[str]:  # noqa: ANN001
    return [e.kind for e in events(sessions, request_id)]


def _seal(credentials, now):  # noqa: ANN001, ANN202
    return crypto.seal_link(credentials, public_url="https://bot.test", expires_at=now + LEASE)


def run_every_flow(stores, sessions) -> dict[str, str]:  # noqa: ANN001
    """Every flow once; the secrets they handled."""
    now = NOW
    first, second = sample_credentials("alice", n=1), sample_credentials("alice", n=2)

    # Flows 1-4: submitted, two approvals, provisioning fails, Retry, provisioned, the
    # link expires unopened, re-issued, opened, then rolled back.
    lease = claimed(stores, now)  # submitted, approved by one owner, claimed
    request_id = lease.request.id
    stores.provisioning.fail_provisioning(
        lease, code="Throttling", message="slow down", step="create_user", permanent=True, now=now
    )
    retry = stores.provisioning.claim_provisioning(
        request_id, sources=(Status.FAILED,), actor=OWNER, now=now, until=now + LEASE
    )
    assert isinstance(retry, Lease)
    sealed, link = _seal(first, now)
    stores.provisioning.finish_provisioning(
        retry, sealed, access_key_id=first.access_key_id, console=True, now=now
    )
    later = now + LEASE + timedelta(seconds=1)
    stores.links.purge_expired_links(later)
    reissue = stores.provisioning.lock_for_reissue(request_id, now=later, until=later + LEASE)
    assert isinstance(reissue, Lease)
    sealed2, link2 = _seal(second, later)
    stores.provisioning.finish_reissue(
        reissue, sealed2, access_key_id=second.access_key_id, actor=OWNER, now=later
    )
    reveal = stores.links.take_link(link2.link_id, later, proof=proof_of(link2), client="test")
    assert reveal.box is not None
    rollback = stores.provisioning.lock_for_rollback(request_id, now=later, until=later + LEASE)
    assert isinstance(rollback, Lease)
    stores.provisioning.finish_rollback(rollback, actor=OWNER, now=later)

    # Flow 2: denied, cancelled; flow 5: reminded, expired.
    denied = submitted(stores, requester_id="U0BOB", iam_user_name="bob")
    stores.requests.approve(denied.id, OWNERS[1], 2, now)
    stores.requests.deny(denied.id, OWNER, "not this quarter", now)
    cancelled = submitted(stores, requester_id="U0CAROL", iam_user_name="carol")
    stores.requests.cancel(cancelled.id, "U0CAROL", now)
    expired = submitted(stores, requester_id="U0DAN", iam_user_name="dan")
    stores.sweeps.claim_reminder(expired.id, seen=None, now=now, owners=list(OWNERS))
    stores.requests.expire(expired.id, now + timedelta(days=8))

    return {
        "password 1": first.password or "",
        "password 2": second.password or "",
        "secret key 1": first.secret_access_key or "",
        "secret key 2": second.secret_access_key or "",
        "link key 1": crypto.b64url(key_of(link)),
        "link key 2": crypto.b64url(key_of(link2)),
    } | {"ids": f"{request_id},{denied.id},{cancelled.id},{expired.id}"}


def test_one_event_per_transition_with_request_context(stores, sessions) -> None:
    secrets = run_every_flow(stores, sessions)
    full, denied, cancelled, expired = (int(i) for i in secrets["ids"].split(","))

    assert kinds(sessions, full) == [
        "requested",
        "approval",  # each approval is an event; the last one also moves the request
        "approved",
        "provisioning_started",  # approved -> provisioning
        "provisioning_failed",  # provisioning -> failed
        "provisioning_started",  # failed -> provisioning: the owner's Retry
        "credentials_sealed",  # link issued
        "provisioned",  # provisioning -> provisioned
        "credentials_expired",  # the unopened link expired
        "credentials_sealed",  # the re-issued link
        "credentials_reissued",
        "credentials_revealed",  # link opened
        "rolled_back",  # provisioned -> revoked
    ]
    assert kinds(sessions, denied) == ["requested", "approval", "denied"]
    assert kinds(sessions, cancelled) == ["requested", "cancelled"]
    assert kinds(sessions, expired) == ["requested", "reminded", "expired"]

    trail = events(sessions, full)
    retried = trail[5]
    assert (retried.actor, retried.detail["previous"]) == (OWNER, "failed")
    for event in trail:
        assert (event.account, event.iam_user, event.rules) == ("prod-account", "alice", FROZEN)
    assert [e.iam_user for e in events(sessions, denied)] == ["bob"] * 3
    [*_, deny] = events(sessions, denied)
    assert (deny.actor, deny.detail["reason"]) == (OWNER, "not this quarter")
    assert events(sessions, full)[0].detail["reason"] == "incident 42"

    count, broken = SqlAuditLog(sessions).verify()
    assert broken is None
    assert count == 13 + 3 + 2 + 3


def test_no_secret_in_audit_rows_exports_or_audit_log(stores, sessions, engine, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.audit")
    enable_audit_log(sessions)
    secrets = run_every_flow(stores, sessions)
    secrets.pop("ids")
    log = SqlAuditLog(sessions)

    with engine.connect() as conn:
        audit_table = "\n".join(
            str(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM audit_events")
        )
    jsonl, csv_text = io.StringIO(), io.StringIO()
    assert export(log, AuditQuery(), "jsonl", jsonl) == 21
    assert export(log, AuditQuery(), "csv", csv_text) == 21
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "bot.audit"]
    assert len(audit_lines) == 21

    # The scans see the real events (the reissued key id, the link ids, the reasons).
    for text in (audit_table, jsonl.getvalue(), csv_text.getvalue(), "\n".join(audit_lines)):
        assert "AKIATESTKEY000000002" in text and "not this quarter" in text
        assert not find_secrets(text, secrets)
    everything = all_rows(engine)
    assert not find_secrets(everything, secrets)


def test_audit_log_lines_only_when_enabled_and_only_after_commit(stores, sessions, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.audit")
    submitted(stores)
    assert [r for r in caplog.records if r.name == "bot.audit"] == []

    enable_audit_log(sessions)
    view = submitted(stores, requester_id="U0BOB", iam_user_name="bob")
    # A rolled-back transaction (a duplicate approval writes nothing) logs nothing.
    stores.requests.approve(view.id, OWNER, 2, NOW)
    stores.requests.approve(view.id, OWNER, 2, NOW)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bot.audit"]
    assert [line["metadata"]["event_code"] for line in lines] == ["requested", "approval"]
    assert lines[0]["class_uid"] == 3001 and lines[0]["user"]["name"] == "bob"
    assert [line["metadata"]["sequence"] for line in lines] == [2, 3]
    stored = [e.hash for e in events(sessions, view.id)]
    assert [line["unmapped"]["hash"] for line in lines] == stored
