"""Reminder and expiry rules (flow 5), as pure functions of time and settings.

The sweeps read these to decide who is due; the store turns the same cut-offs into
index range conditions, so "due" means the same thing in SQL and in tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.config import Reminders

# From the fourth reminder on, owners who have not decided are also DMed.
ESCALATE_AFTER = 3

# Scheduler runs drift by milliseconds (dispatch delay). Without some slack a request
# reminded at 09:00:00.004 would not be due at 13:00:00.002 and would wait a whole
# extra period. The grace is tiny next to the period and caps at one minute.
_GRACE_FRACTION = 20
_GRACE_CAP = timedelta(minutes=1)


def period_grace(every: timedelta) -> timedelta:
    return min(every / _GRACE_FRACTION, _GRACE_CAP)


@dataclass(frozen=True)
class ReminderWindow:
    """Pending requests created in (`created_after`, `created_before`] and last reminded
    at or before `reminded_before` (or never) are due for a reminder at `now`."""

    now: datetime
    created_before: datetime
    created_after: datetime
    reminded_before: datetime


def reminder_window(now: datetime, policy: Reminders) -> ReminderWindow:
    # Requests past expire_after are left to the expiry sweep: no reminder right before
    # "this expired".
    return ReminderWindow(
        now=now,
        created_before=now - policy.remind_after,
        created_after=now - policy.expire_after,
        reminded_before=now - policy.every + period_grace(policy.every),
    )


def reminder_due(
    *,
    created_at: datetime,
    last_reminded_at: datetime | None,
    now: datetime,
    policy: Reminders,
) -> bool:
    window = reminder_window(now, policy)
    return window.created_after < created_at <= window.created_before and (
        last_reminded_at is None or last_reminded_at <= window.reminded_before
    )


def expiry_cutoff(now: datetime, policy: Reminders) -> datetime:
    """Pending requests created at or before this instant have expired."""
    return now - policy.expire_after


def is_expired(*, created_at: datetime, now: datetime, policy: Reminders) -> bool:
    return created_at <= expiry_cutoff(now, policy)


def owners_to_nudge(
    owners: Iterable[str], approvers: Iterable[str], requester_id: str
) -> tuple[str, ...]:
    """Owners who can still decide: not the requester, not already approved. Config order."""
    done = set(approvers) | {requester_id}
    return tuple(owner for owner in owners if owner not in done)


def escalates(reminder_number: int) -> bool:
    """Reminder number `n` (1-based) also DMs the owners."""
    return reminder_number > ESCALATE_AFTER


def wait_text(since: datetime, now: datetime) -> str:
    """How long something has waited, coarse and human: 45s, 12m, 3h, 2d 4h."""
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    if days:
        hours = rest // 3600
        return f"{days}d {hours}h" if hours else f"{days}d"
    for suffix, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"
