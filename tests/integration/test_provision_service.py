"""The provisioning use case on SQLite and PostgreSQL: claims, leases, recovery, failure
and retry, roll back; end to end against moto where AWS is involved."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import MetaData, select

from bot.aws.iam import Backoff, IamProvisioner
from bot.domain.credentials import Credentials
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.services.provision import (
    APPROVED_GRACE,
    DEFAULT_LEASE,
    ProvisioningService,
    ProvisioningWorker,
)
from bot.settings import AwsConfig, BotConfig, Links, Profile, Reminders, SlackConfig
from bot.store.models import AccessRequest, CredentialLink
from bot.store.repository import Repository
from tests.support.fakes import MemorySink, RecordingNotifier
from tests.support.moto import unique

OWNER = "U0OWNER1"


def bot_config(groups: tuple[str, ...] = ()) -> BotConfig:
    return BotConfig(
        slack=SlackConfig(approval_channel="C0APPROVALS", owners=(OWNER, "U0OWNER2")),
        aws=AwsConfig(iam_path="/onboarding/"),
        reminders=Reminders(),
        links=Links(),
        profiles=(
            Profile(
                name="developer",
                description="dev",
                groups=groups,
                policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
                console=True,
                programmatic=True,
                approvals_required=1,
            ),
        ),
    )


def approved(sessions, clock, name: str | None = None) -> int:
    with sessions.begin() as session:
        repo = Repository(session)
        row = repo.add_request(
            requester_id="U0REQ",
            profile="developer",
            iam_user_name=name or unique("user"),
            console=True,
            programmatic=True,
            reason="deploys",
            now=clock.now(),
        )
        assert repo.transition(row.id, Status.PENDING, Status.APPROVED, now=clock.now())
        return row.id


def row_of(sessions, request_id: int) -> AccessRequest:
    with sessions() as session:
        return Repository(session).get(request_id)


def audit_kinds(sessions, request_id: int) -> list[str]:
    with sessions() as session:
        return [e.kind for e in Repository(session).events(request_id)]


def database_text(engine) -> str:
    """Every value in every table, as one string (to look for leaked secrets)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)) for table in meta.sorted_tables for row in conn.execute(table.select())
        )


