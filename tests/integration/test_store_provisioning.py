"""The ProvisioningStore (bot/store/provisioning.py): the provisioning lease and the
owners' roll-back and re-issue locks, each in its own column, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.domain.states import Status
from bot.domain.storage import Lease, LockKind, LockRefusal
from bot.store.models import AccessRequest, CredentialLink
from tests.support.concurrency import race
from tests.support.stores import (
    LEASE,
    NOW,
    approved,
    claimed,
    provisioned,
    sealed,
    submitted,
)

LATER = NOW + timedelta(minutes=1)
LOCK = timedelta(minutes=5)


def row(sessions, request_id: int) -> AccessRequest:  # noqa: ANN001
    with sessions() as session:
        return session.get(AccessRequest, request_id)


def events(stores, request_id: int) -> list[tuple[str, str, dict]]:  # noqa: ANN001
    return [(e.actor, e.kind, e.detail) for e in stores.requests.audit_of(request_id)]


def links(sessions, request_id: int) -> dict[str, CredentialLink]:  # noqa: ANN001
    with sessions() as session:
        found = session.scalars(
            select(CredentialLink).where(CredentialLink.request_id == request_id)
        )
        return {link.id: link for link in found}


def failed(stores) -> Lease:  # noqa: ANN001
    lease = claimed(stores)
    view = stores.provisioning.fail_provisioning(
        lease, code="NoSuchEntity", message="group admins", step="groups", permanent=True, now=NOW
    )
    assert view is not None
    return lease


# --- the provisioning lease ------------------------------------------------------------


def test_claim_takes_an_approved_request_with_a_lease(stores, sessions) -> None:
    request = approved(stores)
    lease = stores.provisioning.claim_provisioning(
        request.id,
        sources=(Status.APPROVED, Status.FAILED),
        actor="aws-access-bot",
        now=NOW,
        until=NOW + LEASE,
    )
    assert isinstance(lease, Lease)
    assert (lease.token, lease.source, lease.request.status) == (
        NOW + LEASE,
        Status.APPROVED,
        Status.PROVISIONING,
    )
    assert row(sessions, request.id).provision_attempts == 1
    assert events(stores, request.id)[-1] == (
        "aws-access-bot",
        "provisioning_started",
        {"previous": "approved"},
    )
    assert row(sessions, request.id).lease_expires_at == lease.token


def test_a_claimed_request_cannot_be_claimed_again(stores) -> None:
    lease = claimed(stores)
    again = stores.provisioning.claim_provisioning(
        lease.request.id, sources=(Status.APPROVED,), actor="bot", now=LATER, until=LATER + LEASE
    )
    assert again == LockRefusal(stores.requests.get(lease.request.id), LockKind.PROVISIONING)


def test_claim_refusals_say_why(stores) -> None:
    pending = submitted(stores)
    refused = stores.provisioning.claim_provisioning(
        pending.id, sources=(Status.APPROVED,), actor="bot", now=NOW, until=NOW + LEASE
    )
    assert refused == LockRefusal(pending, None)  # simply the wrong state
    missing = stores.provisioning.claim_provisioning(
        404, sources=(Status.APPROVED,), actor="bot", now=NOW, until=NOW + LEASE
    )
    assert missing == LockRefusal(None)


def test_concurrent_claims_give_one_lease(stores) -> None:
    request = approved(stores)
    results = race(
        8,
        lambda _: stores.provisioning.claim_provisioning(
            request.id, sources=(Status.APPROVED,), actor="bot", now=NOW, until=NOW + LEASE
        ),
    )
    assert sum(isinstance(r, Lease) for r in results) == 1
    refusals = [r for r in results if isinstance(r, LockRefusal)]
    assert {r.held_by for r in refusals} == {LockKind.PROVISIONING}


def test_finish_stores_the_link_and_the_outcome_in_one_go(stores, sessions) -> None:
    lease = claimed(stores)
    view = stores.provisioning.finish_provisioning(
        lease, sealed("link-1"), access_key_id="AKIAFIRST", console=True, now=LATER
    )
    assert view.status is Status.PROVISIONED and view.provisioned_at == LATER
    stored = row(sessions, view.id)
    assert (stored.access_key_id, stored.lease_expires_at, stored.last_error) == (
        "AKIAFIRST",
        None,
        None,
    )
    link = links(sessions, view.id)["link-1"]
    assert (link.ciphertext, link.nonce, link.key_check) == (
        sealed("link-1").box.ciphertext,
        b"n" * 12,
        b"k" * 32,
    )
    assert link.expires_at == sealed("link-1").expires_at
    assert events(stores, view.id)[-2:] == [
        ("bot", "credentials_sealed", {"expires_at": link.expires_at.isoformat()}),
        (
            "aws-access-bot",
            "provisioned",
            {
                "iam_user": "alice",
                "console": True,
                "access_key_id": "AKIAFIRST",
                "link_id": "link-1",
            },
        ),
    ]
    assert row(sessions, view.id).lease_expires_at is None


def test_fail_keeps_the_error_for_the_owners(stores, sessions) -> None:
    lease = claimed(stores)
    view = stores.provisioning.fail_provisioning(
        lease, code="NoSuchEntity", message="group admins", step="groups", permanent=True, now=NOW
    )
    assert (view.status, view.last_error) == (Status.FAILED, "NoSuchEntity: group admins")
    assert row(sessions, view.id).lease_expires_at is None
    assert events(stores, view.id)[-1] == (
        "aws-access-bot",
        "provisioning_failed",
        {"code": "NoSuchEntity", "message": "group admins", "step": "groups", "permanent": True},
    )
    # A retry claims it from failed.
    retry = stores.provisioning.claim_provisioning(
        view.id, sources=(Status.FAILED,), actor="U0OWNER1", now=LATER, until=LATER + LEASE
    )
    assert isinstance(retry, Lease) and retry.source is Status.FAILED
    assert events(stores, view.id)[-1] == (
        "U0OWNER1",
        "provisioning_started",
        {"previous": "failed"},
    )
    assert row(sessions, view.id).provision_attempts == 2


def test_a_lease_taken_over_cannot_finish(stores, sessions) -> None:
    """A worker whose lease ran out and was resumed by the recovery sweep finishes
    nothing: the resumed lease's token is the only one that counts."""
    lease = claimed(stores)
    ran_out = NOW + LEASE
    assert stores.provisioning.stale_provisioning(ran_out - timedelta(seconds=1)) == []
    assert stores.provisioning.stale_provisioning(ran_out) == [lease.request.id]
    assert stores.provisioning.resume_provisioning(lease.request.id, now=NOW, until=LATER) is None
    resumed = stores.provisioning.resume_provisioning(
        lease.request.id, now=ran_out, until=ran_out + LEASE
    )
    assert resumed.token == ran_out + LEASE and resumed.token != lease.token
    assert events(stores, lease.request.id)[-1] == ("aws-access-bot", "provisioning_resumed", {})
    assert row(sessions, lease.request.id).provision_attempts == 2

    finish = stores.provisioning.finish_provisioning
    assert finish(lease, sealed("old"), access_key_id="AKIAOLD", console=True, now=ran_out) is None
    assert (
        stores.provisioning.fail_provisioning(
            lease, code="X", message="y", step="", permanent=False, now=ran_out
        )
        is None
    )
    assert links(sessions, lease.request.id) == {}
    done = finish(resumed, sealed("new"), access_key_id="AKIANEW", console=False, now=ran_out)
    assert done.status is Status.PROVISIONED
    assert list(links(sessions, lease.request.id)) == ["new"]


