"""Time-bound access (flow 6) through the scheduler's sweeps with an injected clock: the
requester is warned a day and an hour before the end (at 80% for a short grant), each
once, and at the end the grant is revoked with `[offboarding] mode` (cause expiry),
once, whatever the number of sweeps or replicas. The database is real (SQLite and
PostgreSQL); IAM is a recording Revoker (the revoke's IAM steps have their own moto
tests), the revoke itself the one real use case."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.domain.credentials import Credentials
from bot.domain.events import AccessExtended, AccessRevoked, ExpiryWarning
from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeMode, RevokePlan
from bot.domain.storage import NewRequest
from bot.domain.time_bound import warning_times
from bot.scheduler import TIME_BOUND_JOB, lifecycle_jobs, run_sweeps_once
from bot.services.revoke import RevokeService
from bot.services.time_bound import TimeBoundAccess
from bot.store import Stores
from tests.support import requests
from tests.support.configs import DEVELOPER, bot_config, config_toml, profile
from tests.support.notifier import RecordingNotifier

OWNER = "U0OWNER1"
CREDENTIALS = Credentials(
    user_name="alice",
    console_url="https://123456789012.signin.aws.amazon.com/console",
    password="pw-for-test",  # noqa: S106 - a test value
    access_key_id="AKIATESTTESTTESTTEST",
    secret_access_key="test-secret-key",
)


def _config(mode: str = "disable"):
    return bot_config(
        config_toml(
            {**DEVELOPER, "max_duration": "30d"},
            profile("short", "Five seconds", groups=[], console=True, max_duration="5s"),
            profile("forever", "Until revoked", groups=[], console=True),
            reminders={"every": "4h", "remind_after": "1h", "expire_after": "7d"},
            extra=f'[offboarding]\nmode = "{mode}"\n',
        )
    )


class RecordingRevoker:
    def __init__(self) -> None:
        self.revoked: list[tuple[int, RevokeMode]] = []
        self._lock = threading.Lock()

    def owned(self, request: RequestView) -> bool:
        return True

    def plan(self, request: RequestView) -> RevokePlan:
        return RevokePlan(request.iam_user_name)

    def revoke(self, request: RequestView, mode: RevokeMode) -> None:
        with self._lock:
            self.revoked.append((request.id, mode))


@pytest.fixture
def world(stores: Stores, clock):
    def make(mode: str = "disable"):
        config = _config(mode)
        notifier = RecordingNotifier()
        revoker = RecordingRevoker()
        revoke = RevokeService(
            stores.revocations, stores.requests, revoker, notifier, clock, config
        )
        time_bound = TimeBoundAccess(
            stores.time_bound,
            stores.requests,
            stores.provisioning,
            revoke.revoke,
            notifier,
            clock,
            config,
        )
        jobs = lifecycle_jobs(
            config.reminders,
            remind=lambda now: None,
            expire=lambda now: None,
            time_bound=time_bound.sweep,
        )
        return config, notifier, revoker, time_bound, jobs

    return make


def _grant(stores: Stores, config, clock, profile_name: str = "developer", user: str = "alice"):
    view = requests.approved(
        stores,
        config,
        now=clock.now(),
        profile=profile_name,
        iam_user_name=user,
        requester_id=f"U0{user.upper()}",
        programmatic=profile_name == "developer",
    )
    provisioned, _ = requests.provision(stores, config, view.id, CREDENTIALS, now=clock.now())
    return provisioned


def test_the_time_bound_sweep_runs_at_least_as_often_as_reminders() -> None:
    config = _config()
    jobs = lifecycle_jobs(
        config.reminders, remind=print, expire=print, time_bound=print, reconcile_members=print
    )
    every = {job.id: job.every for job in jobs}
    assert every[TIME_BOUND_JOB] <= config.reminders.every
    assert every[TIME_BOUND_JOB] <= timedelta(minutes=1)


def test_warnings_a_day_and_an_hour_before_the_end_each_once(world, stores, clock) -> None:
    config, notifier, revoker, _, jobs = world()
    start = clock.now()
    grant = _grant(stores, config, clock)
    assert grant.access_expires_at == start + timedelta(days=30)

    def run_at(at):
        clock.current = at
        [outcome] = [o for o in run_sweeps_once(jobs, clock) if o.job_id == TIME_BOUND_JOB]
        assert outcome.ok, outcome.error
        return outcome.result

    end = start + timedelta(days=30)
    assert run_at(end - timedelta(days=1, seconds=1)).warned == 0
    assert run_at(end - timedelta(days=1)).warned == 1
    assert run_at(end - timedelta(hours=5)).warned == 0  # not twice
    assert run_at(end - timedelta(hours=1)).warned == 1
    assert run_at(end - timedelta(minutes=1)).warned == 0
    warnings = notifier.of(ExpiryWarning)
    assert [w.request.id for w in warnings] == [grant.id, grant.id]
    assert [w.request.expiry_warnings for w in warnings] == [1, 2]
    assert requests.audit_kinds(stores, grant.id).count("expiry_warned") == 2
    assert revoker.revoked == []


def test_a_short_grant_is_warned_once_at_80_percent_then_revoked_at_the_end(
    world, stores, clock
) -> None:
    config, notifier, revoker, time_bound, _ = world(mode="delete")
    start = clock.now()
    grant = _grant(stores, config, clock, "short")
    assert warning_times(grant.access_expires_at, timedelta(seconds=5)) == [
        start + timedelta(seconds=4)
    ]
    clock.current = start + timedelta(seconds=3)
    assert time_bound.sweep().warned == 0
    clock.current = start + timedelta(seconds=4)
    assert time_bound.sweep().warned == 1
    clock.current = start + timedelta(seconds=5)
    result = time_bound.sweep()
    assert (result.revoked, result.warned) == (1, 0)
    assert revoker.revoked == [(grant.id, RevokeMode.DELETE)]  # [offboarding] mode
    revoked = requests.get(stores, grant.id)
    assert revoked.status.value == "revoked"
    assert (revoked.revoke_cause, revoked.revoke_mode) == ("expiry", "delete")
    assert [e.request.id for e in notifier.of(AccessRevoked)] == [grant.id]
    clock.current = start + timedelta(seconds=50)
    assert time_bound.sweep().revoked == 0  # once


def test_a_bot_that_was_down_revokes_and_does_not_warn_late(world, stores, clock) -> None:
    config, notifier, revoker, time_bound, _ = world()
    start = clock.now()
    grant = _grant(stores, config, clock)
    forever = _grant(stores, config, clock, "forever", user="bob")
    assert forever.access_expires_at is None
    clock.current = start + timedelta(days=40)
    result = time_bound.sweep()
    assert (result.revoked, result.warned) == (1, 0)
    assert notifier.of(ExpiryWarning) == []
    assert revoker.revoked == [(grant.id, RevokeMode.DISABLE)]
    assert requests.get(stores, forever.id).status.value == "provisioned"


def test_concurrent_sweeps_revoke_and_warn_once(world, stores, clock) -> None:
    config, notifier, revoker, time_bound, _ = world()
    start = clock.now()
    grants = [_grant(stores, config, clock, user=f"user{i}") for i in range(3)]
    clock.current = start + timedelta(days=29, hours=1)  # the day-before warning is due
    threads = [threading.Thread(target=time_bound.sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(w.request.id for w in notifier.of(ExpiryWarning)) == [g.id for g in grants]
    clock.current = start + timedelta(days=30)
    threads = [threading.Thread(target=time_bound.sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(request_id for request_id, _ in revoker.revoked) == [g.id for g in grants]


def test_an_owners_extend_moves_the_end_and_starts_the_warnings_over(world, stores, clock) -> None:
    config, notifier, revoker, time_bound, _ = world()
    start = clock.now()
    grant = _grant(stores, config, clock)
    clock.current = start + timedelta(days=29, hours=2)
    assert time_bound.sweep().warned == 1
    refused = time_bound.extend(grant.id, grant.requester_id)
    assert not refused.ok and "Request extension" in refused.message
    assert not time_bound.extend(grant.id, "U0STRANGER").ok
    done = time_bound.extend(grant.id, OWNER)
    assert done.ok
    extended = requests.get(stores, grant.id)
    assert extended.access_expires_at == clock.now() + timedelta(days=30)
    assert extended.expiry_warnings == 0
    assert [e.by for e in notifier.of(AccessExtended)] == [OWNER]
    clock.current = start + timedelta(days=31)  # past the old end: still active
    assert time_bound.sweep().revoked == 0
    assert revoker.revoked == []


def _extension(stores: Stores, config, clock, grant: RequestView, duration: timedelta):
    rules = requests.rules_for(config, grant.profile)
    new = NewRequest(
        grant.requester_id,
        grant.profile,
        grant.iam_user_name,
        f"Extension of request #{grant.id}",
        rules,
        duration=duration,
        extends_request_id=grant.id,
    )
    view = stores.requests.submit(new, clock.now())
    requests.approve(stores, view.id, [OWNER], now=clock.now())
    return requests.claim(stores, view.id, now=clock.now())


def test_an_approved_extension_moves_its_grants_end_once(world, stores, clock) -> None:
    config, notifier, revoker, time_bound, _ = world()
    start = clock.now()
    grant = _grant(stores, config, clock)
    clock.current = start + timedelta(days=29)
    lease = _extension(stores, config, clock, grant, timedelta(days=10))
    extended = time_bound.apply_extension(lease)
    assert extended is not None and extended.id == grant.id
    assert extended.access_expires_at == clock.now() + timedelta(days=10)
    assert requests.get(stores, lease.request.id).status.value == "extended"
    assert [e.extension_id for e in notifier.of(AccessExtended)] == [lease.request.id]
    # The same lease again (a worker that lost it) changes nothing.
    assert time_bound.apply_extension(lease) is None
    assert requests.get(stores, grant.id).access_expires_at == extended.access_expires_at


def test_an_extension_of_a_grant_that_ended_fails_for_the_owners(world, stores, clock) -> None:
    config, notifier, revoker, time_bound, _ = world()
    start = clock.now()
    grant = _grant(stores, config, clock)
    clock.current = start + timedelta(days=29)
    lease = _extension(stores, config, clock, grant, timedelta(days=10))
    clock.current = start + timedelta(days=30)
    assert time_bound.sweep().revoked == 1  # the grant ended before the worker ran
    assert time_bound.apply_extension(lease) is None
    failed = requests.get(stores, lease.request.id)
    assert failed.status.value == "failed" and "no longer active" in (failed.last_error or "")
    assert revoker.revoked == [(grant.id, RevokeMode.DISABLE)]
