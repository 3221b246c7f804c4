"""The provisioning use case on SQLite and PostgreSQL: claims, leases, recovery, failure
and retry, roll back; end to end against moto where AWS is involved."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import update

from bot import crypto
from bot.aws.iam import Backoff, IamProvisioner
from bot.domain.errors import ProvisioningError
from bot.domain.events import CredentialsIssued, ProvisioningFailed, RequestChanged, RolledBack
from bot.domain.states import Status
from bot.domain.storage import Lease
from bot.services.provision import APPROVED_GRACE, DEFAULT_LEASE, ProvisioningService
from bot.services.worker import ProvisioningWorker
from bot.settings import AwsConfig, BotConfig, Links, Profile, Reminders, SlackConfig
from bot.store import Stores
from bot.store.models import AccessRequest
from tests.support.concurrency import race
from tests.support.fakes import FailingFinish, ScriptedProvisioner
from tests.support.moto import unique
from tests.support.notifier import RecordingNotifier
from tests.support.requests import (
    APPROVED,
    PUBLIC_URL,
    audit_kinds,
    database_text,
    links_of,
    provisioning_service,
    row,
)
from tests.support.requests import approved as approved_request
from tests.support.vault import key_of, open_link

OWNER = "U0OWNER1"
OWNER2 = "U0OWNER2"
STRANGER = "U0STRANGER"
POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def bot_config(groups: tuple[str, ...] = (), policies: tuple[str, ...] = (POLICY,)) -> BotConfig:
    return BotConfig(
        slack=SlackConfig(approval_channel="C0APPROVALS", owners=(OWNER, OWNER2)),
        aws=AwsConfig(iam_path="/onboarding/"),
        reminders=Reminders(),
        links=Links(),
        profiles=(
            Profile(
                name="developer",
                description="dev",
                groups=groups,
                policies=policies,
                console=True,
                programmatic=True,
                approvals_required=1,
            ),
        ),
    )


CONFIG = bot_config()


def approved(stores: Stores, clock, name: str | None = None, config: BotConfig = CONFIG) -> int:
    """An approved request of its own requester (one open request per requester)."""
    name = name or unique("user")
    view = approved_request(
        stores, config, now=clock.now(), requester_id=f"U0REQ-{name}", iam_user_name=name
    )
    return view.id


def service(
    stores: Stores, clock, provisioner, *, config: BotConfig = CONFIG, store: Any = None
) -> ProvisioningService:
    return provisioning_service(
        stores, provisioner, RecordingNotifier(), clock, config, store=store
    )


def failed_with_roll_back_held(
    stores: Stores, clock
) -> tuple[ProvisioningService, ScriptedProvisioner, int]:
    """A request whose provisioning failed for good; the next call into AWS (the roll
    back's) waits until the test sets `provisioner.release`."""
    provisioner = ScriptedProvisioner(ProvisioningError("X", "y", permanent=True))
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    svc.process(request_id)
    provisioner.entered.clear()
    provisioner.release.clear()
    return svc, provisioner, request_id


def requester_of(stores: Stores, request_id: int) -> str:
    view = stores.requests.get(request_id)
    assert view is not None
    return view.requester_id


# --- claims and leases ---------------------------------------------------------------


def test_claim_moves_approved_to_provisioning_with_lease(sessions, stores, clock) -> None:
    request_id = approved(stores, clock)
    svc = service(stores, clock, ScriptedProvisioner())
    assert svc.claim(request_id)
    claimed = row(sessions, request_id)
    assert claimed.status == "provisioning"
    assert claimed.lease_expires_at == clock.now() + DEFAULT_LEASE
    # The provisioning lease has its own column: the owners' locks stay free.
    assert (claimed.rollback_lock_until, claimed.reissue_lock_until) == (None, None)
    assert claimed.provision_attempts == 1
    assert not svc.claim(request_id)  # already claimed
    assert audit_kinds(stores, request_id) == [*APPROVED, "provisioning_started"]


def test_concurrent_claims_have_one_winner(stores, clock) -> None:
    request_id = approved(stores, clock)
    svc = service(stores, clock, ScriptedProvisioner())
    wins = race(6, lambda _: svc.claim(request_id) is not None)
    assert sorted(wins) == [False] * 5 + [True]
    assert audit_kinds(stores, request_id) == [*APPROVED, "provisioning_started"]


def test_recover_reclaims_expired_leases_and_unclaimed_approvals(sessions, stores, clock) -> None:
    provisioner = ScriptedProvisioner()
    svc = service(stores, clock, provisioner)
    stale = approved(stores, clock)
    assert svc.claim(stale)  # its worker "dies" here
    waiting = approved(stores, clock)  # approved, never claimed
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() - 30)
    live = approved(stores, clock)
    assert svc.claim(live)  # a live lease
    fresh = approved(stores, clock)  # just approved: its worker is about to claim it

    clock.advance(seconds=31)
    ran: list[Lease] = []
    assert svc.recover(clock.now(), run=ran.append) == 2
    assert sorted(lease.request.id for lease in ran) == sorted([stale, waiting])
    assert row(sessions, live).lease_expires_at > clock.now()
    assert row(sessions, fresh).status == "approved"
    assert row(sessions, stale).provision_attempts == 2
    assert row(sessions, stale).lease_expires_at == clock.now() + DEFAULT_LEASE
    assert audit_kinds(stores, stale)[-1] == "provisioning_resumed"
    # A second sweep finds nothing new: the leases it took are live.
    assert svc.recover(clock.now(), run=ran.append) == 0
    clock.advance(seconds=APPROVED_GRACE.total_seconds())
    assert svc.recover(clock.now(), run=ran.append) == 1
    assert ran[-1].request.id == fresh
    assert provisioner.calls == []  # `run` was the test's: nothing provisioned here