def test_approved_requests_nobody_claimed(stores) -> None:
    request = approved(stores)
    assert stores.provisioning.unclaimed_approved(NOW - timedelta(seconds=1)) == []
    assert stores.provisioning.unclaimed_approved(NOW) == [request.id]


# --- the owners' locks: one column each ----------------------------------------------------


def test_a_reissue_in_progress_is_named_to_a_roll_back(stores) -> None:
    request = provisioned(stores)
    reissue = stores.provisioning.lock_for_reissue(request.id, now=NOW, until=NOW + LOCK)
    assert isinstance(reissue, Lease) and reissue.source is Status.PROVISIONED
    refused = stores.provisioning.lock_for_rollback(request.id, now=LATER, until=LATER + LOCK)
    assert isinstance(refused, LockRefusal) and refused.held_by is LockKind.REISSUE
    assert refused.request.status is Status.PROVISIONED
    again = stores.provisioning.lock_for_reissue(request.id, now=LATER, until=LATER + LOCK)
    assert again.held_by is LockKind.REISSUE
    # Once it runs out, a roll back may go ahead.
    after = NOW + LOCK
    assert isinstance(
        stores.provisioning.lock_for_rollback(request.id, now=after, until=after + LOCK), Lease
    )


def test_a_roll_back_in_progress_is_named_to_a_reissue_and_a_retry(stores) -> None:
    request = provisioned(stores)
    rollback = stores.provisioning.lock_for_rollback(request.id, now=NOW, until=NOW + LOCK)
    assert isinstance(rollback, Lease) and rollback.source is Status.PROVISIONED
    refused = stores.provisioning.lock_for_reissue(request.id, now=LATER, until=LATER + LOCK)
    assert isinstance(refused, LockRefusal) and refused.held_by is LockKind.ROLLBACK

    lease = failed(stores)  # another request, failed
    held = stores.provisioning.lock_for_rollback(lease.request.id, now=NOW, until=NOW + LOCK)
    assert held.source is Status.FAILED
    retry = stores.provisioning.claim_provisioning(
        lease.request.id, sources=(Status.FAILED,), actor="U0OWNER2", now=LATER, until=LATER + LEASE
    )
    assert isinstance(retry, LockRefusal) and retry.held_by is LockKind.ROLLBACK


