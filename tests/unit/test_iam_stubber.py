"""Exact IAM/STS parameters and call order, with botocore's Stubber.

moto drops PermissionsBoundary and PasswordResetRequired and accepts invalid names, so
what the provisioner *sends* is asserted here, against botocore's real service models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import ANY, Stubber

from bot.aws.calls import call_aws
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG, Backoff, IamProvisioner
from bot.aws.passwords import PasswordPolicy, meets_policy
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import AwsConfig

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ACCOUNT = "210987654321"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/onboarding-boundary"
FROZEN_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary-at-submit"
POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
NAME = "alice"
ARN = f"arn:aws:iam::{ACCOUNT}:user/onboarding/{NAME}"
KEY_ID = "AKIAEXAMPLE000000001"
SECRET = "s3cr3t/EXAMPLEKEY0000000000000000000000000"  # noqa: S105 - a test value
CUSTOM_POLICY = {
    "MinimumPasswordLength": 34,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "ExpirePasswords": False,
}


class PasswordMeeting:
    """Matches a password parameter that satisfies `policy`; remembers what it saw."""

    def __init__(self, policy: PasswordPolicy) -> None:
        self.policy = policy
        self.seen: list[str] = []

    def __eq__(self, other: object) -> bool:
        self.seen.append(str(other))
        return isinstance(other, str) and meets_policy(other, self.policy)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="AKIATEST",
        aws_secret_access_key="test",  # noqa: S106 - never sent: the Stubber answers
    )


def make_request(**overrides: Any) -> RequestView:
    values: dict[str, Any] = {
        "id": 42,
        "requester_id": "U0REQ",
        "profile": "developer",
        "iam_user_name": NAME,
        "console": True,
        "programmatic": True,
        "reason": "deploys",
        "status": Status.PROVISIONING,
        "created_at": NOW,
        "groups": ("developers",),
        "policies": (POLICY,),
    }
    values.update(overrides)
    return RequestView(**values)


def user(name: str = NAME) -> dict[str, Any]:
    return {
        "Path": "/onboarding/",
        "UserName": name,
        "UserId": "AIDAEXAMPLE0000000001",
        "Arn": ARN,
        "CreateDate": NOW,
    }


def access_key(key_id: str = KEY_ID, secret: str = SECRET) -> dict[str, Any]:
    return {
        "AccessKey": {
            "UserName": NAME,
            "AccessKeyId": key_id,
            "Status": "Active",
            "SecretAccessKey": secret,
            "CreateDate": NOW,
        }
    }


def key_list(*key_ids: str) -> dict[str, Any]:
    return {
        "AccessKeyMetadata": [
            {"UserName": NAME, "AccessKeyId": k, "Status": "Active", "CreateDate": NOW}
            for k in key_ids
        ]
    }


def ours() -> list[dict[str, str]]:
    return [{"Key": REQUEST_TAG, "Value": "42"}, {"Key": SLACK_USER_TAG, "Value": "U0REQ"}]


class Harness:
    """A provisioner over stubbed IAM and STS clients that records its sleeps and calls."""

    def __init__(self, boundary: str = "") -> None:
        self.iam = client("iam")
        # CreateAccessKey and CreateLoginProfile go to a client of their own (retries off).
        self.once = client("iam")
        self.sts = client("sts")
        self.iam_stub = Stubber(self.iam)
        self.once_stub = Stubber(self.once)
        self.sts_stub = Stubber(self.sts)
        self.sleeps: list[float] = []
        self.sts_keys: list[str] = []
        self.operations: list[str] = []
        self.once_operations: list[str] = []

        def recorder(once: bool) -> Any:
            def record(model: Any, **_: Any) -> None:
                self.operations.append(model.name)
                if once:
                    self.once_operations.append(model.name)

            return record

        self.iam.meta.events.register("before-parameter-build.iam.*", recorder(False))
        self.once.meta.events.register("before-parameter-build.iam.*", recorder(True))

        def sts_for(key_id: str, secret: str) -> Any:
            self.sts_keys.append(key_id)
            return self.sts

        self.provisioner = IamProvisioner(
            self.iam,
            sts_for,
            AwsConfig(iam_path="/onboarding/", permissions_boundary=boundary),
            iam_once=self.once,
            sleep=self.sleeps.append,
            key_backoff=Backoff(attempts=5, base=1.0, cap=4.0),
        )

    def __enter__(self) -> Harness:
        self.iam_stub.activate()
        self.once_stub.activate()
        self.sts_stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.iam_stub.deactivate()
        self.once_stub.deactivate()
        self.sts_stub.deactivate()
        if exc[0] is None:
            self.once_stub.assert_no_pending_responses()

    def identity_ok(self) -> None:
        self.sts_stub.add_response(
            "get_caller_identity",
            {"UserId": "AIDAEXAMPLE0000000001", "Account": ACCOUNT, "Arn": ARN},
            {},
        )

    def identity_refused(self, times: int) -> None:
        for _ in range(times):
            self.sts_stub.add_client_error(
                "get_caller_identity",
                service_error_code="InvalidClientTokenId",
                service_message="The security token included in the request is invalid.",
                http_status_code=403,
            )

    def alias(self, alias: str | None = None) -> None:
        # Asked before the key is made: nothing that can fail comes after the key.
        self.iam_stub.add_response(
            "list_account_aliases",
            {"AccountAliases": [alias] if alias else [], "IsTruncated": False},
            {},
        )

    def key_steps(self) -> None:
        # A user created by this very call has no keys: nothing is listed first.
        self.once_stub.add_response("create_access_key", access_key(), {"UserName": NAME})

    def after_key_verified(self) -> None:
        # Once the new key works, every other key goes, for a user made just now too.
        self.iam_stub.add_response("list_access_keys", key_list(KEY_ID), {"UserName": NAME})


def test_provision_sends_exact_parameters() -> None:
    matcher = PasswordMeeting(PasswordPolicy.from_aws(CUSTOM_POLICY))
    with Harness(boundary=BOUNDARY) as h:
        h.iam_stub.add_response(
            "create_user",
            {"User": user()},
            {
                "UserName": NAME,
                "Path": "/onboarding/",
                "Tags": ours(),
                "PermissionsBoundary": BOUNDARY,
            },
        )
        h.iam_stub.add_response(
            "get_account_password_policy", {"PasswordPolicy": CUSTOM_POLICY}, {}
        )
        h.once_stub.add_response(
            "create_login_profile",
            {"LoginProfile": {"UserName": NAME, "CreateDate": NOW, "PasswordResetRequired": True}},
            {"UserName": NAME, "Password": matcher, "PasswordResetRequired": True},
        )
        h.iam_stub.add_response(
            "add_user_to_group", {}, {"UserName": NAME, "GroupName": "developers"}
        )
        h.iam_stub.add_response("attach_user_policy", {}, {"UserName": NAME, "PolicyArn": POLICY})
        h.alias("acme")
        h.key_steps()
        h.identity_ok()
        h.after_key_verified()
        creds = h.provisioner.provision(make_request())
        h.iam_stub.assert_no_pending_responses()
        h.sts_stub.assert_no_pending_responses()
    assert matcher.seen == [creds.password]
    assert len(creds.password) >= 34
    assert (creds.access_key_id, creds.secret_access_key) == (KEY_ID, SECRET)
    assert creds.console_url == "https://acme.signin.aws.amazon.com/console"
    assert h.sts_keys == [KEY_ID]
    assert h.sleeps == []


def test_no_boundary_when_none_configured_and_default_password_policy() -> None:
    matcher = PasswordMeeting(PasswordPolicy.from_aws(None))
    with Harness() as h:
        h.iam_stub.add_response(
            "create_user",
            {"User": user()},
            {"UserName": NAME, "Path": "/onboarding/", "Tags": ours()},
        )
        h.iam_stub.add_client_error(
            "get_account_password_policy",
            service_error_code="NoSuchEntity",
            service_message="The Password Policy with domain name x cannot be found.",
            http_status_code=404,
        )
        h.once_stub.add_response(
            "create_login_profile",
            {"LoginProfile": {"UserName": NAME, "CreateDate": NOW}},
            {"UserName": NAME, "Password": matcher, "PasswordResetRequired": True},
        )
        h.iam_stub.add_response("list_account_aliases", {"AccountAliases": []}, {})
        creds = h.provisioner.provision(make_request(programmatic=False, groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    assert matcher.seen == [creds.password]
    # No alias: the account id from the user's ARN.
    assert creds.console_url == f"https://{ACCOUNT}.signin.aws.amazon.com/console"


def test_resume_updates_existing_login_profile_and_replaces_our_key() -> None:
    with Harness() as h:
        h.iam_stub.add_client_error(
            "create_user", service_error_code="EntityAlreadyExists", http_status_code=409
        )
        h.iam_stub.add_response("get_user", {"User": user()}, {"UserName": NAME})
        h.iam_stub.add_response("list_user_tags", {"Tags": ours()}, {"UserName": NAME})
        h.iam_stub.add_client_error(
            "get_account_password_policy", service_error_code="NoSuchEntity"
        )
        h.once_stub.add_client_error(
            "create_login_profile", service_error_code="EntityAlreadyExists", http_status_code=409
        )
        h.iam_stub.add_response(
            "update_login_profile",
            {},
            {"UserName": NAME, "Password": ANY, "PasswordResetRequired": True},
        )
        h.alias()
        h.iam_stub.add_response("list_access_keys", key_list("AKIAOLDKEY0000000001"))
        h.iam_stub.add_response(
            "delete_access_key", {}, {"UserName": NAME, "AccessKeyId": "AKIAOLDKEY0000000001"}
        )
        h.once_stub.add_response("create_access_key", access_key(), {"UserName": NAME})
        h.identity_ok()
        h.after_key_verified()
        h.provisioner.provision(make_request(groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    # The old key is deleted before the new one is created: never two at once.
    assert h.operations.index("DeleteAccessKey") < h.operations.index("CreateAccessKey")


def test_roll_back_deletes_in_dependency_order() -> None:
    with Harness() as h:
        h.iam_stub.add_response("get_user", {"User": user()}, {"UserName": NAME})
        h.iam_stub.add_response("list_user_tags", {"Tags": ours()}, {"UserName": NAME})
        h.iam_stub.add_response("list_access_keys", key_list(KEY_ID), {"UserName": NAME})
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": KEY_ID})
        h.iam_stub.add_response("delete_login_profile", {}, {"UserName": NAME})
        h.iam_stub.add_response(
            "list_groups_for_user",
            {
                "Groups": [
                    {
                        "Path": "/",
                        "GroupName": "developers",
                        "GroupId": "AGPAEXAMPLE0000000001",
                        "Arn": f"arn:aws:iam::{ACCOUNT}:group/developers",
                        "CreateDate": NOW,
                    }
                ]
            },
            {"UserName": NAME},
        )
        h.iam_stub.add_response(
            "remove_user_from_group", {}, {"UserName": NAME, "GroupName": "developers"}
        )
        h.iam_stub.add_response(
            "list_attached_user_policies",
            {"AttachedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": POLICY}]},
            {"UserName": NAME},
        )
        h.iam_stub.add_response("detach_user_policy", {}, {"UserName": NAME, "PolicyArn": POLICY})
        h.iam_stub.add_response("list_user_policies", {"PolicyNames": []}, {"UserName": NAME})
        h.iam_stub.add_response("list_mfa_devices", {"MFADevices": []}, {"UserName": NAME})
        h.iam_stub.add_response("delete_user", {}, {"UserName": NAME})
        h.provisioner.roll_back(make_request())
        h.iam_stub.assert_no_pending_responses()
    assert [op for op in h.operations if not op.startswith(("Get", "List"))] == [
        "DeleteAccessKey",
        "DeleteLoginProfile",
        "RemoveUserFromGroup",
        "DetachUserPolicy",
        "DeleteUser",
    ]


def test_new_key_is_awaited_with_exponential_backoff() -> None:
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.alias()
        h.key_steps()
        h.identity_refused(3)
        h.identity_ok()
        h.after_key_verified()
        creds = h.provisioner.provision(make_request(console=False, groups=(), policies=()))
        h.sts_stub.assert_no_pending_responses()
    assert creds.access_key_id == KEY_ID
    assert h.sleeps == [1.0, 2.0, 4.0]


def test_gives_up_on_a_key_that_never_works() -> None:
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.alias()
        h.key_steps()
        h.identity_refused(5)
        # Its secret dies with this attempt: the key is deleted again.
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": KEY_ID})
        with pytest.raises(ProvisioningError) as info:
            h.provisioner.provision(make_request(console=False, groups=(), policies=()))
        h.sts_stub.assert_no_pending_responses()
        h.iam_stub.assert_no_pending_responses()
    assert h.sleeps == [1.0, 2.0, 4.0, 4.0]  # 5 attempts, capped at 4s
    assert info.value.code == "AccessKeyNotActive"
    assert info.value.step == "verify_access_key"
    assert "InvalidClientTokenId" in str(info.value) and "5 attempts" in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("configured", "frozen", "sent"),
    [
        (BOUNDARY, FROZEN_BOUNDARY, FROZEN_BOUNDARY),  # the request's own rules win
        ("", FROZEN_BOUNDARY, FROZEN_BOUNDARY),  # even once the config dropped it
        (BOUNDARY, "", BOUNDARY),  # frozen without one: the boundary added since
        ("", "", None),
    ],
)
def test_the_boundary_frozen_with_the_request_is_the_one_sent(
    configured: str, frozen: str, sent: str | None
) -> None:
    params: dict[str, Any] = {"UserName": NAME, "Path": "/onboarding/", "Tags": ours()}
    if sent is not None:
        params["PermissionsBoundary"] = sent
    with Harness(boundary=configured) as h:
        h.iam_stub.add_response("create_user", {"User": user()}, params)
        h.iam_stub.add_response("list_account_aliases", {"AccountAliases": []})
        h.provisioner.provision(
            make_request(
                console=False,
                programmatic=False,
                groups=(),
                policies=(),
                permissions_boundary=frozen,
            )
        )
        h.iam_stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [("Throttling", 400), ("ServiceFailure", 500), ("ConcurrentModification", 409)],
)
def test_transient_errors_are_retried_with_backoff(code: str, status: int) -> None:
    with Harness() as h:
        for _ in range(2):
            h.iam_stub.add_client_error(
                "create_user", service_error_code=code, http_status_code=status
            )
        h.iam_stub.add_response("create_user", {"User": user()})
        h.iam_stub.add_response("list_account_aliases", {"AccountAliases": []})
        h.provisioner.provision(
            make_request(console=False, programmatic=False, groups=(), policies=())
        )
        h.iam_stub.assert_no_pending_responses()
    assert h.sleeps == [1.0, 2.0]


def test_transient_errors_give_up_after_the_bound() -> None:
    with Harness() as h:
        for _ in range(4):
            h.iam_stub.add_client_error(
                "create_user", service_error_code="Throttling", http_status_code=400
            )
        with pytest.raises(ProvisioningError) as info:
            h.provisioner.provision(make_request())
        h.iam_stub.assert_no_pending_responses()
    assert h.sleeps == [1.0, 2.0, 4.0]
    assert info.value.code == "Throttling"
    assert not info.value.permanent


@pytest.mark.parametrize(
    ("operation", "code", "request_overrides"),
    [
        ("create_user", "AccessDenied", {}),
        ("create_user", "InvalidInput", {}),
        ("add_user_to_group", "NoSuchEntity", {}),
        ("attach_user_policy", "NoSuchEntity", {"groups": ()}),
        ("create_access_key", "LimitExceeded", {"groups": (), "policies": ()}),
    ],
)
def test_permanent_errors_fail_at_once(
    operation: str, code: str, request_overrides: dict[str, Any]
) -> None:
    order = ["create_user", "add_user_to_group", "attach_user_policy", "create_access_key"]
    request = make_request(console=False, **request_overrides)
    with Harness() as h:
        for step in order[: order.index(operation)]:
            if step == "add_user_to_group" and not request.groups:
                continue
            if step == "attach_user_policy" and not request.policies:
                continue
            h.iam_stub.add_response(step, {"User": user()} if step == "create_user" else {})
        if operation == "create_access_key":
            h.alias()
        stub = h.once_stub if operation == "create_access_key" else h.iam_stub
        stub.add_client_error(operation, service_error_code=code, service_message="nope")
        with pytest.raises(ProvisioningError) as info:
            h.provisioner.provision(request)
        h.iam_stub.assert_no_pending_responses()
    assert (info.value.code, info.value.message, info.value.permanent) == (code, "nope", True)
    assert h.sleeps == []


def test_password_policy_violation_is_permanent_and_hides_the_password() -> None:
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.iam_stub.add_client_error(
            "get_account_password_policy", service_error_code="NoSuchEntity"
        )
        h.once_stub.add_client_error(
            "create_login_profile",
            service_error_code="PasswordPolicyViolation",
            service_message="Password does not conform to the account password policy.",
        )
        with pytest.raises(ProvisioningError) as info:
            h.provisioner.provision(make_request(programmatic=False))
    assert info.value.code == "PasswordPolicyViolation" and info.value.permanent
    assert info.value.step == "create_login_profile"


def test_rotate_keeps_old_key_until_new_one_works() -> None:
    old = "AKIAOLDKEY0000000001"
    with Harness() as h:
        h.iam_stub.add_response("get_user", {"User": user()}, {"UserName": NAME})
        h.iam_stub.add_response("list_user_tags", {"Tags": ours()}, {"UserName": NAME})
        h.alias()
        h.iam_stub.add_response("list_access_keys", key_list(old), {"UserName": NAME})
        h.once_stub.add_response("create_access_key", access_key(), {"UserName": NAME})
        h.identity_refused(1)
        h.identity_ok()
        h.iam_stub.add_response("list_access_keys", key_list(old, KEY_ID), {"UserName": NAME})
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": old})
        creds = h.provisioner.rotate_credentials(make_request(console=False))
        h.iam_stub.assert_no_pending_responses()
    assert creds.access_key_id == KEY_ID
    assert h.operations.index("DeleteAccessKey") > h.operations.index("CreateAccessKey")


def test_account_facts_are_asked_once_per_ttl() -> None:
    """Password policy and alias are account-wide: a second provisioning within the TTL
    makes exactly one IAM call per step (the Stubber fails on any extra call)."""
    clock = [0.0]
    with Harness() as h:
        h.provisioner.monotonic = lambda: clock[0]
        for round_ in range(3):
            h.iam_stub.add_response("create_user", {"User": user()})
            if round_ != 1:  # rounds 0 and 2 (after the TTL) ask again
                h.iam_stub.add_client_error(
                    "get_account_password_policy", service_error_code="NoSuchEntity"
                )
            h.once_stub.add_response(
                "create_login_profile",
                {"LoginProfile": {"UserName": NAME, "CreateDate": NOW}},
            )
            if round_ != 1:
                h.iam_stub.add_response("list_account_aliases", {"AccountAliases": ["acme"]}, {})
            h.key_steps()
            h.identity_ok()
            h.after_key_verified()
            creds = h.provisioner.provision(make_request(groups=(), policies=()))
            assert creds.console_url == "https://acme.signin.aws.amazon.com/console"
            h.iam_stub.assert_no_pending_responses()
            clock[0] += 200.0 if round_ == 0 else 301.0


# --- issue 12: calls that must not be sent twice; transient errors ------------------------

STRAY = "AKIASTRAYKEY00000001"


def test_non_idempotent_calls_go_to_the_client_without_retries() -> None:
    """Only CreateAccessKey and CreateLoginProfile use `iam_once`, whose botocore config
    sends each call exactly once; every other call keeps botocore's retries."""
    from bot.aws.clients import build_provisioner

    session = boto3.Session(
        aws_access_key_id="AKIATEST",
        aws_secret_access_key="test",  # noqa: S106 - never sent
        region_name="us-east-1",
    )
    provisioner = build_provisioner(AwsConfig(iam_path="/onboarding/"), session)
    assert provisioner.iam_once.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert provisioner.iam.meta.config.retries["mode"] == "standard"
    assert provisioner.iam.meta.config.retries.get("total_max_attempts", 0) > 1
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.iam_stub.add_client_error(
            "get_account_password_policy", service_error_code="NoSuchEntity"
        )
        h.once_stub.add_response("create_login_profile", {"LoginProfile": login_profile()})
        h.alias()
        h.key_steps()
        h.identity_ok()
        h.after_key_verified()
        h.provisioner.provision(make_request(groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    assert h.once_operations == ["CreateLoginProfile", "CreateAccessKey"]


def login_profile() -> dict[str, Any]:
    return {"UserName": NAME, "CreateDate": NOW, "PasswordResetRequired": True}


@pytest.mark.parametrize(("code", "status"), [("ServiceUnavailable", 503), ("Throttling", 400)])
def test_lost_create_access_key_is_reconciled_before_it_is_sent_again(
    code: str, status: int
) -> None:
    """An ambiguous failure may have made a key whose secret never arrived: the strays
    are listed and deleted before CreateAccessKey is sent once more (fresh user too)."""
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.alias()
        h.once_stub.add_client_error(
            "create_access_key", service_error_code=code, http_status_code=status
        )
        h.iam_stub.add_response("list_access_keys", key_list(STRAY), {"UserName": NAME})
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": STRAY})
        h.key_steps()
        h.identity_ok()
        h.after_key_verified()
        creds = h.provisioner.provision(make_request(console=False, groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    assert creds.access_key_id == KEY_ID
    assert [op for op in h.operations if "AccessKey" in op] == [
        "CreateAccessKey",
        "ListAccessKeys",
        "DeleteAccessKey",
        "CreateAccessKey",
        "ListAccessKeys",
    ]
    assert h.sleeps == [1.0]  # the step's backoff, before the look


def test_lost_create_access_key_during_rotation_keeps_the_recorded_key() -> None:
    old = "AKIAOLDKEY0000000001"
    with Harness() as h:
        h.iam_stub.add_response("get_user", {"User": user()}, {"UserName": NAME})
        h.iam_stub.add_response("list_user_tags", {"Tags": ours()}, {"UserName": NAME})
        h.alias()
        h.iam_stub.add_response("list_access_keys", key_list(old), {"UserName": NAME})
        h.once_stub.add_client_error(
            "create_access_key", service_error_code="InternalFailure", http_status_code=500
        )
        # The old key is the requester's until the new one works: only the stray goes.
        h.iam_stub.add_response("list_access_keys", key_list(old, STRAY), {"UserName": NAME})
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": STRAY})
        h.key_steps()
        h.identity_ok()
        h.iam_stub.add_response("list_access_keys", key_list(old, KEY_ID), {"UserName": NAME})
        h.iam_stub.add_response("delete_access_key", {}, {"UserName": NAME, "AccessKeyId": old})
        creds = h.provisioner.rotate_credentials(make_request(console=False))
        h.iam_stub.assert_no_pending_responses()
    assert creds.access_key_id == KEY_ID


def test_create_access_key_gives_up_after_the_bound_with_no_stray_left() -> None:
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.alias()
        for _ in range(4):  # STEP_BACKOFF: 4 attempts, each followed by a look
            h.once_stub.add_client_error(
                "create_access_key", service_error_code="ServiceUnavailable", http_status_code=503
            )
            h.iam_stub.add_response("list_access_keys", key_list(STRAY), {"UserName": NAME})
            h.iam_stub.add_response(
                "delete_access_key", {}, {"UserName": NAME, "AccessKeyId": STRAY}
            )
        with pytest.raises(ProvisioningError) as info:
            h.provisioner.provision(make_request(console=False, groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    assert (info.value.code, info.value.permanent) == ("ServiceUnavailable", False)
    assert h.sleeps == [1.0, 2.0, 4.0]


def test_lost_create_login_profile_answer_then_entity_exists_updates_the_password() -> None:
    """EntityAlreadyExists after an ambiguous failure: our own call made the profile."""
    with Harness() as h:
        h.iam_stub.add_response("create_user", {"User": user()})
        h.iam_stub.add_client_error(
            "get_account_password_policy", service_error_code="NoSuchEntity"
        )
        h.once_stub.add_client_error(
            "create_login_profile", service_error_code="ServiceUnavailable", http_status_code=503
        )
        h.once_stub.add_client_error(
            "create_login_profile", service_error_code="EntityAlreadyExists", http_status_code=409
        )
        password = PasswordMeeting(PasswordPolicy.from_aws(None))
        h.iam_stub.add_response(
            "update_login_profile",
            {},
            {"UserName": NAME, "Password": password, "PasswordResetRequired": True},
        )
        h.alias()
        creds = h.provisioner.provision(make_request(programmatic=False, groups=(), policies=()))
        h.iam_stub.assert_no_pending_responses()
    assert password.seen == [creds.password]
    assert h.once_operations == ["CreateLoginProfile", "CreateLoginProfile"]


NETWORK_ERRORS = [
    (ConnectionClosedError(endpoint_url=f"https://iam.amazonaws.com/?Password={SECRET}"),
     "ConnectionClosedError: connection to AWS closed before it answered"),
    (ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/", error="timed out"),
     "ReadTimeoutError: AWS did not answer in time (read timeout)"),
    (EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/"),
     "EndpointConnectionError: could not connect to the AWS endpoint"),
    (ConnectTimeoutError(endpoint_url="https://iam.amazonaws.com/"),
     "ConnectTimeoutError: could not connect to AWS in time (connect timeout)"),
    (HTTPClientError(error="boom"), "HTTPClientError: the HTTP exchange with AWS failed"),
]  # fmt: skip


@pytest.mark.parametrize(("error", "text"), NETWORK_ERRORS)
def test_network_errors_are_transient_retried_and_named(error: Exception, text: str) -> None:
    """Issue 12, item 8: never "the AWS SDK refused the request"; the SDK's text (which
    may quote the request) is not used."""
    sleeps: list[float] = []
    calls = []

    def call() -> None:
        calls.append(1)
        raise error

    with pytest.raises(ProvisioningError) as info:
        call_aws("attach_user_policy", call, Backoff(attempts=3, base=0.5, cap=4.0), sleeps.append)
    assert len(calls) == 3 and sleeps == [0.5, 1.0]
    assert str(info.value) == text
    assert not info.value.permanent and info.value.step == "attach_user_policy"
    assert SECRET not in str(info.value) and "amazonaws" not in str(info.value)


def test_sdk_refusals_stay_permanent() -> None:
    def call() -> None:
        raise ParamValidationError(report=f"Invalid length for parameter Password {SECRET}")

    with pytest.raises(ProvisioningError) as info:
        call_aws("create_login_profile", call, Backoff(3, 0.5, 4.0), lambda _s: None)
    assert info.value.permanent
    assert str(info.value) == "ParamValidationError: the AWS SDK refused the request"