def test_concurrent_recovery_sweeps_claim_each_row_once(stores, clock) -> None:
    svc = service(stores, clock, ScriptedProvisioner())
    ids = [approved(stores, clock) for _ in range(4)]
    clock.advance(minutes=5)
    ran: list[int] = []
    lock = threading.Lock()

    def record(lease: Lease) -> None:
        with lock:
            ran.append(lease.request.id)

    race(3, lambda _: svc.recover(clock.now(), run=record))
    assert sorted(ran) == sorted(ids)


def test_a_worker_that_lost_its_lease_cannot_finish(sessions, stores, clock) -> None:
    provisioner = ScriptedProvisioner()
    provisioner.release.clear()
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    lease = svc.claim(request_id)
    assert lease is not None
    results: list[Any] = []
    slow = threading.Thread(target=lambda: results.append(svc.run(lease)))
    slow.start()
    assert provisioner.entered.wait(10)
    # The slow worker overran its lease; the sweep hands the request to another one.
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() + 1)
    taken: list[int] = []
    assert svc.recover(clock.now(), run=taken.append) == 1
    provisioner.release.set()
    slow.join(10)
    assert results == [None]
    assert row(sessions, request_id).status == "provisioning"
    assert links_of(sessions, request_id) == []  # nothing sealed for the loser
    assert svc.notifier.events == []
    svc.run(taken[0])  # the new owner finishes
    assert row(sessions, request_id).status == "provisioned"
    [link] = links_of(sessions, request_id)
    [issued] = svc.notifier.of(CredentialsIssued)
    assert issued.link.link_id == link.id
    # The link holds the new owner's credentials, not the loser's.
    assert open_link(stores, issued.link, clock.now()) == provisioner.issued[1]
    assert provisioner.kinds() == ["provision", "provision"]


# --- outcomes -------------------------------------------------------------------------


def test_success_seals_and_notifies_without_storing_secrets(
    sessions, engine, stores, clock
) -> None:
    provisioner = ScriptedProvisioner()
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    view = svc.process(request_id)
    assert view is not None and view.status is Status.PROVISIONED
    [creds] = provisioner.issued
    done = row(sessions, request_id)
    assert (done.status, done.lease_expires_at, done.access_key_id, done.provisioned_at) == (
        "provisioned",
        None,
        creds.access_key_id,
        clock.now(),
    )
    # The link's DM is remembered: "opened" notices reply under it.
    [issued] = svc.notifier.of(CredentialsIssued)
    assert svc.notifier.kinds() == ["CredentialsIssued"]
    assert issued.request.status is Status.PROVISIONED and issued.reissued_by is None
    assert (done.requester_dm_channel, done.requester_dm_ts) == (
        "D0REQUESTER",
        f"2{request_id}.000200",
    )
    # One link, with ciphertext only; the key rides in the URL fragment.
    [link] = links_of(sessions, request_id)
    assert issued.link.link_id == link.id
    assert issued.link.url.startswith(f"{PUBLIC_URL}/credentials/{link.id}#")
    assert link.expires_at == issued.link.expires_at == clock.now() + CONFIG.links.ttl
    assert link.key_check == crypto.key_check(key_of(issued.link))
    assert audit_kinds(stores, request_id) == [
        *APPROVED,
        "provisioning_started",
        "credentials_sealed",
        "provisioned",
    ]
    dump = database_text(engine)
    key = crypto.b64url(key_of(issued.link))
    for secret in (creds.password, creds.secret_access_key, key):
        assert secret not in dump
        assert secret not in repr(svc.notifier.events)
    assert open_link(stores, issued.link, clock.now()) == creds


