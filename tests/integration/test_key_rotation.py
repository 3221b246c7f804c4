"""Key rotation (flow 6) on SQLite and PostgreSQL, against moto in server mode, driven
by the scheduler's "rotate-keys" job with an injected clock: nudges of old keys (once,
again a week later), "Rotate my key" (a new key through a new one-time link), and the
old key's end (deactivated once the new key was used, or once the grace period is
over; deleted a day later).

moto records GetAccessKeyLastUsed's LastUsedDate for any signed call it receives with
a key (moto.core.responses -> moto.iam.models.mark_account_as_visited): "the new key
has been used" is shown here by a real signed call with the new key, taken from its
one-time link; no Stubber is needed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import crypto
from bot.aws.calls import Backoff
from bot.aws.iam import IamProvisioner
from bot.aws.rotation import IamKeyRotator
from bot.domain.events import KeyRotated, KeyRotationDue
from bot.domain.requests import MessageRef, RequestView
from bot.domain.rotation import RotationStatus
from bot.domain.states import Status
from bot.domain.storage import Lease
from bot.scheduler import ROTATE_KEYS_JOB, SweepJob, lifecycle_jobs, run_job
from bot.services.rotation import KeyRotations, RotationRefused, RotationSweep
from bot.settings import BotConfig
from bot.store import Stores
from bot.store.models import AccessRequest, CredentialLink, KeyRotationRecord
from tests.support import requests
from tests.support.concurrency import race
from tests.support.configs import DEVELOPER, bot_config, config_toml
from tests.support.moto import unique
from tests.support.notifier import RecordingNotifier
from tests.support.vault import open_link

CONFIG: BotConfig = bot_config(
    config_toml(
        {**DEVELOPER, "groups": []},
        extra='[offboarding]\nkey_max_age = "90d"\nrotation_grace = "7d"\n',
    )
)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class Notifier(RecordingNotifier):
    """The recording notifier, answering the new key's DM like Slack (a DM ref), or
    not at all when `deliver` is False (Slack refused it)."""

    def notify(self, event: Any) -> MessageRef | None:
        answer = super().notify(event)
        if isinstance(event, KeyRotated | KeyRotationDue) and self.deliver:
            return MessageRef("D0REQUESTER", f"3{event.request.id}.000300")
        return answer


@pytest.fixture
def iam(moto_server):
    return moto_server.client("iam")


@pytest.fixture
def notifier() -> Notifier:
    return Notifier()


def rotator(iam: Any) -> IamKeyRotator:
    return IamKeyRotator(iam, CONFIG.aws, sleep=lambda _s: None, step_backoff=Backoff(2, 0, 0))


@pytest.fixture
def rotations(stores: Stores, iam, notifier: Notifier, clock) -> KeyRotations:
    return KeyRotations(
        stores.rotations,
        stores.requests,
        rotator(iam),
        notifier,
        CONFIG,
        public_url=requests.PUBLIC_URL,
        clock=clock,
    )


def rotate_job(rotations: KeyRotations) -> SweepJob:
    """The scheduler's own job, as `run` and `remind --now` build it."""
    jobs = lifecycle_jobs(
        CONFIG.reminders, remind=lambda _n: 0, expire=lambda _n: 0, rotate_keys=rotations.sweep
    )
    [job] = [job for job in jobs if job.id == ROTATE_KEYS_JOB]
    assert job.every == timedelta(hours=1)
    return job


def sweep(rotations: KeyRotations, clock) -> Any:
    outcome = run_job(rotate_job(rotations), clock)
    assert outcome.ok, outcome.error
    return outcome.result


def provisioner(moto_server, iam: Any) -> IamProvisioner:
    return IamProvisioner(
        iam,
        lambda key_id, secret: moto_server.client("sts", key_id, secret),
        CONFIG.aws,
        sleep=lambda _s: None,
        step_backoff=Backoff(2, 0, 0),
    )


