"""Time-bound access (flow 6): how long a grant lasts, when its requester is warned,
and what an extension does. Pure rules; the sweeps are bot/services/time_bound.py.

- A profile's `max_duration` is frozen into each request; the request form asks for a
  duration up to it (empty: all of it). The clock starts at provisioning:
  `access_expires_at = provisioned_at + requested duration`.
- Warnings: a day and an hour before the end, each only when it falls in the second
  half of the grant; a grant too short for either gets one warning at 80% of it.
- An owner's Extend moves the end to `max(current end, now + max_duration)`.
- An approved extension request (made with **Request extension**) moves the end of the
  grant it extends to `max(current end, approval + its requested duration)`; no new
  IAM user or credentials are made and the extension request is closed as `extended`.
- At the end the grant is revoked (cause EXPIRY) with `[offboarding] mode`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.requests import RequestView
from bot.domain.storage import Lease

# The warnings before the end, longest lead first.
WARNING_LEADS = (timedelta(days=1), timedelta(hours=1))
# A grant too short for any lead is warned once, at this share of its length.
SHORT_GRANT_SHARE = 0.8
# How long the expiry sweep's claim on a grant lasts: a revoke that was refused (the IAM
# user is not the bot's) is tried, and the owners told, again after this long.
EXPIRY_RETRY = timedelta(days=1)

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta | None:
    """`30s`, `15m`, `4h`, `7d` (case and surrounding spaces ignored) -> timedelta;
    None for anything else, zero included."""
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: 30d, 4h, 15m, 90s."""
    seconds = int(delta.total_seconds())
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


def describe(delta: timedelta) -> str:
    """Human words for a remaining time: "1 day", "3 hours", "45 minutes", "5 seconds"."""
    seconds = max(0, round(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def duration_problem(text: str, maximum: timedelta) -> str | None:
    """What is wrong with a duration typed into the request form (None: fine; empty
    means the maximum)."""
    if not text.strip():
        return None
    wanted = parse_duration(text)
    if wanted is None:
        return "Write a duration like 8h or 3d (a number and s, m, h or d)."
    if wanted > maximum:
        return f"At most {format_duration(maximum)} for this profile."
    return None


def requested_duration(text: str, maximum: timedelta | None) -> timedelta | None:
    """The duration a valid form asks for: None for a profile without max_duration,
    the maximum when the field is empty."""
    if maximum is None:
        return None
    return parse_duration(text) or maximum if text.strip() else maximum


def warning_times(expires_at: datetime, term: timedelta) -> list[datetime]:
    """When the requester of a grant ending at `expires_at` after a term of `term` is
    warned, earliest first."""
    leads = [lead for lead in WARNING_LEADS if lead <= term / 2]
    if not leads:
        leads = [term * (1 - SHORT_GRANT_SHARE)]
    return sorted(expires_at - lead for lead in leads)


def next_warning(expires_at: datetime, term: timedelta, after: datetime) -> datetime | None:
    """The first warning strictly after `after` (None: no more). A bot that was down
    sends the latest warning that is due, once, not every one it missed."""
    upcoming = [at for at in warning_times(expires_at, term) if at > after and at < expires_at]
    return upcoming[0] if upcoming else None


def first_warning(expires_at: datetime, term: timedelta, start: datetime) -> datetime | None:
    """The grant's first warning, given it started at `start`."""
    times = [at for at in warning_times(expires_at, term) if start <= at < expires_at]
    return times[0] if times else None


def owner_extension_end(current_end: datetime, now: datetime, max_duration: timedelta) -> datetime:
    """An owner's Extend: a full `max_duration` from now, never earlier than it was."""
    return max(current_end, now + max_duration)


def requested_extension_end(current_end: datetime, now: datetime, wanted: timedelta) -> datetime:
    """An approved extension request: its duration from approval, never shorter."""
    return max(current_end, now + wanted)


# --- the store port (bot/store/time_bound.py) -------------------------------------------


class TimeBoundStore(Protocol):
    """The time-bound sweeps' reads and claims; each claim is a compare-and-set, so
    replicas never warn, extend or revoke the same grant twice."""

    def due_warnings(self, now: datetime, *, limit: int) -> list[tuple[int, datetime]]:
        """(request id, warning due at) of provisioned grants whose next warning is due."""
        ...

    def claim_warning(
        self, request_id: int, *, seen: datetime, now: datetime
    ) -> RequestView | None:
        """Take the due warning (its next one scheduled, audited `expiry_warned`); None
        when another sweep took it or the grant ended meanwhile."""
        ...

    def due_expiries(self, now: datetime, *, limit: int) -> list[int]:
        """Provisioned grants past their end that no sweep holds."""
        ...

    def claim_expiry(self, request_id: int, *, now: datetime, until: datetime) -> bool:
        """Hold an ended grant for its revoke until `until` (one sweep wins)."""
        ...

    def retry_expiry(self, request_id: int, *, at: datetime) -> bool:
        """Hold an ended grant's claim only until `at` (its revoke raised)."""
        ...

    def extend(
        self,
        request_id: int,
        *,
        seen_end: datetime,
        new_end: datetime,
        actor: str,
        now: datetime,
        **detail: Any,
    ) -> RequestView | None:
        """Move a provisioned grant's end from `seen_end` to `new_end` (warnings start
        over; audited `extended`); None when it changed meanwhile."""
        ...

    def apply_extension(self, lease: Lease, *, now: datetime) -> RequestView | None:
        """`provisioning -> extended` for an approved extension request, with the end of
        the grant it extends moved, in one transaction; None (nothing written) when that
        grant is no longer provisioned and time-bound, or the lease was lost."""
        ...
