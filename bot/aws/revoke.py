"""The Revoker port (bot/domain/revocation.py) over an injected boto3 IAM client: take an
IAM user back (flow 6, docs/architecture.md).

- `disable`: the login profile is deleted, access keys (and SSH keys and signing
  certificates) are deactivated, group memberships, attached and inline policies are
  removed. The user stays, for the audit trail.
- `delete`: everything DeleteUser needs gone, in the order IAM documents it (login
  profile, access keys, signing certificates, SSH public keys, service-specific
  credentials, MFA devices (deactivated, then virtual ones deleted), inline policies,
  attached policies, group memberships), then DeleteUser.

Every step tolerates having been done already (NoSuchEntity), so a revoke that failed
or died half-way finishes when it runs again. A user is touched only when it lives under
the bot's `iam_path` and carries this request's tags (bot/aws/iam.py sets them);
anything else is refused with RevokeRefused before a single change. Failures become
ProvisioningError through bot/aws/calls.py (transient ones retried with backoff).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.aws.calls import STEP_BACKOFF, Backoff, IamCalls, call_aws
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.domain.config import AwsConfig
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeMode, RevokePlan, RevokeRefused

log = logging.getLogger(__name__)

GONE = "NoSuchEntity"


class IamRevoker(IamCalls):
    def __init__(
        self,
        iam: Any,
        config: AwsConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        step_backoff: Backoff = STEP_BACKOFF,
    ) -> None:
        self.iam = iam
        self.iam_once = iam
        self.config = config
        self.sleep = sleep
        self.step_backoff = step_backoff

    # --- the Revoker port ------------------------------------------------------------

    def owned(self, request: RequestView) -> bool:
        return self._owned(request, step="check_owner")

    def plan(self, request: RequestView) -> RevokePlan:
        name = request.iam_user_name
        if not self._owned(request, step="plan"):
            return RevokePlan(name, exists=False)
        other = [f"signing certificate {c}" for c in self._signing_certificates(name)]
        other += [f"SSH public key {k}" for k in self._ssh_keys(name)]
        other += [f"service credential {c}" for c in self._service_credentials(name)]
        return RevokePlan(
            user_name=name,
            groups=tuple(self._groups(name)),
            policies=tuple(self._attached(name)),
            inline_policies=tuple(self._inline(name)),
            access_keys=tuple(self._keys(name)),
            console=self._has_login_profile(name),
            mfa_devices=tuple(self._mfa_devices(name)),
            other=tuple(other),
        )

    def revoke(self, request: RequestView, mode: RevokeMode) -> None:
        name = request.iam_user_name
        if not self._owned(request, step="revoke"):
            log.info("IAM user already gone", extra={"request_id": request.id, "iam_user": name})
            return
        if mode is RevokeMode.DELETE:
            self._delete(name)
        else:
            self._disable(name)
        log.info(
            "revoked IAM user",
            extra={"request_id": request.id, "iam_user": name, "mode": mode.value},
        )

    # --- the two modes ---------------------------------------------------------------

    def _disable(self, name: str) -> None:
        iam = self.iam
        self._gone_ok("delete_login_profile", lambda: iam.delete_login_profile(UserName=name))
        for key in self._keys(name):
            self._gone_ok(
                "update_access_key",
                lambda key=key: iam.update_access_key(
                    UserName=name, AccessKeyId=key, Status="Inactive"
                ),
            )
        for key in self._ssh_keys(name):
            self._gone_ok(
                "update_ssh_public_key",
                lambda key=key: iam.update_ssh_public_key(
                    UserName=name, SSHPublicKeyId=key, Status="Inactive"
                ),
            )
        for cert in self._signing_certificates(name):
            self._gone_ok(
                "update_signing_certificate",
                lambda cert=cert: iam.update_signing_certificate(
                    UserName=name, CertificateId=cert, Status="Inactive"
                ),
            )
        self._remove_permissions(name)

    def _delete(self, name: str) -> None:
        """IAM's documented order before DeleteUser (each list read afresh, so a retry
        after a crash sees only what is left)."""
        iam = self.iam
        self._gone_ok("delete_login_profile", lambda: iam.delete_login_profile(UserName=name))
        for key in self._keys(name):
            self._gone_ok(
                "delete_access_key",
                lambda key=key: iam.delete_access_key(UserName=name, AccessKeyId=key),
            )
        for cert in self._signing_certificates(name):
            self._gone_ok(
                "delete_signing_certificate",
                lambda cert=cert: iam.delete_signing_certificate(UserName=name, CertificateId=cert),
            )
        for key in self._ssh_keys(name):
            self._gone_ok(
                "delete_ssh_public_key",
                lambda key=key: iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=key),
            )
        for cred in self._service_credentials(name):
            self._gone_ok(
                "delete_service_specific_credential",
                lambda cred=cred: iam.delete_service_specific_credential(
                    UserName=name, ServiceSpecificCredentialId=cred
                ),
            )
        for serial in self._mfa_devices(name):
            self._gone_ok(
                "deactivate_mfa_device",
                lambda serial=serial: iam.deactivate_mfa_device(UserName=name, SerialNumber=serial),
            )
            if _virtual(serial):
                self._gone_ok(
                    "delete_virtual_mfa_device",
                    lambda serial=serial: iam.delete_virtual_mfa_device(SerialNumber=serial),
                )
        self._remove_permissions(name)
        self._gone_ok("delete_user", lambda: iam.delete_user(UserName=name))

    def _remove_permissions(self, name: str) -> None:
        """Inline policies, attached policies, group memberships (IAM's order)."""
        iam = self.iam
        for policy in self._inline(name):
            self._gone_ok(
                "delete_user_policy",
                lambda policy=policy: iam.delete_user_policy(UserName=name, PolicyName=policy),
            )
        for arn in self._attached(name):
            self._gone_ok(
                "detach_user_policy",
                lambda arn=arn: iam.detach_user_policy(UserName=name, PolicyArn=arn),
            )
        for group in self._groups(name):
            self._gone_ok(
                "remove_user_from_group",
                lambda group=group: iam.remove_user_from_group(UserName=name, GroupName=group),
            )

    # --- is it ours? -----------------------------------------------------------------

    def _owned(self, request: RequestView, *, step: str) -> bool:
        """True when the request's user exists under the bot's path with this request's
        tags; False when it does not exist; RevokeRefused for anyone else's user."""
        name = request.iam_user_name
        try:
            user = self._aws(step, lambda: self.iam.get_user(UserName=name))["User"]
            tags = self._aws(step, lambda: self.iam.list_user_tags(UserName=name))["Tags"]
        except ProvisioningError as exc:
            if exc.code == GONE:
                return False
            raise
        values = {tag["Key"]: tag["Value"] for tag in tags}
        path = user.get("Path", "/")
        if path != self.config.iam_path:
            raise RevokeRefused(
                f"IAM user {name} is not under the bot's path {self.config.iam_path} "
                f"(it is under {path}): it was not created by aws-access-bot and was left "
                "untouched"
            )
        if values.get(REQUEST_TAG) != str(request.id):
            raise RevokeRefused(
                f"IAM user {name} does not carry request #{request.id}'s tag "
                f"({REQUEST_TAG}): it was not created by aws-access-bot for this request "
                "and was left untouched"
            )
        if values.get(SLACK_USER_TAG) != request.requester_id:
            raise RevokeRefused(
                f"IAM user {name} is tagged for another Slack member: it was left untouched"
            )
        return True

    # --- reads -----------------------------------------------------------------------

    def _all(self, step: str, paginator: Any, key: str, name: str) -> list[Any]:
        """Every item of a paginated IAM list, read afresh (transient errors retried)."""
        pages = lambda: list(paginator.paginate(UserName=name))  # noqa: E731
        return [item for page in self._aws(step, pages) for item in page.get(key, [])]

    def _keys(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_access_keys")
        metas = self._all("list_access_keys", paginator, "AccessKeyMetadata", name)
        return [m["AccessKeyId"] for m in metas]

    def _groups(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_groups_for_user")
        return [g["GroupName"] for g in self._all("list_groups", paginator, "Groups", name)]

    def _attached(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_attached_user_policies")
        policies = self._all("list_attached_policies", paginator, "AttachedPolicies", name)
        return [p["PolicyArn"] for p in policies]

    def _inline(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_user_policies")
        return self._all("list_user_policies", paginator, "PolicyNames", name)

    def _mfa_devices(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_mfa_devices")
        devices = self._all("list_mfa_devices", paginator, "MFADevices", name)
        return [d["SerialNumber"] for d in devices]

    def _signing_certificates(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_signing_certificates")
        certs = self._all("list_signing_certificates", paginator, "Certificates", name)
        return [c["CertificateId"] for c in certs]

    def _ssh_keys(self, name: str) -> list[str]:
        paginator = self.iam.get_paginator("list_ssh_public_keys")
        keys = self._all("list_ssh_public_keys", paginator, "SSHPublicKeys", name)
        return [k["SSHPublicKeyId"] for k in keys]

    def _service_credentials(self, name: str) -> list[str]:
        # Not paginated.
        page = self._aws(
            "list_service_specific_credentials",
            lambda: self.iam.list_service_specific_credentials(UserName=name),
        )
        return [
            c["ServiceSpecificCredentialId"] for c in page.get("ServiceSpecificCredentials", [])
        ]

    def _has_login_profile(self, name: str) -> bool:
        found = self._gone_ok(
            "get_login_profile", lambda: self.iam.get_login_profile(UserName=name)
        )
        return found is not None

    def _gone_ok(self, step: str, call: Callable[[], Any]) -> Any:
        """A step whose NoSuchEntity means it was done already (None then)."""
        return self._tolerate(GONE, step, call)


def _virtual(serial: str) -> bool:
    """Virtual MFA devices are ARNs (arn:aws:iam::123:mfa/name); hardware ones are not."""
    return serial.startswith("arn:") and ":mfa/" in serial


class AccountRevokers:
    """The Revoker port over every account: each request is revoked by the IamRevoker of
    its own (frozen) account, over the IAM client that account's provisioning uses
    (`iam_for(account)`), after checking the bot can work there (`verify`)."""

    def __init__(
        self,
        iam_for: Callable[[str], Any],
        config: AwsConfig,
        *,
        verify: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        step_backoff: Backoff = STEP_BACKOFF,
    ) -> None:
        self.iam_for = iam_for
        self.config = config
        self.verify = verify
        self.sleep = sleep
        self.step_backoff = step_backoff
        self._lock = threading.Lock()
        self._revokers: dict[str, IamRevoker] = {}

    def for_account(self, name: str) -> IamRevoker:
        if self.verify is not None:
            verify = self.verify
            call_aws("assume_role", lambda: verify(name), self.step_backoff, self.sleep)
        with self._lock:
            revoker = self._revokers.get(name)
            if revoker is None:
                revoker = self._revokers[name] = IamRevoker(
                    self.iam_for(name),
                    self.config,
                    sleep=self.sleep,
                    step_backoff=self.step_backoff,
                )
            return revoker

    def owned(self, request: RequestView) -> bool:
        return self.for_account(request.account).owned(request)

    def plan(self, request: RequestView) -> RevokePlan:
        return self.for_account(request.account).plan(request)

    def revoke(self, request: RequestView, mode: RevokeMode) -> None:
        self.for_account(request.account).revoke(request, mode)
