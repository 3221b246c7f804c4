"""Access keys of the provisioner's users: create one exactly once, check it works,
leave no other key behind.

CreateAccessKey is not idempotent: sent twice, it makes two keys, and the one whose
answer was lost is an orphan nobody holds. So it goes through `iam_once` (botocore's
retries off) and never through the step retries. After an ambiguous failure (the
connection closed or timed out, a 5xx, a throttle) the step reconciles before it sends
the call again: it lists the user's keys, keeps the ones known before the call (the key
recorded for the request, if any) and deletes every other one, then creates once more.
Once the new key works, every other key is deleted, for a user made just now too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.calls import Backoff, IamCalls, as_error, error_of, is_transient
from bot.domain.errors import ProvisioningError

log = logging.getLogger("bot.aws.iam")

StsFactory = Callable[[str, str], Any]

# What STS answers for a key that IAM has created but not yet propagated.
KEY_NOT_YET_VALID = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"}
)
STEP = "create_access_key"


class AccessKeySteps(IamCalls):
    sts_for: StsFactory
    key_backoff: Backoff

    def _list_keys(self, name: str, step: str = STEP) -> list[dict[str, Any]]:
        # A user has at most two keys: no pagination needed.
        response = self._aws(step, lambda: self.iam.list_access_keys(UserName=name))
        return list(response["AccessKeyMetadata"])

    def _delete_key(self, name: str, key_id: str, step: str = STEP) -> None:
        self._tolerate(
            "NoSuchEntity",
            step,
            lambda: self.iam.delete_access_key(UserName=name, AccessKeyId=key_id),
        )

    def _delete_keys(self, name: str, *, keep: Iterable[str] = (), step: str = STEP) -> None:
        kept = set(keep)
        for key in self._list_keys(name, step):
            if key["AccessKeyId"] not in kept:
                log.info(
                    "deleting an access key (old, or a stray nobody holds)",
                    extra={"iam_user": name, "access_key_id": key["AccessKeyId"]},
                )
                self._delete_key(name, key["AccessKeyId"], step)

    def _new_verified_key(self, name: str, *, known: Iterable[str] = ()) -> tuple[str, str]:
        """A new key that works, and no other key but it (the `known` keys too are
        deleted once it works). If anything fails after the key was made, the key is
        deleted again: its secret would die with this attempt."""
        key_id, secret = self._create_key(name, frozenset(known))
        try:
            self._wait_until_key_works(name, key_id, secret)
            self._delete_keys(name, keep=(key_id,))
        except ProvisioningError:
            self._discard_key(name, key_id)
            raise
        return key_id, secret

    def _create_key(self, name: str, known: frozenset[str]) -> tuple[str, str]:
        """CreateAccessKey, sent once per attempt; an ambiguous failure is reconciled
        (strays deleted) before the next attempt and before giving up."""
        delays = self.step_backoff.delays()
        while True:
            try:
                created = self._once(STEP, lambda: self.iam_once.create_access_key(UserName=name))
            except ProvisioningError as exc:
                if exc.permanent:  # AWS refused: nothing was made
                    raise
                failure = exc
            else:
                key = created["AccessKey"]
                return key["AccessKeyId"], key["SecretAccessKey"]
            delay = next(delays, None)
            log.warning(
                "CreateAccessKey's outcome is unknown; deleting any key it may have made",
                extra={"iam_user": name, "error_code": failure.code, "delay": delay},
            )
            if delay is not None:
                self.sleep(delay)  # let IAM settle, so the list below shows the key
            try:
                self._delete_keys(name, keep=known)
            except ProvisioningError:
                if delay is None:
                    raise failure from None
                raise
            if delay is None:
                raise failure

    def _discard_key(self, name: str, key_id: str) -> None:
        try:
            self._delete_key(name, key_id)
        except ProvisioningError as exc:
            # Retry and Roll back delete every key of the user: it goes then.
            log.warning(
                "could not delete the unused access key",
                extra={"iam_user": name, "access_key_id": key_id, "error_code": exc.code},
            )

    def _wait_until_key_works(self, name: str, key_id: str, secret: str) -> None:
        """IAM is eventually consistent: poll sts:GetCallerIdentity with the new key,
        backing off exponentially, and give up after `key_backoff.attempts` tries."""
        step = "verify_access_key"
        sts = self.sts_for(key_id, secret)
        delays = self.key_backoff.delays()
        attempts = 0
        while True:
            attempts += 1
            try:
                identity = sts.get_caller_identity()
            except ClientError as exc:
                code, _ = error_of(exc)
                if code not in KEY_NOT_YET_VALID and not is_transient(exc):
                    raise as_error(step, exc) from None
                last = None if code in KEY_NOT_YET_VALID else as_error(step, exc)
            except BotoCoreError as exc:
                last = as_error(step, exc)
                if last.permanent:
                    raise last from None
                code = last.code
            else:
                if not str(identity.get("Arn", "")).endswith(f"/{name}"):
                    raise ProvisioningError(
                        "IdentityMismatch",
                        f"the new access key {key_id} does not identify as IAM user {name}",
                        permanent=True,
                        step=step,
                    )
                return
            delay = next(delays, None)
            if delay is None:
                if last is not None:  # STS itself failed (network, 5xx): worth a Retry
                    raise last from None
                raise ProvisioningError(
                    "AccessKeyNotActive",
                    f"STS still refused the new access key {key_id} of {name} ({code}) "
                    f"after {attempts} attempts over {self.key_backoff.total:g}s",
                    permanent=True,
                    step=step,
                )
            log.info(
                "new access key not active yet, waiting",
                extra={"access_key_id": key_id, "error_code": code, "delay": delay},
            )
            self.sleep(delay)
