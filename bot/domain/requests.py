"""A read-only snapshot of a request, handed from the store to services, the Notifier
and the Block Kit builders. No session-bound object ever leaves a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.config import DEFAULT_ACCOUNT
from bot.domain.states import Status


@dataclass(frozen=True)
class RequestView:
    id: int
    requester_id: str
    profile: str
    iam_user_name: str
    console: bool
    programmatic: bool
    reason: str
    status: Status
    created_at: datetime
    approvers: tuple[str, ...] = ()
    # The frozen rules (bot/domain/rules.py). `approvals_required` is the frozen value
    # until a service applies the current config (rules.under_current_config).
    approvals_required: int = 1
    groups: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    account: str = DEFAULT_ACCOUNT
    permissions_boundary: str = ""
    max_duration: timedelta | None = None
    # False for a request stored before rules were frozen whose profile had already
    # left the config: nothing is known of its rules, so it can never be approved.
    rules_frozen: bool = True
    # Set by services from the current config: False once the profile was removed.
    profile_available: bool = True
    decided_at: datetime | None = None
    decided_by: str | None = None
    deny_reason: str | None = None
    last_error: str | None = None
    reminder_count: int = 0
    approval_channel: str | None = None
    approval_ts: str | None = None
    requester_dm_channel: str | None = None
    requester_dm_ts: str | None = None
    provisioned_at: datetime | None = None
    # Taking access back (flow 6): who asked, why, what set it off (RevokeCause), what
    # it does (RevokeMode), and when it finished (None while revoking).
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    revoke_cause: str | None = None
    revoke_mode: str | None = None
    # Time-bound access (flow 6, bot/domain/time_bound.py): the grant's length (asked
    # for in the form), when it ends (None: not provisioned, or not time-bound), how
    # many expiry warnings were sent, and the grant an extension request extends.
    access_duration: timedelta | None = None
    access_expires_at: datetime | None = None
    expiry_warnings: int = 0
    extends_request_id: int | None = None


@dataclass(frozen=True)
class MessageRef:
    """Where a Slack message lives, so it can be updated or replied to."""

    channel: str
    ts: str