def provisioned(
    stores: Stores, moto_server, iam, clock, *, programmatic: bool = True
) -> RequestView:
    """A request provisioned in moto by the bot's own provisioner, its link sealed now."""
    name = unique("rot")
    view = requests.approved(
        stores,
        CONFIG,
        now=clock.now(),
        requester_id=f"U0{name.upper().replace('-', '')}",
        iam_user_name=name,
        console=False,
        programmatic=programmatic,
    )
    credentials = provisioner(moto_server, iam).provision(view)
    view, _link = requests.provision(stores, CONFIG, view.id, credentials, now=clock.now())
    return view


def keys(iam, name: str) -> dict[str, str]:
    """{key id: Active | Inactive} of an IAM user."""
    found = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    return {key["AccessKeyId"]: key["Status"] for key in found}


def current_key(sessions, request_id: int) -> str:
    return requests.row(sessions, request_id).access_key_id or ""


def rotation_row(sessions, request_id: int) -> KeyRotationRecord:
    with sessions() as session:
        [row] = session.scalars(
            select(KeyRotationRecord).where(KeyRotationRecord.request_id == request_id)
        ).all()
        return row


def rotation_kinds(stores: Stores, request_id: int) -> list[str]:
    return [k for k in requests.audit_kinds(stores, request_id) if k.startswith("key_")]


def nudged_and_rotated(stores, moto_server, iam, clock, rotations, notifier):  # noqa: ANN001, ANN201
    """A key nudged at 91 days and rotated by its requester: (request, old key, new key,
    the new key's credentials from its one-time link)."""
    request = provisioned(stores, moto_server, iam, clock)
    old_key = current_key(stores.requests.sessions, request.id)
    clock.advance(days=91)
    sweep(rotations, clock)
    _view, rotation = rotations.rotate(request.id, request.requester_id)
    [event] = notifier.of(KeyRotated)
    new_key = event.new_key_id
    assert rotation.status is RotationStatus.ISSUED and rotation.new_key_id == new_key
    credentials = open_link(stores, event.link, clock.now())
    assert credentials.access_key_id == new_key
    assert credentials.password is None  # keys only: the console password is untouched
    return request, old_key, new_key, credentials


# --- nudges ----------------------------------------------------------------------------


def test_an_old_key_is_nudged_once_then_again_a_week_later(
    stores, moto_server, iam, clock, rotations, notifier
) -> None:
    start = clock.now()
    request = provisioned(stores, moto_server, iam, clock)
    console_only = provisioned(stores, moto_server, iam, clock, programmatic=False)
    key = current_key(stores.requests.sessions, request.id)

    clock.current = start + 89 * DAY
    assert sweep(rotations, clock).nudged == 0
    clock.current = start + 90 * DAY + HOUR
    assert sweep(rotations, clock).nudged == 1
    [due] = notifier.of(KeyRotationDue)
    assert (due.request.id, due.key_id, due.key_created_at) == (request.id, key, start)
    assert due.grace == timedelta(days=7)

    # Every sweep of the next week: nothing new (claimed once, in the database).
    for hours in range(1, 7 * 24, 23):
        clock.current = start + 90 * DAY + HOUR + hours * HOUR
        assert sweep(rotations, clock).nudged == 0
    assert len(notifier.of(KeyRotationDue)) == 1

    clock.current = start + 97 * DAY + HOUR
    assert sweep(rotations, clock).nudged == 1
    assert len(notifier.of(KeyRotationDue)) == 2
    row = rotation_row(stores.requests.sessions, request.id)
    assert (row.status, row.nudges, row.old_key_id) == ("nudged", 2, key)
    assert rotation_kinds(stores, request.id) == ["key_rotation_nudged"] * 2
    assert rotation_kinds(stores, console_only.id) == []  # no key, no nudge
    assert keys(iam, request.iam_user_name) == {key: "Active"}  # a nudge touches nothing