def test_sealing_failure_leaves_nothing_half_done(sessions, stores, clock) -> None:
    failing = FailingFinish(stores.provisioning)
    provisioner = ScriptedProvisioner()
    svc = service(stores, clock, provisioner, store=failing)
    request_id = approved(stores, clock)
    assert svc.process(request_id) is None
    assert failing.attempts == 1
    failed = row(sessions, request_id)
    assert (failed.status, failed.lease_expires_at) == ("failed", None)
    assert failed.last_error == (
        "CredentialLinkError: could not store the credential link (RuntimeError)"
    )
    assert links_of(sessions, request_id) == []
    [told] = svc.notifier.of(ProvisioningFailed)
    assert svc.notifier.kinds() == ["ProvisioningFailed"]
    assert told.request.status is Status.FAILED and told.request.last_error == failed.last_error
    [*_, event] = stores.requests.audit_of(request_id)
    assert (event.kind, event.detail["step"], event.detail["permanent"]) == (
        "provisioning_failed",
        "seal",
        False,
    )
    # The user exists in IAM; a Retry re-keys and seals a link this time.
    healthy = service(stores, clock, provisioner)
    retried = healthy.retry(request_id, OWNER)
    assert retried.ok
    assert healthy.run(retried.lease) is not None
    [link] = links_of(sessions, request_id)
    [issued] = healthy.notifier.of(CredentialsIssued)
    assert open_link(stores, issued.link, clock.now()) == provisioner.issued[-1]


@pytest.mark.parametrize("permanent", [True, False])
def test_failure_moves_to_failed_and_tells_people(sessions, stores, clock, permanent) -> None:
    error = ProvisioningError(
        "AccessDenied", "not allowed", permanent=permanent, step="create_user"
    )
    svc = service(stores, clock, ScriptedProvisioner(error))
    request_id = approved(stores, clock)
    assert svc.process(request_id) is None
    failed = row(sessions, request_id)
    assert (failed.status, failed.last_error, failed.lease_expires_at) == (
        "failed",
        "AccessDenied: not allowed",
        None,
    )
    [*_, event] = stores.requests.audit_of(request_id)
    assert event.kind == "provisioning_failed"
    assert event.detail == {
        "code": "AccessDenied",
        "message": "not allowed",
        "step": "create_user",
        "permanent": permanent,
    }
    # One event; the Slack notifier turns it into the owners' thread reply and the
    # requester's "delayed" DM (tests/slack).
    assert svc.notifier.kinds() == ["ProvisioningFailed"]
    [told] = svc.notifier.of(ProvisioningFailed)
    assert told.request.id == request_id and told.request.status is Status.FAILED
    assert told.request.last_error == "AccessDenied: not allowed"
    assert links_of(sessions, request_id) == []


def test_unexpected_exception_fails_the_request_instead_of_sticking(
    sessions, stores, clock
) -> None:
    svc = service(stores, clock, ScriptedProvisioner(KeyError("boom")))
    request_id = approved(stores, clock)
    assert svc.process(request_id) is None
    failed = row(sessions, request_id)
    assert (failed.status, failed.last_error) == ("failed", "InternalError: KeyError")
    assert svc.notifier.kinds() == ["ProvisioningFailed"]


def test_provisioning_uses_the_rules_frozen_at_submit(stores, clock) -> None:
    """A config edit between submit and provisioning changes nothing for the request."""
    request_id = approved(stores, clock, config=bot_config(("old-group",), (POLICY,)))
    provisioner = ScriptedProvisioner()
    edited = bot_config(("new-group",), ("arn:aws:iam::aws:policy/AdministratorAccess",))
    svc = service(stores, clock, provisioner, config=edited)
    assert svc.process(request_id) is not None
    [handed] = provisioner.requests
    assert (handed.groups, handed.policies) == (("old-group",), (POLICY,))


