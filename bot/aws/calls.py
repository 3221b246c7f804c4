"""Calling AWS: which failures are worth another attempt, and the bounded backoff.

Every failure becomes a ProvisioningError carrying AWS's code and message (never the
request's parameters, which may hold a password); transient ones are retried first.
Transient means AWS said "slow down" (throttling) or "my fault" (5xx), or the network
failed (the connection could not be made, was closed, or timed out): each is reported
as what it is, by the class's name and a fixed sentence, never the SDK's text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from bot.aws.errors import AccountAccessError
from bot.domain.errors import ProvisioningError

log = logging.getLogger("bot.aws.iam")

T = TypeVar("T")

# Worth another attempt: AWS says "slow down" or "my fault".
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "PriorRequestNotComplete",
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

# The network failed: what to tell the owners, by the SDK's class. The SDK's own text
# is never used (some of it quotes the request). Checked in order: subclasses first.
NETWORK_ERRORS: tuple[tuple[str, str], ...] = (
    ("ConnectionClosedError", "connection to AWS closed before it answered"),
    ("ReadTimeoutError", "AWS did not answer in time (read timeout)"),
    ("ResponseStreamingError", "connection to AWS broke while reading its answer"),
    ("ConnectTimeoutError", "could not connect to AWS in time (connect timeout)"),
    ("EndpointConnectionError", "could not connect to the AWS endpoint"),
    ("ProxyConnectionError", "could not connect to AWS through the proxy"),
    ("SSLError", "TLS failed on the connection to AWS"),
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
NO_RETRY = Backoff(attempts=1, base=0.0, cap=0.0)


def error_of(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or "ClientError"), str(error.get("Message") or "")


def is_transient(exc: ClientError) -> bool:
    code, _ = error_of(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return code in TRANSIENT_CODES or status >= 500 or status == 429


def is_network_error(exc: BaseException) -> bool:
    return isinstance(exc, BotoConnectionError | HTTPClientError)


def network_error(exc: BotoCoreError) -> tuple[str, str]:
    """(class name, a fixed sentence) for a network failure."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, sentence in NETWORK_ERRORS:
        if name in names:
            return type(exc).__name__, sentence
    if isinstance(exc, HTTPClientError):
        return type(exc).__name__, "the HTTP exchange with AWS failed"
    return type(exc).__name__, "could not reach AWS"


def safe_message(exc: BotoCoreError) -> str:
    # Many SDK errors quote the request's parameters, which may hold a password: only
    # the credential/region errors (which quote nothing) keep their text.
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return str(exc)
    return "the AWS SDK refused the request"


def as_error(step: str, exc: Exception) -> ProvisioningError:
    """The ProvisioningError for one failed call: transient (retry it) or permanent."""
    if isinstance(exc, AccountAccessError):
        # Cannot work in the request's account (flow 7): its own one-line message.
        return ProvisioningError(exc.code, exc.message, permanent=exc.permanent, step=step)
    if isinstance(exc, ClientError):
        code, message = error_of(exc)
        return ProvisioningError(code, message, permanent=not is_transient(exc), step=step)
    if isinstance(exc, BotoCoreError) and is_network_error(exc):
        code, message = network_error(exc)
        return ProvisioningError(code, message, permanent=False, step=step)
    assert isinstance(exc, BotoCoreError)
    # Bad parameters, no credentials: needs a human.
    return ProvisioningError(type(exc).__name__, safe_message(exc), permanent=True, step=step)


def call_aws(
    step: str, call: Callable[[], T], backoff: Backoff, sleep: Callable[[float], None]
) -> T:
    """Run one AWS call; retry transient failures with `backoff`; turn every failure
    into a ProvisioningError (permanent ones at once, transient ones once retries run out)."""
    delays = backoff.delays()
    while True:
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            error = as_error(step, exc)
        if error.permanent:
            raise error from None
        delay = next(delays, None)
        if delay is None:
            raise error from None
        log.warning(
            "AWS call failed, retrying",
            extra={"step": step, "error_code": error.code, "delay": delay},
        )
        sleep(delay)


class IamCalls:
    """How the provisioner's steps call IAM. `iam` is the client with botocore's
    retries, for calls that are safe to send twice; `iam_once` has retries off, for the
    two that are not (CreateAccessKey, CreateLoginProfile): a lost answer must reach the
    step, which finds out what happened before it sends the call again."""

    iam: Any
    iam_once: Any
    sleep: Callable[[float], None]
    step_backoff: Backoff

    def _aws(self, step: str, call: Callable[[], T]) -> T:
        """One call that may be repeated, transient failures retried with backoff."""
        return call_aws(step, call, self.step_backoff, self.sleep)

    def _once(self, step: str, call: Callable[[], T]) -> T:
        """One call sent exactly once: the caller reconciles after a transient failure."""
        return call_aws(step, call, NO_RETRY, self.sleep)

    def _tolerate(self, code: str, step: str, call: Callable[[], T]) -> T | None:
        """Run `call`; an error with `code` means the work is already done."""
        try:
            return self._aws(step, call)
        except ProvisioningError as exc:
            if exc.code != code:
                raise
            return None