def test_two_sweeps_at_once_nudge_once(stores, moto_server, iam, clock, notifier) -> None:
    request = provisioned(stores, moto_server, iam, clock)
    clock.advance(days=91)
    services = [
        KeyRotations(
            stores.rotations,
            stores.requests,
            rotator(iam),
            notifier,
            CONFIG,
            public_url=requests.PUBLIC_URL,
            clock=clock,
        )
        for _ in range(2)
    ]
    results = race(2, lambda i: services[i].sweep(clock.now()))
    assert sorted(r.nudged for r in results) == [0, 1]
    assert [e.request.id for e in notifier.of(KeyRotationDue)] == [request.id]
    assert rotation_kinds(stores, request.id) == ["key_rotation_nudged"]


# --- rotation and the grace period -------------------------------------------------------


def test_new_key_used_then_old_key_deactivated_then_deleted(
    stores, moto_server, iam, clock, rotations, notifier, engine, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    request, old_key, new_key, credentials = nudged_and_rotated(
        stores, moto_server, iam, clock, rotations, notifier
    )
    name = request.iam_user_name
    # Both keys work while the requester switches; the request's key is the new one.
    assert keys(iam, name) == {old_key: "Active", new_key: "Active"}
    assert current_key(stores.requests.sessions, request.id) == new_key
    assert (
        "LastUsedDate" not in iam.get_access_key_last_used(AccessKeyId=new_key)["AccessKeyLastUsed"]
    )

    clock.advance(hours=1)
    assert sweep(rotations, clock).deactivated == 0  # not used yet, grace not over
    assert keys(iam, name)[old_key] == "Active"

    # The requester uses the new key: a signed call to (moto's) AWS.
    sts = moto_server.client("sts", new_key, credentials.secret_access_key)
    assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")
    assert "LastUsedDate" in iam.get_access_key_last_used(AccessKeyId=new_key)["AccessKeyLastUsed"]

    clock.advance(hours=1)
    assert sweep(rotations, clock).deactivated == 1
    assert keys(iam, name) == {old_key: "Inactive", new_key: "Active"}
    row = rotation_row(stores.requests.sessions, request.id)
    assert row.status == RotationStatus.DEACTIVATED.value
    [event] = requests.audit_events(stores.requests.sessions, "key_deactivated")
    assert event.detail["reason"] == "new key used"
    assert event.detail["access_key_id"] == old_key

    clock.advance(hours=23)
    assert sweep(rotations, clock).deleted == 0  # a day after deactivation, not before
    clock.advance(hours=1)
    assert sweep(rotations, clock).deleted == 1
    assert keys(iam, name) == {new_key: "Active"}
    assert rotation_kinds(stores, request.id) == [
        "key_rotation_nudged",
        "key_rotation_started",
        "key_rotated",
        "key_deactivated",
        "key_deleted",
    ]
    clock.advance(days=30)
    assert sweep(rotations, clock) == RotationSweep()  # nothing left to do
    assert keys(iam, name) == {new_key: "Active"}

    # The new secret never rests readable, nor reaches a log line or the audit trail.
    secret = credentials.secret_access_key
    assert secret and secret not in requests.database_text(engine)
    assert secret not in caplog.text


def test_new_key_not_used_old_key_deactivated_after_the_grace_period(
    stores, moto_server, iam, clock, rotations, notifier
) -> None:
    request, old_key, new_key, _credentials = nudged_and_rotated(
        stores, moto_server, iam, clock, rotations, notifier
    )
    rotated_at = clock.now()
    name = request.iam_user_name

    clock.current = rotated_at + 7 * DAY - HOUR
    assert sweep(rotations, clock).deactivated == 0
    assert keys(iam, name) == {old_key: "Active", new_key: "Active"}

    clock.current = rotated_at + 7 * DAY
    assert sweep(rotations, clock).deactivated == 1
    assert keys(iam, name) == {old_key: "Inactive", new_key: "Active"}
    [event] = requests.audit_events(stores.requests.sessions, "key_deactivated")
    assert event.detail["reason"] == "grace period over"

    clock.current = rotated_at + 8 * DAY
    assert sweep(rotations, clock).deleted == 1
    assert keys(iam, name) == {new_key: "Active"}
    # The new key is not nudged before it is old itself.
    clock.current = rotated_at + 90 * DAY - HOUR
    assert sweep(rotations, clock).nudged == 0
    clock.current = rotated_at + 90 * DAY + HOUR
    assert sweep(rotations, clock).nudged == 1
    assert notifier.of(KeyRotationDue)[-1].key_id == new_key


# --- the click -----------------------------------------------------------------------------


def test_only_the_requester_rotates_and_only_when_nudged(
    stores, moto_server, iam, clock, rotations
) -> None:
    request = provisioned(stores, moto_server, iam, clock)
    key = current_key(stores.requests.sessions, request.id)
    with pytest.raises(RotationRefused, match="does not need rotating yet"):
        rotations.rotate(request.id, request.requester_id)
    clock.advance(days=91)
    sweep(rotations, clock)
    with pytest.raises(RotationRefused, match="(?i)only the requester can rotate"):
        rotations.rotate(request.id, "U0OWNER1")
    with pytest.raises(RotationRefused, match="(?i)only the requester can rotate"):
        rotations.rotate(request.id, "U0STRANGER")
    assert keys(iam, request.iam_user_name) == {key: "Active"}
    rotations.rotate(request.id, request.requester_id)
    with pytest.raises(RotationRefused, match="already rotated"):
        rotations.rotate(request.id, request.requester_id)  # a second click
    assert len(keys(iam, request.iam_user_name)) == 2


def test_a_user_the_bot_did_not_make_for_the_request_is_left_alone(
    stores, moto_server, iam, clock, rotations
) -> None:
    request = provisioned(stores, moto_server, iam, clock)
    key = current_key(stores.requests.sessions, request.id)
    clock.advance(days=91)
    sweep(rotations, clock)
    # Someone re-tagged the user as another request's.
    iam.tag_user(
        UserName=request.iam_user_name,
        Tags=[{"Key": "aws-access-bot:request-id", "Value": "999999"}],
    )
    with pytest.raises(RotationRefused, match="NotOurUser"):
        rotations.rotate(request.id, request.requester_id)
    assert keys(iam, request.iam_user_name) == {key: "Active"}
    row = rotation_row(stores.requests.sessions, request.id)
    assert row.status == RotationStatus.NUDGED.value  # the button works again
    assert requests.row(stores.requests.sessions, request.id).reissue_lock_until is None
    assert rotation_kinds(stores, request.id)[-1] == "key_rotation_failed"


def test_a_link_dm_slack_refused_is_undone(
    stores, moto_server, iam, clock, rotations, notifier
) -> None:
    request = provisioned(stores, moto_server, iam, clock)
    old_key = current_key(stores.requests.sessions, request.id)
    clock.advance(days=91)
    sweep(rotations, clock)
    notifier.deliver = False
    with pytest.raises(RotationRefused, match="Slack did not accept"):
        rotations.rotate(request.id, request.requester_id)
    # Nobody can ever open that link: the new key is gone, the old one is the key again.
    assert keys(iam, request.iam_user_name) == {old_key: "Active"}
    assert current_key(stores.requests.sessions, request.id) == old_key
    [event] = notifier.of(KeyRotated)
    with stores.requests.sessions() as session:
        assert session.get(CredentialLink, event.link.link_id) is None
    assert rotation_row(stores.requests.sessions, request.id).status == "nudged"
    # The key is as old as before: the next sweeps do not forget it.
    assert stores.rotations.key_ages([request.id])[request.id].key_id == old_key

    notifier.deliver = True
    _view, rotation = rotations.rotate(request.id, request.requester_id)
    assert rotation.status is RotationStatus.ISSUED
    assert set(keys(iam, request.iam_user_name)) == {old_key, rotation.new_key_id}


def test_a_revoked_request_ends_its_rotation_without_touching_iam(
    stores, moto_server, iam, clock, rotations, notifier
) -> None:
    request, old_key, new_key, _ = nudged_and_rotated(
        stores, moto_server, iam, clock, rotations, notifier
    )
    with stores.requests.sessions.begin() as session:  # as the revoke use case leaves it
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id)
            .values(status=Status.REVOKED.value)
        )
    clock.advance(days=8)
    assert sweep(rotations, clock).closed == 1
    assert rotation_row(stores.requests.sessions, request.id).status == "closed"
    assert keys(iam, request.iam_user_name) == {old_key: "Active", new_key: "Active"}