def test_retry_and_roll_back_are_for_owners_only(sessions, stores, clock) -> None:
    error = ProvisioningError("NoSuchEntity", "Group x not found", permanent=True)
    provisioner = ScriptedProvisioner(error)
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    svc.process(request_id)
    requester = requester_of(stores, request_id)
    refusals = {
        (who, action.__name__): action(request_id, who)
        for who in (requester, STRANGER)
        for action in (svc.retry, svc.roll_back)
    }
    assert {key: (r.ok, r.message) for key, r in refusals.items()} == {
        (requester, "retry"): (False, "you cannot retry provisioning of your own request"),
        (requester, "roll_back"): (False, "you cannot roll back your own request"),
        (STRANGER, "retry"): (False, "only the account owners can retry or roll back provisioning"),
        (STRANGER, "roll_back"): (
            False,
            "only the account owners can retry or roll back provisioning",
        ),
    }
    assert row(sessions, request_id).status == "failed"
    assert provisioner.kinds() == ["provision"]  # no roll back reached AWS

    retried = svc.retry(request_id, OWNER)
    assert retried.ok
    [changed] = svc.notifier.of(RequestChanged)
    assert changed.request.status is Status.PROVISIONING
    again = svc.retry(request_id, OWNER2)  # already provisioning
    assert (again.ok, again.message) == (
        False,
        f"request #{request_id} is provisioning, not failed",
    )
    rolled = svc.roll_back(request_id, OWNER2)
    assert (rolled.ok, rolled.message) == (
        False,
        f"request #{request_id} is provisioning, not failed or provisioned",
    )
    assert svc.run(retried.lease) is not None
    assert row(sessions, request_id).status == "provisioned"
    assert audit_kinds(stores, request_id) == [
        *APPROVED,
        "provisioning_started",
        "provisioning_failed",
        "provisioning_started",
        "credentials_sealed",
        "provisioned",
    ]
    retried = stores.requests.audit_of(request_id)[5]
    assert (retried.actor, retried.detail["previous"]) == (OWNER, "failed")


def test_roll_back_blocks_a_concurrent_retry(sessions, stores, clock) -> None:
    svc, provisioner, request_id = failed_with_roll_back_held(stores, clock)
    rolling = threading.Thread(target=svc.roll_back, args=(request_id, OWNER))
    rolling.start()
    assert provisioner.entered.wait(10)
    held = row(sessions, request_id)
    # The roll back holds its own lock; the request stays failed meanwhile.
    assert (held.status, held.lease_expires_at) == ("failed", None)
    assert held.rollback_lock_until == clock.now() + DEFAULT_LEASE
    result = svc.retry(request_id, OWNER2)
    provisioner.release.set()
    rolling.join(10)
    assert (result.ok, result.message) == (False, f"request #{request_id} is being rolled back")
    done = row(sessions, request_id)
    assert (done.status, done.rollback_lock_until) == ("revoked", None)
    [rolled] = svc.notifier.of(RolledBack)
    assert (rolled.request.status, rolled.by) == (Status.REVOKED, OWNER)
    assert provisioner.kinds() == ["provision", "roll_back"]
    assert audit_kinds(stores, request_id)[-1] == "rolled_back"


def test_failed_roll_back_keeps_the_request_failed(sessions, stores, clock) -> None:
    provisioner = ScriptedProvisioner(
        ProvisioningError("X", "y", permanent=True),
        ProvisioningError("AccessDenied", "no DeleteUser", permanent=True),
    )
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    svc.process(request_id)
    result = svc.roll_back(request_id, OWNER)
    assert (result.ok, result.message) == (False, "roll back failed: AccessDenied: no DeleteUser")
    failed = row(sessions, request_id)
    assert (failed.status, failed.lease_expires_at, failed.rollback_lock_until) == (
        "failed",
        None,
        None,
    )
    assert failed.last_error == "AccessDenied: no DeleteUser"
    [*_, event] = stores.requests.audit_of(request_id)
    assert (event.kind, event.actor, event.detail["code"]) == (
        "rollback_failed",
        OWNER,
        "AccessDenied",
    )
    [changed] = svc.notifier.of(RequestChanged)
    assert changed.request.last_error == "AccessDenied: no DeleteUser"
    assert svc.notifier.of(RolledBack) == []
    # The lock was released: the owners can try again at once.
    assert svc.roll_back(request_id, OWNER2).ok
    assert row(sessions, request_id).status == "revoked"


