"""Calling AWS: which failures are worth another attempt, and the bounded backoff.

Every failure becomes a ProvisioningError carrying AWS's code and message (never the
request's parameters, which may hold a password); transient ones are retried first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from bot.domain.errors import ProvisioningError

log = logging.getLogger("bot.aws.iam")

T = TypeVar("T")

# Worth another attempt: AWS says "slow down" or "my fault", or the network failed.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "ServiceFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConcurrentModification",
    }
)


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries with exponentially growing pauses between them (capped)."""

    attempts: int
    base: float
    cap: float

    def delays(self) -> Iterator[float]:
        for i in range(self.attempts - 1):
            yield min(self.cap, self.base * 2**i)

    @property
    def total(self) -> float:
        return sum(self.delays())


# Our own step retries on top of botocore's `standard` retry mode.
STEP_BACKOFF = Backoff(attempts=4, base=1.0, cap=8.0)
# A new key usually works within seconds; give IAM about a minute before giving up.
KEY_BACKOFF = Backoff(attempts=8, base=1.0, cap=16.0)


def error_of(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or "ClientError"), str(error.get("Message") or "")


def is_transient(exc: ClientError) -> bool:
    code, _ = error_of(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return code in TRANSIENT_CODES or status >= 500


def safe_message(exc: BotoCoreError) -> str:
    # Many SDK errors quote the request's parameters, which may hold a password: only
    # the credential/region errors (which quote nothing) keep their text.
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return str(exc)
    return "the AWS SDK refused the request"


NO_RETRY = Backoff(attempts=1, base=0.0, cap=0.0)


def call_aws(
    step: str, call: Callable[[], T], backoff: Backoff, sleep: Callable[[float], None]
) -> T:
    """Run one AWS call; retry transient failures with `backoff`; turn every failure
    into a ProvisioningError (permanent ones at once, transient ones once retries run out)."""
    delays = backoff.delays()
    while True:
        try:
            return call()
        except ClientError as exc:
            code, message = error_of(exc)
            if not is_transient(exc):
                raise ProvisioningError(code, message, permanent=True, step=step) from None
        except BotoConnectionError as exc:
            code, message = type(exc).__name__, "could not reach AWS IAM"
        except BotoCoreError as exc:  # bad parameters, no credentials: needs a human
            raise ProvisioningError(
                type(exc).__name__, safe_message(exc), permanent=True, step=step
            ) from None
        delay = next(delays, None)
        if delay is None:
            raise ProvisioningError(code, message, permanent=False, step=step)
        log.warning(
            "AWS call failed, retrying",
            extra={"step": step, "error_code": code, "delay": delay},
        )
        sleep(delay)