def test_a_rotation_that_died_half_way_is_released_by_the_sweep(
    stores, moto_server, iam, clock, rotations
) -> None:
    request = provisioned(stores, moto_server, iam, clock)
    clock.advance(days=91)
    sweep(rotations, clock)
    rotation = stores.rotations.latest_rotation(request.id)
    assert rotation is not None
    now = clock.now()
    claim = stores.rotations.begin_rotation(
        rotation.id, actor=request.requester_id, now=now, until=now + timedelta(minutes=5)
    )
    assert claim is not None and not hasattr(claim, "held_by")
    # ... and the process died here. An owner's re-issue waits for it:
    refusal = stores.provisioning.lock_for_reissue(request.id, now=now, until=now + HOUR)
    assert getattr(refusal, "held_by", None) is not None
    clock.advance(minutes=6)
    assert sweep(rotations, clock).released == 1
    assert rotation_row(stores.requests.sessions, request.id).status == "nudged"
    _view, issued = rotations.rotate(request.id, request.requester_id)
    assert issued.status is RotationStatus.ISSUED


def test_key_ages_for_app_home(stores, moto_server, iam, clock) -> None:
    start = clock.now()
    request = provisioned(stores, moto_server, iam, clock)
    console_only = provisioned(stores, moto_server, iam, clock, programmatic=False)
    ages = stores.rotations.key_ages([request.id, console_only.id])
    assert set(ages) == {request.id}
    assert ages[request.id].created_at == start
    assert ages[request.id].age(start + 93 * DAY) == 93 * DAY


