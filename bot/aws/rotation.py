"""Key rotation's IAM calls (flow 6): a new access key next to the old one, whether a
key has been used, deactivating and deleting the old one. Implements the KeyRotator
port (bot/domain/ports.py) over an injected boto3 IAM client; `AccountKeyRotators`
routes each request to its own account's client (flow 7).

Only the user the bot made for the request is touched: every call first checks the
user's path and its request and Slack-user tags (as provisioning sets them), and
refuses anything else with a permanent error, touching nothing.

The new key is not tried with STS, as provisioning does: IAM records any signed call
in GetAccessKeyLastUsed, the bot's own check included, and "the new key has been
used" is what lets the old one go. The old key stays active meanwhile, so a key still
propagating through IAM harms no one. Its secret lives in local variables and the
returned Credentials only, never in a log line or an exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.aws.calls import STEP_BACKOFF, Backoff
from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.aws.keys import AccessKeySteps
from bot.domain.config import AwsConfig
from bot.domain.credentials import Credentials
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView

log = logging.getLogger("bot.aws.iam")

STEP = "rotate_access_key"


class IamKeyRotator(AccessKeySteps):
    """The KeyRotator port in one account: `iam` with botocore's retries, `iam_once`
    (default: `iam`) with them off, for CreateAccessKey (not idempotent; bot/aws/keys.py
    reconciles after an ambiguous failure)."""

    def __init__(
        self,
        iam: Any,
        config: AwsConfig,
        *,
        iam_once: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        step_backoff: Backoff = STEP_BACKOFF,
    ) -> None:
        self.iam = iam
        self.iam_once = iam if iam_once is None else iam_once
        self.config = config
        self.sleep = sleep
        self.step_backoff = step_backoff

    def create_key(self, request: RequestView, *, keep: str) -> Credentials:
        name = self._owned(request)
        # IAM allows two keys: make room, keeping the old key (the requester's, until
        # the new one is used). Any other key is a stray whose secret nobody holds.
        self._delete_keys(name, keep=(keep,), step=STEP)
        key_id, secret = self._create_key(name, frozenset({keep}))
        log.info(
            "made a new access key for a rotation",
            extra={"request_id": request.id, "iam_user": name, "access_key_id": key_id},
        )
        return Credentials(
            user_name=name, console_url="", access_key_id=key_id, secret_access_key=secret
        )

    def key_last_used(self, request: RequestView, key_id: str) -> datetime | None:
        name = self._owned(request)
        self._require_key(name, key_id)
        found = self._aws(STEP, lambda: self.iam.get_access_key_last_used(AccessKeyId=key_id))
        used = found.get("AccessKeyLastUsed") or {}
        when = used.get("LastUsedDate")
        return when if isinstance(when, datetime) else None

    def deactivate_key(self, request: RequestView, key_id: str) -> bool:
        name = self._owned(request)
        done = self._tolerate(
            "NoSuchEntity",
            STEP,
            lambda: self.iam.update_access_key(
                UserName=name, AccessKeyId=key_id, Status="Inactive"
            ),
        )
        log.info(
            "deactivated the old access key" if done is not None else "old access key is gone",
            extra={"request_id": request.id, "iam_user": name, "access_key_id": key_id},
        )
        return done is not None

    def delete_key(self, request: RequestView, key_id: str) -> bool:
        name = self._owned(request)
        done = self._tolerate(
            "NoSuchEntity",
            STEP,
            lambda: self.iam.delete_access_key(UserName=name, AccessKeyId=key_id),
        )
        log.info(
            "deleted an access key" if done is not None else "access key was already gone",
            extra={"request_id": request.id, "iam_user": name, "access_key_id": key_id},
        )
        return done is not None

    # --- helpers -------------------------------------------------------------------

    def _owned(self, request: RequestView) -> str:
        """The request's user name, once IAM shows it is the bot's user for this request
        (its path and both tags); a permanent ProvisioningError otherwise."""
        name = request.iam_user_name
        user = self._aws(STEP, lambda: self.iam.get_user(UserName=name))["User"]
        tags = self._aws(STEP, lambda: self.iam.list_user_tags(UserName=name))["Tags"]
        values = {tag["Key"]: tag["Value"] for tag in tags}
        if (
            user.get("Path") != self.config.iam_path
            or values.get(REQUEST_TAG) != str(request.id)
            or values.get(SLACK_USER_TAG) != request.requester_id
        ):
            raise ProvisioningError(
                "NotOurUser",
                f"IAM user {name} was not created by this bot for request #{request.id}: "
                "its keys are left alone",
                permanent=True,
                step=STEP,
            )
        return name

    def _require_key(self, name: str, key_id: str) -> None:
        """GetAccessKeyLastUsed answers for any key id in the account: ask only about
        keys of this user."""
        if key_id not in {key["AccessKeyId"] for key in self._list_keys(name, STEP)}:
            raise ProvisioningError(
                "NoSuchEntity",
                f"access key {key_id} of IAM user {name} does not exist",
                permanent=True,
                step=STEP,
            )


class AccountKeyRotators:
    """The KeyRotator port over every account: each request's keys are handled in its own
    (frozen) account, by a rotator made once per account with `build(account)`."""

    def __init__(self, build: Callable[[str], IamKeyRotator]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._rotators: dict[str, IamKeyRotator] = {}

    def for_account(self, name: str) -> IamKeyRotator:
        with self._lock:
            rotator = self._rotators.get(name)
            if rotator is None:
                rotator = self._rotators[name] = self._build(name)
            return rotator

    def create_key(self, request: RequestView, *, keep: str) -> Credentials:
        return self.for_account(request.account).create_key(request, keep=keep)

    def key_last_used(self, request: RequestView, key_id: str) -> datetime | None:
        return self.for_account(request.account).key_last_used(request, key_id)

    def deactivate_key(self, request: RequestView, key_id: str) -> bool:
        return self.for_account(request.account).deactivate_key(request, key_id)

    def delete_key(self, request: RequestView, key_id: str) -> bool:
        return self.for_account(request.account).delete_key(request, key_id)
