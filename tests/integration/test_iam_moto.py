"""The IAM provisioner against moto in server mode (real HTTP, signatures checked)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG, Backoff, IamProvisioner
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import AwsConfig
from tests.support.moto import unique

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MUTATING_STEPS = (
    "create_user",
    "create_login_profile",
    "add_user_to_group",
    "attach_user_policy",
    "create_access_key",
)
READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"


class SimulatedCrash(Exception):
    """The process 'dies' right after AWS carried out a call."""


class CrashingIam:
    """Delegates to a real boto3 IAM client; raises right after the Nth mutating call
    succeeded, as if the bot had died before recording anything."""

    def __init__(self, iam: Any, crash_after: int) -> None:
        self._iam = iam
        self._left = crash_after

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._iam, name)
        if name not in MUTATING_STEPS:
            return method

        def call(**kwargs: Any) -> Any:
            result = method(**kwargs)
            self._left -= 1
            if self._left == 0:
                raise SimulatedCrash(name)
            return result

        return call


def make_request(request_id: int = 1, **overrides: Any) -> RequestView:
    values: dict[str, Any] = {
        "id": request_id,
        "requester_id": "U0REQ",
        "profile": "developer",
        "iam_user_name": unique("user"),
        "console": True,
        "programmatic": True,
        "reason": "deploys",
        "status": Status.PROVISIONING,
        "created_at": NOW,
        "groups": (),
        "policies": (READ_ONLY_ARN,),
    }
    values.update(overrides)
    return RequestView(**values)


@pytest.fixture
def iam(moto_server):
    return moto_server.client("iam")


@pytest.fixture
def group(iam) -> str:
    name = unique("devs")
    iam.create_group(GroupName=name)
    return name


def provisioner(moto_server, iam: Any, **kwargs: Any) -> IamProvisioner:
    return IamProvisioner(
        iam,
        lambda key_id, secret: moto_server.client("sts", key_id, secret),
        AwsConfig(iam_path="/onboarding/"),
        sleep=lambda _s: None,
        step_backoff=Backoff(2, 0, 0),
        **kwargs,
    )


def assert_fully_provisioned(moto_server, iam: Any, request: RequestView, creds) -> None:
    name = request.iam_user_name
    user = iam.get_user(UserName=name)["User"]
    assert user["Path"] == "/onboarding/"
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
    assert tags == {REQUEST_TAG: str(request.id), SLACK_USER_TAG: request.requester_id}
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["UserName"] == name
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]]
    assert groups == list(request.groups)
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == list(request.policies)
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [creds.access_key_id]
    # The handed-out key really works: moto checks the signature.
    sts = moto_server.client("sts", creds.access_key_id, creds.secret_access_key)
    assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")
    assert creds.console_url == "https://123456789012.signin.aws.amazon.com/console"
    assert creds.password and len(creds.password) >= 20


def test_full_provisioning(moto_server, iam, group) -> None:
    request = make_request(groups=(group,))
    creds = provisioner(moto_server, iam).provision(request)
    assert creds.user_name == request.iam_user_name
    assert_fully_provisioned(moto_server, iam, request, creds)
    # Secrets stay out of repr (and so out of log lines and tracebacks).
    assert creds.password not in repr(creds)
    assert creds.secret_access_key not in repr(creds)


@pytest.mark.parametrize("crash_after", range(1, len(MUTATING_STEPS) + 1))
def test_resume_after_crash_after_each_step(moto_server, iam, group, crash_after) -> None:
    request = make_request(groups=(group,))
    with pytest.raises(SimulatedCrash):
        provisioner(moto_server, CrashingIam(iam, crash_after)).provision(request)
    creds = provisioner(moto_server, iam).provision(request)
    assert_fully_provisioned(moto_server, iam, request, creds)
    users = [
        u["UserName"]
        for u in iam.list_users(PathPrefix="/onboarding/")["Users"]
        if u["UserName"] == request.iam_user_name
    ]
    assert users == [request.iam_user_name]


def test_resume_twice_still_one_key(moto_server, iam) -> None:
    request = make_request()
    first = provisioner(moto_server, iam).provision(request)
    second = provisioner(moto_server, iam).provision(request)
    keys = iam.list_access_keys(UserName=request.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [second.access_key_id]
    assert first.access_key_id != second.access_key_id


def test_untagged_existing_user_is_left_alone(moto_server, iam, group) -> None:
    name = unique("taken")
    iam.create_user(UserName=name)
    request = make_request(iam_user_name=name, groups=(group,))
    with pytest.raises(ProvisioningError) as info:
        provisioner(moto_server, iam).provision(request)
    assert str(info.value) == (
        f"EntityAlreadyExists: IAM user {name} already exists and was not created by this bot"
    )
    assert info.value.permanent
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    assert iam.list_groups_for_user(UserName=name)["Groups"] == []
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    assert iam.list_user_tags(UserName=name)["Tags"] == []
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_login_profile(UserName=name)
    # Roll back refuses too, and deletes nothing.
    with pytest.raises(ProvisioningError, match="not created by this bot"):
        provisioner(moto_server, iam).roll_back(request)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name


def test_user_of_another_request_is_not_ours(moto_server, iam) -> None:
    request = make_request(request_id=7, programmatic=False, console=False)
    provisioner(moto_server, iam).provision(request)
    other = make_request(request_id=8, iam_user_name=request.iam_user_name)
    with pytest.raises(ProvisioningError, match="not created by this bot"):
        provisioner(moto_server, iam).provision(other)


def test_missing_group_is_a_permanent_error(moto_server, iam) -> None:
    request = make_request(groups=(unique("missing"),))
    with pytest.raises(ProvisioningError) as info:
        provisioner(moto_server, iam).provision(request)
    assert info.value.code == "NoSuchEntity"
    assert info.value.permanent
    assert info.value.step == "add_user_to_group"


def test_roll_back_leaves_no_trace(moto_server, iam, group) -> None:
    request = make_request(groups=(group,))
    prov = provisioner(moto_server, iam)
    creds = prov.provision(request)
    prov.roll_back(request)
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_user(UserName=request.iam_user_name)
    assert iam.get_group(GroupName=group)["Users"] == []
    # The old key is gone for good.
    sts = moto_server.client("sts", creds.access_key_id, creds.secret_access_key)
    with pytest.raises(ClientError):
        sts.get_caller_identity()
    # Rolling back again is a no-op, not an error.
    prov.roll_back(request)


def test_roll_back_of_half_provisioned_user(moto_server, iam, group) -> None:
    request = make_request(groups=(group,))
    with pytest.raises(SimulatedCrash):
        provisioner(moto_server, CrashingIam(iam, 3)).provision(request)
    provisioner(moto_server, iam).roll_back(request)
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_user(UserName=request.iam_user_name)


def test_rotate_credentials_replaces_key_and_password(moto_server, iam) -> None:
    request = make_request()
    prov = provisioner(moto_server, iam)
    old = prov.provision(request)
    new = prov.rotate_credentials(request)
    assert new.access_key_id != old.access_key_id
    assert new.password != old.password
    keys = iam.list_access_keys(UserName=request.iam_user_name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [new.access_key_id]
    new_sts = moto_server.client("sts", new.access_key_id, new.secret_access_key)
    assert new_sts.get_caller_identity()["Arn"].endswith(request.iam_user_name)
    with pytest.raises(ClientError):
        moto_server.client("sts", old.access_key_id, old.secret_access_key).get_caller_identity()


def test_rotate_credentials_of_missing_user_fails(moto_server, iam) -> None:
    with pytest.raises(ProvisioningError, match="does not exist"):
        provisioner(moto_server, iam).rotate_credentials(make_request())


def test_console_url_uses_the_account_alias(moto_server, iam) -> None:
    alias = unique("acme")
    iam.create_account_alias(AccountAlias=alias)
    try:
        creds = provisioner(moto_server, iam).provision(make_request(programmatic=False))
    finally:
        iam.delete_account_alias(AccountAlias=alias)
    assert creds.console_url == f"https://{alias}.signin.aws.amazon.com/console"
    assert creds.access_key_id is None and creds.secret_access_key is None


def test_password_meets_the_account_policy(moto_server, iam) -> None:
    from bot.aws.passwords import PasswordPolicy, meets_policy

    iam.update_account_password_policy(
        MinimumPasswordLength=40, RequireSymbols=True, RequireNumbers=True
    )
    try:
        creds = provisioner(moto_server, iam).provision(make_request(programmatic=False))
        policy = PasswordPolicy.from_aws(iam.get_account_password_policy()["PasswordPolicy"])
    finally:
        iam.delete_account_password_policy()
    assert len(creds.password) >= 40
    assert meets_policy(creds.password, policy)