def test_a_live_provisioning_lease_refuses_both_owner_locks(stores, sessions) -> None:
    lease = claimed(stores)
    for lock in (stores.provisioning.lock_for_rollback, stores.provisioning.lock_for_reissue):
        refused = lock(lease.request.id, now=LATER, until=LATER + LOCK)
        assert isinstance(refused, LockRefusal) and refused.held_by is LockKind.PROVISIONING
    # Even on a row in an owner-lockable state (a lease left behind by older code).
    request = provisioned(stores, requester_id="U0BOB", iam_user_name="bob")
    with sessions.begin() as session:
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id)
            .values(lease_expires_at=NOW + LEASE)
        )
    for lock in (stores.provisioning.lock_for_rollback, stores.provisioning.lock_for_reissue):
        refused = lock(request.id, now=LATER, until=LATER + LOCK)
        assert isinstance(refused, LockRefusal) and refused.held_by is LockKind.PROVISIONING


def test_owner_locks_refuse_the_wrong_state(stores) -> None:
    lease = failed(stores)
    refused = stores.provisioning.lock_for_reissue(lease.request.id, now=NOW, until=NOW + LOCK)
    assert refused == LockRefusal(stores.requests.get(lease.request.id), None)
    assert stores.provisioning.lock_for_rollback(404, now=NOW, until=NOW + LOCK) == LockRefusal(
        None
    )


def test_concurrent_owner_actions_take_one_lock(stores) -> None:
    request = provisioned(stores)
    locks = (stores.provisioning.lock_for_rollback, stores.provisioning.lock_for_reissue)
    results = race(8, lambda i: locks[i % 2](request.id, now=NOW, until=NOW + LOCK))
    assert sum(isinstance(r, Lease) for r in results) == 1


# --- roll back -------------------------------------------------------------------------------


def test_finish_rollback_revokes_and_releases(stores, sessions) -> None:
    lease = failed(stores)
    locked = stores.provisioning.lock_for_rollback(lease.request.id, now=NOW, until=NOW + LOCK)
    view = stores.provisioning.finish_rollback(locked, actor="U0OWNER1", now=LATER)
    assert view.status is Status.REVOKED
    assert row(sessions, view.id).rollback_lock_until is None
    assert events(stores, view.id)[-1] == (
        "U0OWNER1",
        "rolled_back",
        {"iam_user": "alice", "previous": "failed", "voided_links": 0},
    )