def test_roll_back_of_a_provisioned_request(sessions, stores, clock) -> None:
    provisioner = ScriptedProvisioner()
    svc = service(stores, clock, provisioner)
    request_id = approved(stores, clock)
    assert svc.process(request_id) is not None
    assert svc.roll_back(request_id, OWNER).ok
    assert row(sessions, request_id).status == "revoked"
    [*_, event] = stores.requests.audit_of(request_id)
    assert (event.kind, event.detail["previous"]) == ("rolled_back", "provisioned")
    # The unopened link would hand out the deleted user's credentials: it is void.
    assert event.detail["voided_links"] == 1
    [link] = links_of(sessions, request_id)
    assert link.ciphertext is None and link.purged_at is not None
    assert [r.status for r in (e.request for e in svc.notifier.of(RolledBack))] == [Status.REVOKED]
    # Once revoked, neither can run again.
    assert svc.roll_back(request_id, OWNER2).message == (
        f"request #{request_id} is revoked, not failed or provisioned"
    )
    assert svc.retry(request_id, OWNER2).message == f"request #{request_id} is revoked, not failed"


def test_worker_runs_jobs_in_the_background(sessions, stores, clock) -> None:
    svc = service(stores, clock, ScriptedProvisioner())
    worker = ProvisioningWorker(svc)
    try:
        ids = [approved(stores, clock) for _ in range(3)]
        futures = [worker.submit(i) for i in ids]
        for future in futures:
            future.result(timeout=30)
        # A second hand-off of the same request finds it claimed: nothing runs twice.
        assert worker.submit(ids[0]).result(timeout=30) is None
    finally:
        worker.shutdown(wait=True)
    assert {row(sessions, i).status for i in ids} == {"provisioned"}
    assert len(svc.notifier.of(CredentialsIssued)) == 3


def test_worker_refuses_retry_and_roll_back_at_once(sessions, stores, clock) -> None:
    provisioner = ScriptedProvisioner(ProvisioningError("X", "y", permanent=True))
    svc = service(stores, clock, provisioner)
    worker = ProvisioningWorker(svc)
    try:
        request_id = approved(stores, clock)
        assert worker.submit(request_id).result(timeout=30) is None
        requester = requester_of(stores, request_id)
        assert worker.retry(request_id, requester) == (
            svc.retry(request_id, requester),
            None,
        )
        refused, future = worker.roll_back(request_id, STRANGER)
        assert not refused.ok and future is None
        result, future = worker.retry(request_id, OWNER)
        assert result.ok and future is not None
        assert future.result(timeout=30) is not None
    finally:
        worker.shutdown(wait=True)
    assert row(sessions, request_id).status == "provisioned"


# --- end to end against moto ------------------------------------------------------------


class ProcessDied(BaseException):
    """Not an Exception: nothing in the bot catches it, as with a killed process."""


class DyingIam:
    def __init__(self, iam: Any, after: str) -> None:
        self._iam, self._after = iam, after

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._iam, name)
        if name != self._after:
            return method

        def call(**kwargs: Any) -> Any:
            method(**kwargs)
            raise ProcessDied(name)

        return call


def real_provisioner(moto_server, iam=None) -> IamProvisioner:
    return IamProvisioner(
        iam or moto_server.client("iam"),
        lambda key_id, secret: moto_server.client("sts", key_id, secret),
        AwsConfig(iam_path="/onboarding/"),
        sleep=lambda _s: None,
        step_backoff=Backoff(2, 0, 0),
    )


