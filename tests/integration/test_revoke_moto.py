"""The revoke use case (flow 6) over the real stores (SQLite and PostgreSQL) and IAM in
moto server mode: disable, delete, a user the bot did not make, a crash mid-revoke
finished by the recovery sweep, and a failed revoke retried and shown to the owners.

IAM users are made as provisioning makes them (bot/aws/iam.py): under the bot's path,
tagged with the request id and the requester.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.calls import Backoff
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.aws.revoke import IamRevoker
from bot.container import build_runtime
from bot.domain.credentials import Credentials
from bot.domain.events import AccessRevoked, RequestChanged, RevokeFailed, RevokeRefusedNotice
from bot.domain.requests import MessageRef, RequestView
from bot.domain.revocation import RevokeCause, RevokeMode
from bot.domain.states import Status
from bot.scheduler import RECOVER_JOB, run_job
from bot.services.revoke import RevokeService
from bot.store import Stores
from tests.support.configs import DEVELOPER, bot_config, config_toml, container_on
from tests.support.moto import unique
from tests.support.notifier import RecordingNotifier
from tests.support.requests import approved, audit_kinds, get, links_of, provision

OWNER = "U0OWNER1"
PATH = "/onboarding/"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MUTATING = (
    "delete_login_profile",
    "update_access_key",
    "delete_access_key",
    "deactivate_mfa_device",
    "delete_virtual_mfa_device",
    "delete_user_policy",
    "detach_user_policy",
    "remove_user_from_group",
    "delete_user",
)
FAST = Backoff(attempts=2, base=0.0, cap=0.0)


def config_with(mode: RevokeMode):
    return bot_config(config_toml(DEVELOPER, extra=f'[offboarding]\nmode = "{mode.value}"\n'))


class MotoIam:
    """The moto client as the revoker sees it. moto does not implement
    ListServiceSpecificCredentials, so this one call answers "none" (the Stubber test
    checks the real call); everything else is moto over HTTP."""

    def __init__(self, iam: Any) -> None:
        self._iam = iam

    def __getattr__(self, name: str) -> Any:
        return getattr(self._iam, name)

    def list_service_specific_credentials(self, **_: Any) -> dict[str, Any]:
        return {"ServiceSpecificCredentials": []}


class ProcessDied(BaseException):
    """The process stops dead right after AWS carried out a call (nothing is recorded;
    a BaseException, so no `except Exception` in the bot catches it)."""


class DiesAfter(MotoIam):
    """Dies after the Nth mutating call succeeded."""

    def __init__(self, iam: Any, calls: int) -> None:
        super().__init__(iam)
        self._left = calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._iam, name)
        if name not in MUTATING:
            return method

        def call(**kwargs: Any) -> Any:
            result = method(**kwargs)
            self._left -= 1
            if self._left == 0:
                raise ProcessDied(name)
            return result

        return call


class FailsOnce(MotoIam):
    """AWS refuses the first DetachUserPolicy (a permissions problem fixed meanwhile)."""

    def __init__(self, iam: Any) -> None:
        super().__init__(iam)
        self.failed = False

    def detach_user_policy(self, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed to detach"}},
                "DetachUserPolicy",
            )
        return self._iam.detach_user_policy(**kwargs)


@pytest.fixture
def iam(moto_server):
    return moto_server.client("iam")


def grant(stores: Stores, config, clock, name: str) -> RequestView:
    """A provisioned request (its approval message posted), as flows 1-4 leave it."""
    view = approved(
        stores,
        config,
        now=clock.now(),
        iam_user_name=name,
        approval_message=MessageRef("C0APPROVALS", "1700000000.000100"),
    )
    credentials = Credentials(
        user_name=name,
        console_url="https://123456789012.signin.aws.amazon.com/console",
        password="pw-for-test",  # noqa: S106 - a test value
        access_key_id="AKIATESTTESTTESTTEST",
        secret_access_key="test-secret-key",
    )
    provisioned, _ = provision(stores, config, view.id, credentials, now=clock.now())
    return provisioned


def make_user(iam, request: RequestView, *, path: str = PATH, ours: bool = True) -> dict:
    """The IAM user with everything a revoke has to take back: a console password, two
    access keys, an enabled virtual MFA device, an inline policy, a group and an
    attached managed policy."""
    name = request.iam_user_name
    tags = (
        [
            {"Key": REQUEST_TAG, "Value": str(request.id)},
            {"Key": SLACK_USER_TAG, "Value": request.requester_id},
        ]
        if ours
        else [{"Key": "team", "Value": "platform"}]
    )
    iam.create_user(UserName=name, Path=path, Tags=tags)
    iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    keys = [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2)]
    group = unique("developers")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    iam.put_user_policy(
        UserName=name,
        PolicyName="extra",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"s3:ListBucket","Resource":"*"}]}',
    )
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("mfa"))
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return {"keys": keys, "group": group, "mfa": serial}


def service(stores: Stores, config, clock, iam, notifier: RecordingNotifier) -> RevokeService:
    return RevokeService(
        stores.revocations,
        stores.requests,
        IamRevoker(iam, config.aws, sleep=lambda _: None, step_backoff=FAST),
        notifier,
        clock,
        config,
    )


def exists(iam, name: str) -> bool:
    try:
        iam.get_user(UserName=name)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def has_login_profile(iam, name: str) -> bool:
    try:
        iam.get_login_profile(UserName=name)
    except ClientError:
        return False
    return True


def test_disable_keeps_the_user_and_takes_everything_else(stores, sessions, clock, iam) -> None:
    config = config_with(RevokeMode.DISABLE)
    request = grant(stores, config, clock, unique("alice"))
    held = make_user(iam, request)
    notifier = RecordingNotifier()
    name = request.iam_user_name

    outcome = service(stores, config, clock, MotoIam(iam), notifier).revoke(
        request.id, actor=OWNER, reason="left the team", cause=RevokeCause.OWNER
    )

    assert outcome.done, outcome.message
    assert exists(iam, name)  # kept for the audit trail
    assert not has_login_profile(iam, name)
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in keys) == sorted(held["keys"])
    assert {k["Status"] for k in keys} == {"Inactive"}
    assert iam.list_groups_for_user(UserName=name)["Groups"] == []
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    view = get(stores, request.id)
    assert view.status is Status.REVOKED
    assert (view.revoked_by, view.revoke_reason, view.revoke_cause, view.revoke_mode) == (
        OWNER,
        "left the team",
        "owner",
        "disable",
    )
    assert view.revoked_at == clock.now()
    assert audit_kinds(stores, request.id)[-2:] == ["revoke_started", "revoked"]
    [revoked] = notifier.of(AccessRevoked)
    assert revoked.request.status is Status.REVOKED
    assert [type(e) for e in notifier.events] == [RequestChanged, AccessRevoked]
    # The unopened link would hand out dead credentials: it is void.
    links = links_of(sessions, request.id)
    assert links and all(link.ciphertext is None for link in links)


def test_delete_removes_keys_mfa_policies_groups_then_the_user(stores, clock, iam) -> None:
    config = config_with(RevokeMode.DELETE)
    request = grant(stores, config, clock, unique("bob"))
    held = make_user(iam, request)
    notifier = RecordingNotifier()

    outcome = service(stores, config, clock, MotoIam(iam), notifier).revoke(
        request.id, actor="cli:ops", reason="offboarding", cause=RevokeCause.CLI
    )

    assert outcome.done, outcome.message
    assert not exists(iam, request.iam_user_name)
    virtual = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    assert held["mfa"] not in {d["SerialNumber"] for d in virtual}
    assert iam.get_group(GroupName=held["group"])["Users"] == []  # the group itself stays
    for key in held["keys"]:
        with pytest.raises(ClientError):
            iam.update_access_key(AccessKeyId=key, Status="Active", UserName=request.iam_user_name)
    view = get(stores, request.id)
    assert (view.status, view.revoke_mode, view.revoke_cause) == (Status.REVOKED, "delete", "cli")
    # Idempotent: once more is "done" and changes nothing.
    again = service(stores, config, clock, MotoIam(iam), notifier).revoke(
        request.id, actor=OWNER, reason="twice", cause=RevokeCause.OWNER
    )
    assert again.done and "already revoked" in again.message
    assert audit_kinds(stores, request.id).count("revoked") == 1


@pytest.mark.parametrize("path", ["/", PATH])
def test_a_user_the_bot_did_not_create_is_refused_and_untouched(stores, clock, iam, path) -> None:
    config = config_with(RevokeMode.DELETE)
    request = grant(stores, config, clock, unique("carol"))
    held = make_user(iam, request, path=path, ours=False)
    notifier = RecordingNotifier()
    name = request.iam_user_name

    outcome = service(stores, config, clock, MotoIam(iam), notifier).revoke(
        request.id, actor=OWNER, reason="cleanup", cause=RevokeCause.OWNER
    )

    assert not outcome.done
    assert "was not created by aws-access-bot" in outcome.message
    assert "left untouched" in outcome.message
    assert exists(iam, name) and has_login_profile(iam, name)
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["Status"] for k in keys} == {"Active"} and len(keys) == 2
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [
        held["group"]
    ]
    assert len(iam.list_mfa_devices(UserName=name)["MFADevices"]) == 1
    assert get(stores, request.id).status is Status.PROVISIONED  # nothing changed
    assert audit_kinds(stores, request.id)[-1] == "revoke_refused"
    [told] = notifier.of(RevokeRefusedNotice)
    assert told.message == outcome.message
    # Asked again (an expiry sweep, say): refused again, but said and audited once.
    again = service(stores, config, clock, MotoIam(iam), notifier).revoke(
        request.id, actor="aws-access-bot", reason="", cause=RevokeCause.EXPIRY
    )
    assert (again.done, again.message) == (False, outcome.message)
    assert len(notifier.of(RevokeRefusedNotice)) == 1
    assert audit_kinds(stores, request.id).count("revoke_refused") == 1


@pytest.mark.parametrize("mode", [RevokeMode.DISABLE, RevokeMode.DELETE])
def test_a_crash_mid_revoke_is_finished_by_the_recovery_sweep(stores, clock, iam, mode) -> None:
    config = config_with(mode)
    request = grant(stores, config, clock, unique("dave"))
    make_user(iam, request)
    notifier = RecordingNotifier()
    name = request.iam_user_name

    # The process dies after three IAM changes (login profile gone, two keys done).
    with pytest.raises(ProcessDied):
        service(stores, config, clock, DiesAfter(iam, 3), notifier).revoke(
            request.id, actor=OWNER, reason="left", cause=RevokeCause.OWNER
        )
    assert get(stores, request.id).status is Status.REVOKING
    assert not has_login_profile(iam, name)
    assert iam.list_groups_for_user(UserName=name)["Groups"]  # not reached yet

    # A new process: the sweep leaves the lock alone while it is live ...
    recovering = service(stores, config, clock, MotoIam(iam), notifier)
    assert recovering.recover(clock.now()) == 0
    # ... and finishes the revoke once the dead process's lock ran out.
    clock.advance(minutes=16)
    assert recovering.recover(clock.now()) == 1

    view = get(stores, request.id)
    assert view.status is Status.REVOKED
    assert (view.revoked_by, view.revoke_reason, view.revoke_mode) == (OWNER, "left", mode.value)
    if mode is RevokeMode.DELETE:
        assert not exists(iam, name)
    else:
        assert iam.list_groups_for_user(UserName=name)["Groups"] == []
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        assert {k["Status"] for k in keys} == {"Inactive"}
    kinds = audit_kinds(stores, request.id)
    assert kinds[-3:] == ["revoke_started", "revoke_started", "revoked"]
    assert recovering.recover(clock.now()) == 0  # nothing left to do
    [revoked] = notifier.of(AccessRevoked)
    assert revoked.request.id == request.id


def test_a_failed_revoke_is_shown_to_owners_and_retried(stores, clock, iam) -> None:
    config = config_with(RevokeMode.DELETE)
    request = grant(stores, config, clock, unique("erin"))
    make_user(iam, request)
    notifier = RecordingNotifier()
    flaky = FailsOnce(iam)
    revoke = service(stores, config, clock, flaky, notifier)

    outcome = revoke.revoke(request.id, actor=OWNER, reason="left", cause=RevokeCause.OWNER)

    assert not outcome.done and "AccessDenied" in outcome.message
    view = get(stores, request.id)
    assert view.status is Status.REVOKING and "AccessDenied" in (view.last_error or "")
    [failed] = notifier.of(RevokeFailed)
    assert "not allowed to detach" in (failed.request.last_error or "")
    assert audit_kinds(stores, request.id)[-1] == "revoke_failed"

    assert revoke.recover(clock.now()) == 0  # not due yet
    clock.advance(minutes=6)
    assert revoke.recover(clock.now()) == 1
    assert get(stores, request.id).status is Status.REVOKED
    assert not exists(iam, request.iam_user_name)
    assert len(notifier.of(RevokeFailed)) == 1


def test_only_provisioned_access_can_be_revoked_and_only_by_owners(stores, clock, iam) -> None:
    config = config_with(RevokeMode.DISABLE)
    request = grant(stores, config, clock, unique("frank"))
    make_user(iam, request)
    revoke = service(stores, config, clock, MotoIam(iam), RecordingNotifier())

    refused = revoke.revoke(request.id, actor="U0STRANGER", reason="", cause=RevokeCause.OWNER)
    assert not refused.done and refused.message == "only the account owners can revoke access"
    pending = approved(stores, config, now=clock.now(), iam_user_name=unique("gina"))
    early = revoke.revoke(pending.id, actor=OWNER, reason="", cause=RevokeCause.OWNER)
    assert not early.done and "only provisioned access can be revoked" in early.message
    assert revoke.revoke(999999, actor=OWNER, reason="", cause=RevokeCause.OWNER).done is False
    assert get(stores, request.id).status is Status.PROVISIONED


def test_active_grants_are_the_provisioned_requests(stores, clock, iam) -> None:
    config = config_with(RevokeMode.DISABLE)
    first = grant(stores, config, clock, unique("hal"))
    clock.advance(minutes=1)
    second = grant(stores, config, clock, unique("ivy"))
    approved(stores, config, now=clock.now(), requester_id="U0OTHER", iam_user_name=unique("j"))
    grants = stores.requests.active_grants()
    assert [g.id for g in grants] == [first.id, second.id]
    assert [g.id for g in stores.requests.active_grants(requester_id="U0REQ")] == [
        first.id,
        second.id,
    ]
    assert stores.requests.active_grants(requester_id="U0OTHER") == []
    assert [g.id for g in stores.requests.active_grants(account="default")] == [
        first.id,
        second.id,
    ]
    assert stores.requests.active_grants(account="prod") == []
    make_user(iam, first)
    service(stores, config, clock, MotoIam(iam), RecordingNotifier()).revoke(
        first.id, actor=OWNER, reason="", cause=RevokeCause.OWNER
    )
    assert [g.id for g in stores.requests.active_grants()] == [second.id]


def test_the_runtime_recovery_job_finishes_a_dead_revoke(
    engine, sessions, clock, iam, slack_stub
) -> None:
    """`run`'s (and `remind --now`'s) recovery job is wired to the revoke sweep too."""
    config = config_with(RevokeMode.DELETE)
    container = container_on(
        engine,
        sessions,
        clock,
        slack_bot_token="xoxb-test",  # noqa: S106 - the stand-in accepts anything
        slack_api_url=slack_stub.base_url,
        config=config,
    )
    stores = container.stores
    request = grant(stores, config, clock, unique("kim"))
    make_user(iam, request)
    with pytest.raises(ProcessDied):
        service(stores, config, clock, DiesAfter(iam, 2), RecordingNotifier()).revoke(
            request.id, actor=OWNER, reason="left", cause=RevokeCause.OWNER
        )
    runtime = build_runtime(
        container,
        provisioner=NoProvisioner(),
        directory=NoProvisioner(),
        revoker=IamRevoker(MotoIam(iam), config.aws, sleep=lambda _: None, step_backoff=FAST),
    )
    try:
        [recover] = [job for job in runtime.jobs if job.id == RECOVER_JOB]
        clock.advance(minutes=16)
        outcome = run_job(recover, clock)
        assert outcome.ok and outcome.result == 1
    finally:
        runtime.close()
    assert get(stores, request.id).status is Status.REVOKED
    assert not exists(iam, request.iam_user_name)
    # The requester and the owners heard, through the runtime's (durable) notifier.
    posts = slack_stub.calls_to("chat.postMessage")
    assert any(p["channel"] == "D0REQ" and "was revoked by" in p["text"] for p in posts)
    assert any(p.get("thread_ts") == "1700000000.000100" for p in posts)


class NoProvisioner:
    """Provisioning and the name check are not part of this test."""

    def provision(self, request: RequestView) -> Credentials:  # pragma: no cover
        raise AssertionError("not used")

    def rotate_credentials(self, request: RequestView) -> Credentials:  # pragma: no cover
        raise AssertionError("not used")

    def roll_back(self, request: RequestView) -> None:  # pragma: no cover
        raise AssertionError("not used")

    def name_taken(self, *args: Any, **kwargs: Any) -> bool:  # pragma: no cover
        return False

    def name_taken_quick(self, *args: Any, **kwargs: Any) -> bool:  # pragma: no cover
        return False
