"""The revoker's exact IAM calls and their order, with botocore's Stubber (flow 6).

moto lacks service-specific credentials and does not enforce DeleteUser's
prerequisites, so the order IAM documents for `delete` is pinned down here, against
botocore's real service models; moto shows the effects (tests/integration/test_revoke_moto.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bot.aws.calls import Backoff
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.aws.revoke import IamRevoker
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeMode, RevokeRefused
from bot.domain.states import Status
from bot.settings import AwsConfig

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ACCOUNT = "210987654321"
NAME = "alice"
POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
KEYS = ("AKIAEXAMPLE000000001", "AKIAEXAMPLE000000002")
CERT = "CERTEXAMPLE0000000000000000000001"
SSH = "APKAEXAMPLE000000001"
SERVICE_CRED = "ACCAEXAMPLE000000001"
VIRTUAL_MFA = f"arn:aws:iam::{ACCOUNT}:mfa/alice-phone"
HARDWARE_MFA = "GAHT12345678"
U = {"UserName": NAME}


def make_request(**overrides: Any) -> RequestView:
    values: dict[str, Any] = {
        "id": 42,
        "requester_id": "U0REQ",
        "profile": "developer",
        "iam_user_name": NAME,
        "console": True,
        "programmatic": True,
        "reason": "deploys",
        "status": Status.REVOKING,
        "created_at": NOW,
    }
    values.update(overrides)
    return RequestView(**values)


class Harness:
    """A revoker over a stubbed IAM client that records the operations it sends."""

    def __init__(self) -> None:
        self.iam = boto3.client(
            "iam",
            region_name="us-east-1",
            aws_access_key_id="AKIATEST",
            aws_secret_access_key="test",  # noqa: S106 - never sent: the Stubber answers
        )
        self.stub = Stubber(self.iam)
        self.operations: list[str] = []
        self.sleeps: list[float] = []
        self.iam.meta.events.register(
            "before-parameter-build.iam.*", lambda model, **_: self.operations.append(model.name)
        )
        self.revoker = IamRevoker(
            self.iam,
            AwsConfig(iam_path="/onboarding/"),
            sleep=self.sleeps.append,
            step_backoff=Backoff(attempts=3, base=1.0, cap=4.0),
        )

    def __enter__(self) -> Harness:
        self.stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stub.deactivate()

    def add(self, operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stub.add_response(operation, response, params)

    def ours(self, path: str = "/onboarding/", tags: list[dict[str, str]] | None = None) -> None:
        user = {
            "Path": path,
            "UserName": NAME,
            "UserId": "AIDAEXAMPLE0000000001",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user{path}{NAME}",
            "CreateDate": NOW,
        }
        self.add("get_user", {"User": user}, U)
        if tags is None:
            tags = [{"Key": REQUEST_TAG, "Value": "42"}, {"Key": SLACK_USER_TAG, "Value": "U0REQ"}]
        self.add("list_user_tags", {"Tags": tags}, U)

    def everything_attached(self) -> None:
        """The list answers for a user holding one of everything (two keys, two MFAs)."""
        keys = [
            {"UserName": NAME, "AccessKeyId": k, "Status": "Active", "CreateDate": NOW}
            for k in KEYS
        ]
        self.add("list_access_keys", {"AccessKeyMetadata": keys}, U)

    def certificates(self) -> None:
        cert = {
            "UserName": NAME,
            "CertificateId": CERT,
            "CertificateBody": "-----BEGIN CERTIFICATE-----",
            "Status": "Active",
        }
        self.add("list_signing_certificates", {"Certificates": [cert]}, U)

    def ssh_keys(self) -> None:
        key = {"UserName": NAME, "SSHPublicKeyId": SSH, "Status": "Active", "UploadDate": NOW}
        self.add("list_ssh_public_keys", {"SSHPublicKeys": [key]}, U)

    def permissions(self) -> None:
        self.add("list_user_policies", {"PolicyNames": ["inline-extra"]}, U)
        self.add("delete_user_policy", {}, {**U, "PolicyName": "inline-extra"})
        attached = [{"PolicyName": "ReadOnlyAccess", "PolicyArn": POLICY}]
        self.add("list_attached_user_policies", {"AttachedPolicies": attached}, U)
        self.add("detach_user_policy", {}, {**U, "PolicyArn": POLICY})
        group = {
            "Path": "/",
            "GroupName": "developers",
            "GroupId": "AGPAEXAMPLE0000000001",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/developers",
            "CreateDate": NOW,
        }
        self.add("list_groups_for_user", {"Groups": [group]}, U)
        self.add("remove_user_from_group", {}, {**U, "GroupName": "developers"})

    def mutations(self) -> list[str]:
        return [op for op in self.operations if not op.startswith(("Get", "List"))]


def test_delete_removes_everything_in_the_order_iam_requires() -> None:
    with Harness() as h:
        h.ours()
        h.add("delete_login_profile", {}, U)
        h.everything_attached()
        for key in KEYS:
            h.add("delete_access_key", {}, {**U, "AccessKeyId": key})
        h.certificates()
        h.add("delete_signing_certificate", {}, {**U, "CertificateId": CERT})
        h.ssh_keys()
        h.add("delete_ssh_public_key", {}, {**U, "SSHPublicKeyId": SSH})
        cred = {
            "UserName": NAME,
            "Status": "Active",
            "ServiceUserName": "alice-at-123",
            "CreateDate": NOW,
            "ServiceSpecificCredentialId": SERVICE_CRED,
            "ServiceName": "codecommit.amazonaws.com",
        }
        h.add("list_service_specific_credentials", {"ServiceSpecificCredentials": [cred]}, U)
        h.add(
            "delete_service_specific_credential",
            {},
            {**U, "ServiceSpecificCredentialId": SERVICE_CRED},
        )
        devices = [
            {"UserName": NAME, "SerialNumber": serial, "EnableDate": NOW}
            for serial in (VIRTUAL_MFA, HARDWARE_MFA)
        ]
        h.add("list_mfa_devices", {"MFADevices": devices}, U)
        h.add("deactivate_mfa_device", {}, {**U, "SerialNumber": VIRTUAL_MFA})
        h.add("delete_virtual_mfa_device", {}, {"SerialNumber": VIRTUAL_MFA})
        h.add("deactivate_mfa_device", {}, {**U, "SerialNumber": HARDWARE_MFA})
        h.permissions()
        h.add("delete_user", {}, U)
        h.revoker.revoke(make_request(), RevokeMode.DELETE)
        h.stub.assert_no_pending_responses()
    assert h.mutations() == [
        "DeleteLoginProfile",
        "DeleteAccessKey",
        "DeleteAccessKey",
        "DeleteSigningCertificate",
        "DeleteSSHPublicKey",
        "DeleteServiceSpecificCredential",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",  # a hardware device is only deactivated
        "DeactivateMFADevice",
        "DeleteUserPolicy",
        "DetachUserPolicy",
        "RemoveUserFromGroup",
        "DeleteUser",
    ]


def test_disable_deactivates_and_removes_permissions_and_keeps_the_user() -> None:
    with Harness() as h:
        h.ours()
        h.add("delete_login_profile", {}, U)
        h.everything_attached()
        for key in KEYS:
            h.add("update_access_key", {}, {**U, "AccessKeyId": key, "Status": "Inactive"})
        h.ssh_keys()
        h.add("update_ssh_public_key", {}, {**U, "SSHPublicKeyId": SSH, "Status": "Inactive"})
        h.certificates()
        h.add("update_signing_certificate", {}, {**U, "CertificateId": CERT, "Status": "Inactive"})
        h.permissions()
        h.revoker.revoke(make_request(), RevokeMode.DISABLE)
        h.stub.assert_no_pending_responses()
    assert "DeleteUser" not in h.operations
    assert h.mutations() == [
        "DeleteLoginProfile",
        "UpdateAccessKey",
        "UpdateAccessKey",
        "UpdateSSHPublicKey",
        "UpdateSigningCertificate",
        "DeleteUserPolicy",
        "DetachUserPolicy",
        "RemoveUserFromGroup",
    ]


def test_steps_already_done_are_tolerated() -> None:
    """A retry after a crash: the login profile and the user are already gone."""
    with Harness() as h:
        h.ours()
        h.stub.add_client_error("delete_login_profile", "NoSuchEntity", http_status_code=404)
        h.add("list_access_keys", {"AccessKeyMetadata": []}, U)
        h.add("list_signing_certificates", {"Certificates": []}, U)
        h.add("list_ssh_public_keys", {"SSHPublicKeys": []}, U)
        h.add("list_service_specific_credentials", {"ServiceSpecificCredentials": []}, U)
        h.add("list_mfa_devices", {"MFADevices": []}, U)
        h.add("list_user_policies", {"PolicyNames": []}, U)
        h.add("list_attached_user_policies", {"AttachedPolicies": []}, U)
        h.add("list_groups_for_user", {"Groups": []}, U)
        h.stub.add_client_error("delete_user", "NoSuchEntity", http_status_code=404)
        h.revoker.revoke(make_request(), RevokeMode.DELETE)
        h.stub.assert_no_pending_responses()


def test_a_user_that_is_gone_needs_nothing() -> None:
    with Harness() as h:
        h.stub.add_client_error("get_user", "NoSuchEntity", http_status_code=404)
        h.revoker.revoke(make_request(), RevokeMode.DELETE)
        h.stub.assert_no_pending_responses()
    assert h.operations == ["GetUser"]


@pytest.mark.parametrize(
    ("path", "tags", "why"),
    [
        ("/", None, "is not under the bot's path /onboarding/"),
        ("/onboarding/", [], "does not carry request #42's tag"),
        (
            "/onboarding/",
            [{"Key": REQUEST_TAG, "Value": "41"}, {"Key": SLACK_USER_TAG, "Value": "U0REQ"}],
            "does not carry request #42's tag",
        ),
        (
            "/onboarding/",
            [{"Key": REQUEST_TAG, "Value": "42"}, {"Key": SLACK_USER_TAG, "Value": "U0OTHER"}],
            "tagged for another Slack member",
        ),
    ],
)
def test_anyone_elses_user_is_refused_before_any_change(path, tags, why) -> None:
    with Harness() as h:
        h.ours(path=path, tags=tags)
        with pytest.raises(RevokeRefused, match=why):
            h.revoker.revoke(make_request(), RevokeMode.DELETE)
        h.stub.assert_no_pending_responses()
    assert h.operations == ["GetUser", "ListUserTags"]


def test_transient_errors_are_retried_then_reported() -> None:
    with Harness() as h:
        h.ours()
        for _ in range(3):
            h.stub.add_client_error("delete_login_profile", "Throttling", http_status_code=400)
        with pytest.raises(ProvisioningError) as raised:
            h.revoker.revoke(make_request(), RevokeMode.DISABLE)
    assert (raised.value.code, raised.value.permanent) == ("Throttling", False)
    assert h.sleeps == [1.0, 2.0]


def test_permanent_errors_fail_at_once() -> None:
    with Harness() as h:
        h.ours()
        h.stub.add_client_error("delete_login_profile", "AccessDenied", http_status_code=403)
        with pytest.raises(ProvisioningError) as raised:
            h.revoker.revoke(make_request(), RevokeMode.DISABLE)
    assert (raised.value.code, raised.value.permanent) == ("AccessDenied", True)
    assert h.sleeps == []