def test_missing_group_fails_then_retry_succeeds(
    moto_server, sessions, engine, stores, clock
) -> None:
    iam = moto_server.client("iam")
    group = unique("devs")
    config = bot_config((group,))
    svc = service(stores, clock, real_provisioner(moto_server), config=config)
    request_id = approved(stores, clock, config=config)
    svc.process(request_id)
    failed = row(sessions, request_id)
    assert failed.status == "failed"
    assert failed.last_error.startswith("NoSuchEntity:") and group in failed.last_error
    assert svc.notifier.kinds() == ["ProvisioningFailed"]

    iam.create_group(GroupName=group)
    worker = ProvisioningWorker(svc)
    try:
        result, future = worker.retry(request_id, OWNER)
        assert result.ok
        future.result(timeout=60)
    finally:
        worker.shutdown()
    done = row(sessions, request_id)
    assert done.status == "provisioned"
    [issued] = svc.notifier.of(CredentialsIssued)
    creds = open_link(stores, issued.link, clock.now())
    assert [
        g["GroupName"] for g in iam.list_groups_for_user(UserName=done.iam_user_name)["Groups"]
    ] == [group]
    keys = iam.list_access_keys(UserName=done.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [creds.access_key_id] == [done.access_key_id]
    assert creds.secret_access_key not in database_text(engine)


def test_process_death_is_recovered_without_a_second_key(
    moto_server, sessions, stores, clock
) -> None:
    iam = moto_server.client("iam")
    request_id = approved(stores, clock)
    dying = service(
        stores, clock, real_provisioner(moto_server, DyingIam(iam, "create_access_key"))
    )
    with pytest.raises(ProcessDied):
        dying.process(request_id)
    assert row(sessions, request_id).status == "provisioning"

    svc = service(stores, clock, real_provisioner(moto_server))
    assert svc.recover(clock.now()) == 0  # the lease is still live
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() + 1)
    assert svc.recover(clock.now()) == 1
    done = row(sessions, request_id)
    assert done.status == "provisioned"
    [issued] = svc.notifier.of(CredentialsIssued)
    creds = open_link(stores, issued.link, clock.now())
    keys = iam.list_access_keys(UserName=done.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [creds.access_key_id]


def test_roll_back_of_failed_request_removes_the_user(moto_server, sessions, stores, clock) -> None:
    iam = moto_server.client("iam")
    config = bot_config((unique("nope"),))
    svc = service(stores, clock, real_provisioner(moto_server), config=config)
    request_id = approved(stores, clock, config=config)
    svc.process(request_id)
    name = row(sessions, request_id).iam_user_name
    assert iam.get_user(UserName=name)  # half-provisioned
    result = svc.roll_back(request_id, OWNER)
    assert result.ok
    assert row(sessions, request_id).status == "revoked"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_user(UserName=name)
    assert audit_kinds(stores, request_id)[-1] == "rolled_back"
    [rolled] = svc.notifier.of(RolledBack)
    assert (rolled.request.status, rolled.by) == (Status.REVOKED, OWNER)


def test_lease_outlasts_the_worst_case_provisioning_time() -> None:
    from bot.aws.iam import KEY_BACKOFF, STEP_BACKOFF

    # ~10 calls each allowed the full step backoff, plus the key wait: well under the lease.
    worst = 10 * STEP_BACKOFF.total + KEY_BACKOFF.total
    assert timedelta(seconds=worst) < DEFAULT_LEASE


# --- a lost lease or unknown rules never end in a false success ------------------------


def test_recovery_never_provisions_a_request_whose_rules_are_unknown(
    sessions, stores, clock
) -> None:
    """An approved row stored before rules were frozen whose profile has left the config
    has no groups or policies to give: it must not become an IAM user with no rules (a
    Retry of it is refused for that reason, bot/domain/policy.py RULES_UNKNOWN)."""
    request_id = approved(stores, clock)
    with sessions.begin() as session:  # as migration 0002 leaves such a row
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id)
            .values(
                rules_frozen_at=None,
                account=None,
                groups=None,
                policies=None,
                permissions_boundary=None,
                max_duration_seconds=None,
                approvals_required=None,
            )
        )
    assert stores.requests.get(request_id).rules_frozen is False
    provisioner = ScriptedProvisioner()
    svc = service(stores, clock, provisioner)
    clock.advance(seconds=APPROVED_GRACE.total_seconds() + 1)
    svc.recover(clock.now())
    assert provisioner.calls == []


def test_a_roll_back_that_lost_its_lock_does_not_report_success(sessions, stores, clock) -> None:
    svc, provisioner, request_id = failed_with_roll_back_held(stores, clock)
    results: list[Any] = []
    rolling = threading.Thread(target=lambda: results.append(svc.roll_back(request_id, OWNER)))
    rolling.start()
    assert provisioner.entered.wait(10)
    # The roll back overran its lock; another owner's Retry takes the request.
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() + 1)
    assert svc.retry(request_id, OWNER2).ok
    provisioner.release.set()
    rolling.join(10)
    assert row(sessions, request_id).status == "provisioning"
    [result] = results
    assert not result.ok