def test_a_rollback_lock_taken_over_cannot_finish(stores) -> None:
    request = provisioned(stores)
    first = stores.provisioning.lock_for_rollback(request.id, now=NOW, until=NOW + LOCK)
    after = NOW + LOCK
    second = stores.provisioning.lock_for_rollback(request.id, now=after, until=after + LOCK)
    assert stores.provisioning.finish_rollback(first, actor="U0OWNER1", now=after) is None
    assert stores.requests.get(request.id).status is Status.PROVISIONED
    assert stores.provisioning.finish_rollback(second, actor="U0OWNER2", now=after).status is (
        Status.REVOKED
    )


def test_rollback_failed_keeps_the_status_and_the_error(stores, sessions) -> None:
    request = provisioned(stores)
    locked = stores.provisioning.lock_for_rollback(request.id, now=NOW, until=NOW + LOCK)
    view = stores.provisioning.rollback_failed(
        locked, actor="U0OWNER1", code="AccessDenied", message="no iam:DeleteUser", now=LATER
    )
    assert (view.status, view.last_error) == (
        Status.PROVISIONED,
        "AccessDenied: no iam:DeleteUser",
    )
    assert row(sessions, request.id).rollback_lock_until is None
    assert events(stores, request.id)[-1] == (
        "U0OWNER1",
        "rollback_failed",
        {"code": "AccessDenied", "message": "no iam:DeleteUser"},
    )
    # Released: a re-issue may run now.
    assert isinstance(
        stores.provisioning.lock_for_reissue(request.id, now=LATER, until=LATER + LOCK), Lease
    )


# --- re-issue --------------------------------------------------------------------------------


def test_finish_reissue_voids_unopened_links_and_stores_the_new_one(stores, sessions) -> None:
    request = provisioned(stores, link_id="old")
    locked = stores.provisioning.lock_for_reissue(request.id, now=NOW, until=NOW + LOCK)
    view = stores.provisioning.finish_reissue(
        locked, sealed("new"), access_key_id="AKIASECOND", actor="U0OWNER1", now=LATER
    )
    assert view.status is Status.PROVISIONED
    stored = row(sessions, request.id)
    assert (stored.access_key_id, stored.reissue_lock_until) == ("AKIASECOND", None)
    found = links(sessions, request.id)
    assert (found["old"].purged_at, found["old"].ciphertext, found["old"].key_check) == (
        LATER,
        None,
        None,
    )
    assert found["new"].ciphertext == sealed("new").box.ciphertext
    assert [(k, d) for _, k, d in events(stores, request.id)[-2:]] == [
        ("credentials_sealed", {"expires_at": sealed("new").expires_at.isoformat()}),
        ("credentials_reissued", {"access_key_id": "AKIASECOND", "voided_links": 1}),
    ]


def test_finish_reissue_stores_nothing_once_the_request_left_provisioned(stores, sessions) -> None:
    request = provisioned(stores, link_id="old")
    locked = stores.provisioning.lock_for_reissue(request.id, now=NOW, until=NOW + LOCK)
    with sessions.begin() as session:  # revoked meanwhile, by a path the lock does not guard
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id)
            .values(status=Status.REVOKING.value)
        )
    assert (
        stores.provisioning.finish_reissue(
            locked, sealed("new"), access_key_id="AKIASECOND", actor="U0OWNER1", now=LATER
        )
        is None
    )
    stored = row(sessions, request.id)
    assert (stored.access_key_id, stored.reissue_lock_until) == ("AKIAFIRST", None)
    assert list(links(sessions, request.id)) == ["old"]


def test_reissue_failed_releases_the_lock(stores, sessions) -> None:
    request = provisioned(stores)
    locked = stores.provisioning.lock_for_reissue(request.id, now=NOW, until=NOW + LOCK)
    stores.provisioning.reissue_failed(locked, actor="U0OWNER1", error="Throttling", now=LATER)
    assert row(sessions, request.id).reissue_lock_until is None
    assert events(stores, request.id)[-1] == (
        "U0OWNER1",
        "credentials_reissue_failed",
        {"error": "Throttling"},
    )
    assert isinstance(
        stores.provisioning.lock_for_rollback(request.id, now=LATER, until=LATER + LOCK), Lease
    )
