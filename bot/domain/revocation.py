"""Taking access back (flow 6): why a grant is revoked, what revoking does in IAM, and
what came of it. Pure values; the use case is bot/services/revoke.py, the IAM steps
bot/aws/revoke.py (docs/architecture.md, flow 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.domain.states import Status

if TYPE_CHECKING:  # bot.domain.config imports the modes from here: no cycle at run time
    from bot.domain.requests import RequestView
    from bot.domain.storage import Lease, LockRefusal


# The states a grant can be revoked from: provisioned, or a revoke that stopped half-way
# (it is resumed). The authorization table (bot/domain/policy.py) allows REVOKE in these.
REVOCABLE = (Status.PROVISIONED, Status.REVOKING)


class RevokeCause(StrEnum):
    """Who or what asked for the revoke. OWNER is checked against the authorization
    table; the others are the bot's own decisions (the role check is skipped)."""

    OWNER = "owner"  # Slack: /revoke-aws-access, the Revoke button, App Home
    CLI = "cli"  # aws-access-bot revoke (whoever runs the terminal is trusted)
    DEACTIVATION = "deactivation"  # the member was deactivated in Slack
    EXPIRY = "expiry"  # the profile's max_duration ran out
    REVIEW = "review"  # an access review decided to revoke

    @property
    def automatic(self) -> bool:
        return self in (RevokeCause.DEACTIVATION, RevokeCause.EXPIRY, RevokeCause.REVIEW)


class RevokeMode(StrEnum):
    """`[offboarding] mode`: what revoking does to the IAM user."""

    # Login profile deleted, keys deactivated, groups and policies removed; the user stays.
    DISABLE = "disable"
    # Everything attached removed in the order IAM requires, then DeleteUser.
    DELETE = "delete"


class OnDeactivation(StrEnum):
    """`[offboarding] on_deactivation`: what a Slack deactivation does to the member's
    active grants."""

    REVOKE = "revoke"  # every active grant is revoked with `mode`
    NOTIFY = "notify"  # the owners are told; nothing is revoked


@dataclass(frozen=True)
class RevokeOutcome:
    """What a revoke led to. `done` is True when the request is revoked (now or
    already); `message` is safe to show anyone who may ask (no secret)."""

    request: RequestView | None
    done: bool
    message: str


@dataclass(frozen=True)
class RevokePlan:
    """What revoking an IAM user will remove (the owners' confirm modal)."""

    user_name: str
    exists: bool = True
    groups: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # attached managed policy ARNs
    inline_policies: tuple[str, ...] = ()
    access_keys: tuple[str, ...] = ()  # key ids (not secret)
    console: bool = False  # a login profile exists
    mfa_devices: tuple[str, ...] = ()
    other: tuple[str, ...] = field(default=())  # certificates, SSH keys, service creds


class RevokeRefused(Exception):
    """The IAM user is not one the bot made for this request: nothing was touched."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- ports -----------------------------------------------------------------------


class Revoker(Protocol):
    """Takes an IAM user back (bot/aws/revoke.py). Both methods raise RevokeRefused,
    touching nothing, when the user is not the one the bot made for this request, and
    ProvisioningError (AWS's code, transient or permanent) when AWS fails."""

    def owned(self, request: RequestView) -> bool:
        """True when the request's IAM user exists and is the bot's for this request,
        False when it no longer exists (read only)."""
        ...

    def plan(self, request: RequestView) -> RevokePlan:
        """What revoking would remove (read only)."""
        ...

    def revoke(self, request: RequestView, mode: RevokeMode) -> None:
        """Every step tolerates having been done already, so a retry finishes the job."""
        ...


class RevocationStore(Protocol):
    """`provisioned -> revoking -> revoked` under the revoke lock (bot/store/revocations.py)."""

    def begin_revoke(
        self,
        request_id: int,
        *,
        actor: str,
        reason: str,
        cause: RevokeCause,
        mode: RevokeMode,
        now: datetime,
        until: datetime,
    ) -> Lease | LockRefusal:
        """`provisioned -> revoking` (who, why, cause and mode recorded), or a failed
        `revoking` one taken again; the revoke lock held until `until`."""
        ...

    def resume_revoke(self, request_id: int, *, now: datetime, until: datetime) -> Lease | None:
        """Take a `revoking` row nobody holds (its process died, or it failed and is due)."""
        ...

    def stale_revoking(self, now: datetime) -> list[int]:
        """`revoking` rows with no live lock that are due for another attempt."""
        ...

    def finish_revoke(self, lease: Lease, *, now: datetime) -> RequestView | None:
        """`revoking -> revoked`, unopened links voided, lock released; None when the
        lock was lost."""
        ...

    def revoke_failed(
        self,
        lease: Lease,
        *,
        code: str,
        message: str,
        retry_at: datetime | None,
        now: datetime,
    ) -> RequestView | None:
        """Still `revoking`: lock released, AWS's error kept for the owners, retried by
        the recovery sweep from `retry_at` (None: only when someone asks again)."""
        ...

    def record_refusal(
        self, request_id: int, *, actor: str, cause: RevokeCause, message: str, now: datetime
    ) -> None:
        """Audit a revoke that was refused (the IAM user is not the bot's)."""
        ...