def test_an_owners_re_issue_during_the_grace_period_ends_the_rotation(
    stores, moto_server, iam, clock, rotations, notifier
) -> None:
    request, old_key, new_key, _ = nudged_and_rotated(
        stores, moto_server, iam, clock, rotations, notifier
    )
    # An owner re-issues (flow 4): every other key of the user is deleted.
    now = clock.now()
    lease = stores.provisioning.lock_for_reissue(request.id, now=now, until=now + HOUR)
    assert isinstance(lease, Lease), lease
    credentials = provisioner(moto_server, iam).rotate_credentials(lease.request)
    sealed, _link = crypto.seal_link(
        credentials, public_url=requests.PUBLIC_URL, expires_at=now + DAY
    )
    assert stores.provisioning.finish_reissue(
        lease, sealed, access_key_id=credentials.access_key_id, actor="U0OWNER1", now=now
    )
    assert keys(iam, request.iam_user_name) == {credentials.access_key_id: "Active"}

    clock.advance(hours=1)
    sweep(rotations, clock)
    row = rotation_row(stores.requests.sessions, request.id)
    assert row.status == RotationStatus.DELETED.value
    [event] = requests.audit_events(stores.requests.sessions, "key_deleted")
    assert event.detail == {"access_key_id": old_key, "already_gone": True}
    assert keys(iam, request.iam_user_name) == {credentials.access_key_id: "Active"}
    assert new_key not in keys(iam, request.iam_user_name)
