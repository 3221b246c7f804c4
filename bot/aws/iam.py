"""The IAM provisioner: creates, re-keys and removes the IAM user of one request.

Every step is idempotent for *this* request, so a retry after a crash anywhere finishes
the job. A user is "ours" only when it carries this request's tags; anything else with
the same name is never modified.

IAM is called only as `self.iam.<operation>(...)`, or `self.iam_once.<operation>(...)`
for the two calls that must not be sent twice (the deploy tooling derives the bot's
least-privilege policy from those calls); STS only through clients from `sts_for`.
Access keys: bot/aws/keys.py.
Secrets (password, secret key) live in local variables and the returned Credentials;
they never go into a log line or an exception.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.aws.calls import KEY_BACKOFF, STEP_BACKOFF, Backoff
from bot.aws.keys import AccessKeySteps, StsFactory
from bot.aws.passwords import PasswordPolicy, generate_password
from bot.domain.config import AwsConfig
from bot.domain.credentials import Credentials
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView

log = logging.getLogger(__name__)

REQUEST_TAG = "aws-access-bot:request-id"
SLACK_USER_TAG = "aws-access-bot:slack-user"

T = TypeVar("T")
__all__ = ["REQUEST_TAG", "SLACK_USER_TAG", "Backoff", "IamProvisioner", "StsFactory"]


class IamProvisioner(AccessKeySteps):
    """Implements the Provisioner port over injected boto3 IAM clients: `iam` with
    botocore's retries, `iam_once` (default: `iam`) with them off."""

    def __init__(
        self,
        iam: Any,
        sts_for: StsFactory,
        config: AwsConfig,
        *,
        iam_once: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        step_backoff: Backoff = STEP_BACKOFF,
        key_backoff: Backoff = KEY_BACKOFF,
        choice: Callable[[str], str] = secrets.choice,
        account_cache_ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.iam = iam
        self.iam_once = iam if iam_once is None else iam_once
        self.sts_for = sts_for
        self.config = config
        self.sleep = sleep
        self.step_backoff = step_backoff
        self.key_backoff = key_backoff
        self.choice = choice
        self.account_cache_ttl = account_cache_ttl
        self.monotonic = monotonic
        self._account_cache: dict[str, tuple[float, Any]] = {}

    # --- the Provisioner port ------------------------------------------------

    def provision(self, request: RequestView) -> Credentials:
        name = request.iam_user_name
        arn, fresh = self._ensure_user(request)
        password = self._set_password(request, create=True) if request.console else None
        for group in request.groups:
            self._aws(
                "add_user_to_group",
                lambda group=group: self.iam.add_user_to_group(UserName=name, GroupName=group),
            )
        for policy in request.policies:
            self._aws(
                "attach_user_policy",
                lambda policy=policy: self.iam.attach_user_policy(UserName=name, PolicyArn=policy),
            )
        # Asked before the key is made, so no failure here can strand a key.
        console_url = self._console_url(arn)
        key_id = secret = None
        if request.programmatic:
            if not fresh:
                # No key is recorded for a request before it is provisioned: any key an
                # earlier attempt made lost its secret with that attempt. Delete them
                # first (IAM allows two keys per user).
                self._delete_keys(name)
            key_id, secret = self._new_verified_key(name)
        return self._hand_out(
            "provisioned IAM user", request, console_url, password, key_id, secret
        )

    def rotate_credentials(self, request: RequestView) -> Credentials:
        name = request.iam_user_name
        arn = self._owned_user(request, step="rotate_credentials")
        if arn is None:
            raise ProvisioningError(
                "NoSuchEntity",
                f"IAM user {name} does not exist",
                permanent=True,
                step="rotate_credentials",
            )
        password = self._set_password(request, create=False) if request.console else None
        console_url = self._console_url(arn)
        key_id = secret = None
        if request.programmatic:
            keys = self._list_keys(name)
            # IAM allows two keys; make room for the new one but keep the newest old key
            # (the one recorded for the request) working until the new one is verified.
            keys.sort(key=lambda k: k.get("CreateDate") or 0)
            for old in keys[:-1]:
                self._delete_key(name, old["AccessKeyId"])
            recorded = [k["AccessKeyId"] for k in keys[-1:]]
            # Deletes the old key once the new one works.
            key_id, secret = self._new_verified_key(name, known=recorded)
        return self._hand_out(
            "rotated IAM credentials", request, console_url, password, key_id, secret
        )

    def _hand_out(
        self,
        event: str,
        request: RequestView,
        console_url: str,
        password: str | None,
        key_id: str | None,
        secret: str | None,
    ) -> Credentials:
        # The access key id is public (it appears in CloudTrail); the secrets never logged.
        name = request.iam_user_name
        log.info(event, extra={"request_id": request.id, "iam_user": name, "access_key_id": key_id})
        return Credentials(
            user_name=name,
            console_url=console_url,
            password=password,
            access_key_id=key_id,
            secret_access_key=secret,
        )

    def roll_back(self, request: RequestView) -> None:
        """Remove the user and everything attached to it, in dependency order:
        access keys, login profile, group memberships, attached policies, (inline
        policies and MFA devices someone may have added since, or DeleteUser would
        conflict), then the user. A user without this request's tags is left alone."""
        name = request.iam_user_name
        if self._owned_user(request, step="roll_back") is None:
            log.info("nothing to roll back", extra={"request_id": request.id, "iam_user": name})
            return
        self._delete_keys(name, step="roll_back")
        self._tolerate(
            "NoSuchEntity", "roll_back", lambda: self.iam.delete_login_profile(UserName=name)
        )
        groups = self._aws("roll_back", lambda: self.iam.list_groups_for_user(UserName=name))
        for group in groups["Groups"]:
            self._tolerate(
                "NoSuchEntity",
                "roll_back",
                lambda group=group: self.iam.remove_user_from_group(
                    UserName=name, GroupName=group["GroupName"]
                ),
            )
        attached = self._aws(
            "roll_back", lambda: self.iam.list_attached_user_policies(UserName=name)
        )
        for policy in attached["AttachedPolicies"]:
            self._tolerate(
                "NoSuchEntity",
                "roll_back",
                lambda policy=policy: self.iam.detach_user_policy(
                    UserName=name, PolicyArn=policy["PolicyArn"]
                ),
            )
        inline = self._aws("roll_back", lambda: self.iam.list_user_policies(UserName=name))
        for policy_name in inline["PolicyNames"]:
            self._tolerate(
                "NoSuchEntity",
                "roll_back",
                lambda policy_name=policy_name: self.iam.delete_user_policy(
                    UserName=name, PolicyName=policy_name
                ),
            )
        devices = self._aws("roll_back", lambda: self.iam.list_mfa_devices(UserName=name))
        for device in devices["MFADevices"]:
            self._tolerate(
                "NoSuchEntity",
                "roll_back",
                lambda device=device: self.iam.deactivate_mfa_device(
                    UserName=name, SerialNumber=device["SerialNumber"]
                ),
            )
        self._tolerate("NoSuchEntity", "roll_back", lambda: self.iam.delete_user(UserName=name))
        log.info("rolled back IAM user", extra={"request_id": request.id, "iam_user": name})

    # --- steps ---------------------------------------------------------------

    def _ensure_user(self, request: RequestView) -> tuple[str, bool]:
        """CreateUser, or continue with the user an earlier attempt of this request made.
        Returns the user's ARN and whether this call created it."""
        params: dict[str, Any] = {
            "UserName": request.iam_user_name,
            "Path": self.config.iam_path,
            "Tags": [
                {"Key": REQUEST_TAG, "Value": str(request.id)},
                {"Key": SLACK_USER_TAG, "Value": request.requester_id},
            ],
        }
        # The boundary frozen with the request; a request frozen without one still gets
        # the boundary configured since (a boundary only ever narrows what a user can do).
        if boundary := request.permissions_boundary or self.config.permissions_boundary:
            params["PermissionsBoundary"] = boundary
        create = lambda: self.iam.create_user(**params)  # noqa: E731
        try:
            return self._aws("create_user", create)["User"]["Arn"], True
        except ProvisioningError as exc:
            if exc.code != "EntityAlreadyExists":
                raise
        arn = self._owned_user(request, step="create_user")
        if arn is None:  # deleted between our two calls: start over once
            return self._aws("create_user", create)["User"]["Arn"], True
        return arn, False

    def _owned_user(self, request: RequestView, *, step: str) -> str | None:
        """The ARN of the request's user if it exists and carries this request's tags;
        None when it does not exist; a permanent error when someone else owns the name."""
        name = request.iam_user_name
        try:
            user = self._aws(step, lambda: self.iam.get_user(UserName=name))["User"]
            tags = self._aws(step, lambda: self.iam.list_user_tags(UserName=name))["Tags"]
        except ProvisioningError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        values = {tag["Key"]: tag["Value"] for tag in tags}
        if values.get(REQUEST_TAG) != str(request.id) or (
            values.get(SLACK_USER_TAG) != request.requester_id
        ):
            raise ProvisioningError(
                "EntityAlreadyExists",
                f"IAM user {name} already exists and was not created by this bot",
                permanent=True,
                step=step,
            )
        return user["Arn"]

    def _password_policy(self) -> PasswordPolicy:
        return self._cached("password_policy", self._fetch_password_policy)

    def _fetch_password_policy(self) -> PasswordPolicy:
        try:
            response = self._aws(
                "create_login_profile", lambda: self.iam.get_account_password_policy()
            )
        except ProvisioningError as exc:
            if exc.code == "NoSuchEntity":  # no custom policy: AWS's default applies
                return PasswordPolicy.from_aws(None)
            raise
        return PasswordPolicy.from_aws(response["PasswordPolicy"])

    def _set_password(self, request: RequestView, *, create: bool) -> str:
        """A fresh console password. A retry cannot know the password an earlier attempt
        set (it was only in memory), so an existing login profile gets a new one."""
        name = request.iam_user_name
        password = generate_password(self._password_policy(), choice=self.choice)
        if create and self._create_login_profile(name, password):
            return password
        update = lambda: self.iam.update_login_profile(  # noqa: E731
            UserName=name, Password=password, PasswordResetRequired=True
        )
        try:
            self._aws("create_login_profile", update)
        except ProvisioningError as exc:
            if exc.code != "NoSuchEntity" or create:
                raise
            if not self._create_login_profile(name, password):
                self._aws("create_login_profile", update)
        return password

    def _create_login_profile(self, name: str, password: str) -> bool:
        """CreateLoginProfile, sent once per attempt (`iam_once`). False when the user
        has a login profile already: an earlier attempt made it, or our own call whose
        answer was lost did; either way the caller sets the password with an update."""
        step = "create_login_profile"
        delays = self.step_backoff.delays()
        while True:
            try:
                self._once(
                    step,
                    lambda: self.iam_once.create_login_profile(
                        UserName=name, Password=password, PasswordResetRequired=True
                    ),
                )
                return True
            except ProvisioningError as exc:
                if exc.code == "EntityAlreadyExists":
                    return False
                delay = None if exc.permanent else next(delays, None)
                if delay is None:
                    raise
                log.warning(
                    "CreateLoginProfile's outcome is unknown; asking again",
                    extra={"iam_user": name, "error_code": exc.code, "delay": delay},
                )
                self.sleep(delay)

    def _console_url(self, user_arn: str) -> str:
        account = self._cached("account_alias", self._fetch_alias) or user_arn.split(":")[4]
        return f"https://{account}.signin.aws.amazon.com/console"

    def _fetch_alias(self) -> str | None:
        aliases = self._aws("console_url", lambda: self.iam.list_account_aliases())
        return (aliases.get("AccountAliases") or [None])[0]

    def _cached(self, key: str, fetch: Callable[[], T]) -> T:
        """Account-wide facts (password policy, alias) change rarely: ask IAM at most
        once per `account_cache_ttl` seconds, so a provisioning makes one call per step."""
        now = self.monotonic()
        hit = self._account_cache.get(key)
        if hit is not None and now - hit[0] < self.account_cache_ttl:
            return hit[1]
        value = fetch()
        self._account_cache[key] = (now, value)
        return value