class ScriptedProvisioner:
    """A Provisioner whose outcomes are scripted per call (errors or credentials)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def _next(self, what: str, request: RequestView) -> Any:
        self.calls.append((what, request.id))
        self.entered.set()
        self.release.wait(10)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome or Credentials(
            request.iam_user_name,
            "https://123456789012.signin.aws.amazon.com/console",
            password="pw-" + request.iam_user_name,  # noqa: S106 - fake
            access_key_id="AKIAFAKE",
            secret_access_key="secret-" + request.iam_user_name,  # noqa: S106 - fake
        )

    def provision(self, request: RequestView) -> Credentials:
        return self._next("provision", request)

    def rotate_credentials(self, request: RequestView) -> Credentials:
        return self._next("rotate", request)

    def roll_back(self, request: RequestView) -> None:
        self._next("roll_back", request)


def service(sessions, clock, provisioner, *, sink=None, config=None) -> ProvisioningService:
    return ProvisioningService(
        sessions,
        provisioner,
        sink or MemorySink(),
        RecordingNotifier(),
        clock,
        config or bot_config(),
    )


# --- claims and leases ---------------------------------------------------------------


def test_claim_moves_approved_to_provisioning_with_lease(sessions, clock) -> None:
    request_id = approved(sessions, clock)
    svc = service(sessions, clock, ScriptedProvisioner())
    assert svc.claim(request_id)
    row = row_of(sessions, request_id)
    assert row.status == "provisioning"
    assert row.lease_expires_at == clock.now() + DEFAULT_LEASE
    assert row.provision_attempts == 1
    assert not svc.claim(request_id)  # already claimed


def test_concurrent_claims_have_one_winner(sessions, clock) -> None:
    request_id = approved(sessions, clock)
    svc = service(sessions, clock, ScriptedProvisioner())
    barrier = threading.Barrier(6)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait()
        wins.append(svc.claim(request_id))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert audit_kinds(sessions, request_id) == ["provisioning_started"]


def test_recover_reclaims_expired_leases_and_unclaimed_approvals(sessions, clock) -> None:
    provisioner = ScriptedProvisioner()
    svc = service(sessions, clock, provisioner)
    stale = approved(sessions, clock)
    assert svc.claim(stale)  # its worker "dies" here
    waiting = approved(sessions, clock)  # approved, never claimed
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() - 30)
    live = approved(sessions, clock)
    assert svc.claim(live)  # a live lease
    fresh = approved(sessions, clock)  # just approved: its worker is about to claim it

    clock.advance(seconds=31)
    ran: list[int] = []
    assert svc.recover(clock.now(), run=ran.append) == 2
    assert sorted(ran) == sorted([stale, waiting])
    assert row_of(sessions, live).lease_expires_at > clock.now()
    assert row_of(sessions, fresh).status == "approved"
    assert row_of(sessions, stale).provision_attempts == 2
    assert "provisioning_resumed" in audit_kinds(sessions, stale)
    # A second sweep finds nothing new: the leases it took are live.
    assert svc.recover(clock.now(), run=ran.append) == 0
    clock.advance(seconds=APPROVED_GRACE.total_seconds())
    assert svc.recover(clock.now(), run=ran.append) == 1
    assert ran[-1] == fresh


def test_concurrent_recovery_sweeps_claim_each_row_once(sessions, clock) -> None:
    svc = service(sessions, clock, ScriptedProvisioner())
    ids = [approved(sessions, clock) for _ in range(4)]
    clock.advance(minutes=5)
    barrier = threading.Barrier(3)
    ran: list[int] = []
    lock = threading.Lock()

    def sweep() -> None:
        barrier.wait()
        svc.recover(clock.now(), run=lambda i: (lock.acquire(), ran.append(i), lock.release()))

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran) == sorted(ids)


def test_a_worker_that_lost_its_lease_cannot_finish(sessions, clock) -> None:
    provisioner = ScriptedProvisioner()
    provisioner.release.clear()
    sink = MemorySink()
    svc = service(sessions, clock, provisioner, sink=sink)
    request_id = approved(sessions, clock)
    assert svc.claim(request_id)
    slow = threading.Thread(target=svc.run, args=(request_id,))
    slow.start()
    assert provisioner.entered.wait(10)
    # The slow worker overran its lease; the sweep hands the request to another one.
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() + 1)
    taken: list[int] = []
    assert svc.recover(clock.now(), run=taken.append) == 1
    provisioner.release.set()
    slow.join(10)
    assert row_of(sessions, request_id).status == "provisioning"
    assert sink.sealed == {}
    svc.run(taken[0])  # the new owner finishes
    assert row_of(sessions, request_id).status == "provisioned"
    assert len(sink.sealed[request_id]) == 1


# --- outcomes -------------------------------------------------------------------------


def test_success_seals_and_notifies_without_storing_secrets(sessions, engine, clock) -> None:
    sink = MemorySink()
    svc = service(sessions, clock, ScriptedProvisioner(), sink=sink)
    request_id = approved(sessions, clock)
    view = svc.process(request_id)
    assert view is not None and view.status == Status.PROVISIONED
    row = row_of(sessions, request_id)
    assert (row.status, row.lease_expires_at, row.access_key_id) == (
        "provisioned",
        None,
        "AKIAFAKE",
    )
    creds = sink.sealed[request_id][0]
    assert svc.notifier.methods() == ["credentials_ready", "request_updated"]
    assert audit_kinds(sessions, request_id) == ["provisioning_started", "provisioned"]
    dump = database_text(engine)
    assert creds.password not in dump and creds.secret_access_key not in dump
    assert creds.password not in repr(svc.notifier.calls)


def test_sealing_failure_leaves_nothing_half_done(sessions, clock) -> None:
    svc = service(sessions, clock, ScriptedProvisioner(), sink=MemorySink(fail=True))
    request_id = approved(sessions, clock)
    assert svc.process(request_id) is None
    row = row_of(sessions, request_id)
    assert row.status == "failed"
    assert row.last_error.startswith("CredentialLinkError:")
    with sessions() as session:
        assert session.scalars(select(CredentialLink)).all() == []


@pytest.mark.parametrize("permanent", [True, False])
def test_failure_moves_to_failed_and_tells_people(sessions, clock, permanent) -> None:
    error = ProvisioningError(
        "AccessDenied", "not allowed", permanent=permanent, step="create_user"
    )
    svc = service(sessions, clock, ScriptedProvisioner(error))
    request_id = approved(sessions, clock)
    assert svc.process(request_id) is None
    row = row_of(sessions, request_id)
    assert (row.status, row.last_error, row.lease_expires_at) == (
        "failed",
        "AccessDenied: not allowed",
        None,
    )
    with sessions() as session:
        event = Repository(session).events(request_id)[-1]
    assert event.kind == "provisioning_failed"
    assert event.detail == {
        "code": "AccessDenied",
        "message": "not allowed",
        "step": "create_user",
        "permanent": permanent,
    }
    methods = svc.notifier.methods()
    assert methods == ["request_updated", "provisioning_failed", "tell_requester"]
    assert svc.notifier.calls[0][1].last_error == "AccessDenied: not allowed"
    assert "approved" in svc.notifier.calls[2][2] and "AccessDenied" not in svc.notifier.calls[2][2]


def test_unexpected_exception_fails_the_request_instead_of_sticking(sessions, clock) -> None:
    svc = service(sessions, clock, ScriptedProvisioner(KeyError("boom")))
    request_id = approved(sessions, clock)
    svc.process(request_id)
    assert row_of(sessions, request_id).last_error == "InternalError: KeyError"


def test_retry_and_roll_back_are_for_owners_only(sessions, clock) -> None:
    error = ProvisioningError("NoSuchEntity", "Group x not found", permanent=True)
    provisioner = ScriptedProvisioner(error)
    svc = service(sessions, clock, provisioner)
    request_id = approved(sessions, clock)
    svc.process(request_id)
    for action in (svc.retry, svc.roll_back):
        result = action(request_id, "U0REQ")
        assert not result.ok and "only the account owners" in result.message
    assert row_of(sessions, request_id).status == "failed"
    assert svc.retry(request_id, OWNER).ok
    assert not svc.retry(request_id, "U0OWNER2").ok  # already provisioning
    assert svc.run(request_id) is not None
    assert row_of(sessions, request_id).status == "provisioned"
    assert audit_kinds(sessions, request_id) == [
        "provisioning_started",
        "provisioning_failed",
        "provisioning_started",
        "provisioned",
    ]
    with sessions() as session:
        assert Repository(session).events(request_id)[2].actor == OWNER


def test_roll_back_blocks_a_concurrent_retry(sessions, clock) -> None:
    provisioner = ScriptedProvisioner(ProvisioningError("X", "y", permanent=True))
    svc = service(sessions, clock, provisioner)
    request_id = approved(sessions, clock)
    svc.process(request_id)
    provisioner.entered.clear()
    provisioner.release.clear()
    rolling = threading.Thread(target=svc.roll_back, args=(request_id, OWNER))
    rolling.start()
    assert provisioner.entered.wait(10)
    result = svc.retry(request_id, "U0OWNER2")
    provisioner.release.set()
    rolling.join(10)
    assert not result.ok and "being rolled back" in result.message
    assert row_of(sessions, request_id).status == "revoked"


def test_failed_roll_back_keeps_the_request_failed(sessions, clock) -> None:
    provisioner = ScriptedProvisioner(
        ProvisioningError("X", "y", permanent=True),
        ProvisioningError("AccessDenied", "no DeleteUser", permanent=True),
    )
    svc = service(sessions, clock, provisioner)
    request_id = approved(sessions, clock)
    svc.process(request_id)
    result = svc.roll_back(request_id, OWNER)
    assert not result.ok and "AccessDenied" in result.message
    row = row_of(sessions, request_id)
    assert (row.status, row.lease_expires_at) == ("failed", None)
    assert audit_kinds(sessions, request_id)[-1] == "rollback_failed"


def test_worker_runs_jobs_in_the_background(sessions, clock) -> None:
    svc = service(sessions, clock, ScriptedProvisioner())
    worker = ProvisioningWorker(svc)
    try:
        ids = [approved(sessions, clock) for _ in range(3)]
        futures = [worker.submit(i) for i in ids]
        for future in futures:
            future.result(timeout=30)
    finally:
        worker.shutdown(wait=True)
    assert {row_of(sessions, i).status for i in ids} == {"provisioned"}


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


def test_missing_group_fails_then_retry_succeeds(moto_server, sessions, engine, clock) -> None:
    iam = moto_server.client("iam")
    group = unique("devs")
    sink = MemorySink()
    svc = service(
        sessions, clock, real_provisioner(moto_server), sink=sink, config=bot_config((group,))
    )
    request_id = approved(sessions, clock)
    svc.process(request_id)
    row = row_of(sessions, request_id)
    assert row.status == "failed"
    assert row.last_error.startswith("NoSuchEntity:") and group in row.last_error

    iam.create_group(GroupName=group)
    worker = ProvisioningWorker(svc)
    try:
        result, future = worker.retry(request_id, OWNER)
        assert result.ok
        future.result(timeout=60)
    finally:
        worker.shutdown()
    row = row_of(sessions, request_id)
    assert row.status == "provisioned"
    creds = sink.sealed[request_id][0]
    assert [
        g["GroupName"] for g in iam.list_groups_for_user(UserName=row.iam_user_name)["Groups"]
    ] == [group]
    keys = iam.list_access_keys(UserName=row.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [creds.access_key_id] == [row.access_key_id]
    assert creds.secret_access_key not in database_text(engine)


def test_process_death_is_recovered_without_a_second_key(moto_server, sessions, clock) -> None:
    iam = moto_server.client("iam")
    sink = MemorySink()
    request_id = approved(sessions, clock)
    dying = service(
        sessions, clock, real_provisioner(moto_server, DyingIam(iam, "create_access_key"))
    )
    with pytest.raises(ProcessDied):
        dying.process(request_id)
    assert row_of(sessions, request_id).status == "provisioning"

    svc = service(sessions, clock, real_provisioner(moto_server), sink=sink)
    assert svc.recover(clock.now()) == 0  # the lease is still live
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() + 1)
    assert svc.recover(clock.now()) == 1
    row = row_of(sessions, request_id)
    assert row.status == "provisioned"
    keys = iam.list_access_keys(UserName=row.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [sink.sealed[request_id][0].access_key_id]


def test_roll_back_of_failed_request_removes_the_user(moto_server, sessions, clock) -> None:
    iam = moto_server.client("iam")
    svc = service(
        sessions, clock, real_provisioner(moto_server), config=bot_config((unique("nope"),))
    )
    request_id = approved(sessions, clock)
    svc.process(request_id)
    name = row_of(sessions, request_id).iam_user_name
    assert iam.get_user(UserName=name)  # half-provisioned
    result = svc.roll_back(request_id, OWNER)
    assert result.ok
    assert row_of(sessions, request_id).status == "revoked"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_user(UserName=name)
    assert audit_kinds(sessions, request_id)[-1] == "rolled_back"
    assert svc.notifier.calls[-1][1].status == Status.REVOKED


def test_lease_outlasts_the_worst_case_provisioning_time() -> None:
    from bot.aws.iam import KEY_BACKOFF, STEP_BACKOFF

    # ~10 calls each allowed the full step backoff, plus the key wait: well under the lease.
    worst = 10 * STEP_BACKOFF.total + KEY_BACKOFF.total
    assert timedelta(seconds=worst) < DEFAULT_LEASE
