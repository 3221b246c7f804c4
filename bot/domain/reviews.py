"""Access reviews: every `[reviews] every`, each account's owners look at the access its
members hold and keep or revoke each grant; what nobody decided by `[reviews] deadline`
is handled per `[reviews] unreviewed` (docs/architecture.md, "Access reviews").

Pure values, timing rules, the events the use case tells its notifier, the IAM port
that reads when a grant was last used, and the report `aws-access-bot audit --review ID`
prints. The use case is bot/services/reviews.py; the store bot/store/reviews.py; the
IAM reads bot/aws/usage.py; the Slack message bot/slack/surfaces/review_message.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.config import ReviewsConfig
from bot.domain.requests import MessageRef, RequestView

# Who the audit log names for what the review decides by itself (the deadline policy).
REVIEW_BOT = "aws-access-bot"

# Reminders go out at the sweep's cadence, but never more often than this (or than a
# quarter of the deadline, for a short one), so owners are nudged, not spammed.
REMIND_AT_MOST_EVERY = timedelta(days=1)

# How many grants one Slack message lists (Block Kit allows 50 blocks per message;
# each grant takes two).
ITEMS_PER_MESSAGE = 20

# Audit event kinds (one per outcome; docs/audit.md).
REVIEW_OPENED = "review_opened"
REVIEW_KEPT = "review_kept"
REVIEW_REVOKED = "review_revoked"
REVIEW_CLOSED = "review_closed"
REVIEW_KINDS = (REVIEW_OPENED, REVIEW_KEPT, REVIEW_REVOKED, REVIEW_CLOSED)


class ReviewStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Decision(StrEnum):
    """What became of one grant in a review."""

    KEEP = "keep"
    REVOKE = "revoke"
    # The grant ended some other way while the review was open (revoked, rolled back).
    GONE = "gone"


@dataclass(frozen=True)
class GrantUsage:
    """When an IAM user last used its access (None: never, or not known)."""

    last_key_use: datetime | None = None
    last_console_use: datetime | None = None
    # False when IAM could not be asked (the report and the message say "unknown").
    known: bool = True


@dataclass(frozen=True)
class ReviewItem:
    """One grant under review: a snapshot of the request when the review opened, how it
    was used, and what was decided."""

    id: int
    review_id: int
    request_id: int
    requester_id: str
    profile: str
    iam_user_name: str
    granted_at: datetime | None
    usage: GrantUsage | None = None  # None until IAM was asked
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    automatic: bool = False  # decided by the deadline policy, not by an owner
    message: MessageRef | None = None


@dataclass(frozen=True)
class Review:
    id: int
    account: str
    period_start: datetime
    opened_at: datetime
    deadline_at: datetime
    status: ReviewStatus
    channel: str
    message: MessageRef | None = None  # the first message: reminders reply in its thread
    reminder_count: int = 0
    last_reminded_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ReviewState:
    """A review and its items, in the order they are listed."""

    review: Review
    items: tuple[ReviewItem, ...]

    @property
    def undecided(self) -> tuple[ReviewItem, ...]:
        return tuple(item for item in self.items if item.decision is None)

    def count(self, decision: Decision) -> int:
        return sum(1 for item in self.items if item.decision is decision)


# --- timing --------------------------------------------------------------------------

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the review period `now` is in. Periods are fixed slices of time of
    length `every`, the same for every replica, so two replicas opening "this period's"
    review name the same one (and the store's unique key lets only one in)."""
    index = (now - _EPOCH) // every
    return _EPOCH + index * every


def reminder_interval(reviews: ReviewsConfig, sweep_every: timedelta) -> timedelta:
    """How long after the last reminder (or the opening) the next one is due: the sweep
    cadence, but at most once a day (at most four per deadline for a short one)."""
    return max(sweep_every, min(REMIND_AT_MOST_EVERY, reviews.deadline / 4))


def pages_of(items: Sequence[ReviewItem]) -> tuple[tuple[ReviewItem, ...], ...]:
    """`items` split into the pages of at most ITEMS_PER_MESSAGE that one message lists."""
    return tuple(
        tuple(items[i : i + ITEMS_PER_MESSAGE]) for i in range(0, len(items), ITEMS_PER_MESSAGE)
    )


def reopen_too_soon(last_opened: datetime | None, now: datetime, every: timedelta) -> bool:
    """A review opened less than half a period ago (reviews were switched on late in
    the previous period): this period's waits for the next one."""
    return last_opened is not None and now - last_opened < every / 2


def reminder_due(review: Review, now: datetime, interval: timedelta) -> bool:
    if review.status is not ReviewStatus.OPEN or now >= review.deadline_at:
        return False
    last = review.last_reminded_at or review.opened_at
    return now - last >= interval


# --- events (the review notifier renders them: bot/slack/review_notifier.py) -----------


@dataclass(frozen=True)
class ReviewPosted:
    """Post the grants not posted yet, one message per page, to the account's owners;
    the notifier returns one message ref per page posted, in order."""

    state: ReviewState
    pages: tuple[tuple[ReviewItem, ...], ...]
    owners: tuple[str, ...]


@dataclass(frozen=True)
class ReviewChanged:
    """Re-render the message page that lists `page` (after a decision)."""

    state: ReviewState
    page: tuple[ReviewItem, ...]


@dataclass(frozen=True)
class ReviewReminder:
    """Remind the owners of the grants still undecided (a reply in the review's thread)."""

    state: ReviewState
    owners: tuple[str, ...]
    number: int


@dataclass(frozen=True)
class ReviewClosed:
    """The deadline passed (or every grant was decided): the outcome, in the thread."""

    state: ReviewState
    unreviewed: str  # the policy applied to what nobody decided


ReviewEvent = ReviewPosted | ReviewChanged | ReviewReminder | ReviewClosed


class ReviewNotifier(Protocol):
    def notify(self, event: ReviewEvent) -> list[MessageRef] | None:
        """Tell the owners; for ReviewPosted, where each page was posted (None or a
        shorter list: Slack refused, the sweep tries again)."""
        ...


# --- ports -----------------------------------------------------------------------


class UsageReader(Protocol):
    """When a grant's IAM user last used its access (bot/aws/usage.py): the last use of
    any of its access keys (GetAccessKeyLastUsed) and the last console sign-in
    (GetUser's PasswordLastUsed). Never raises: `known=False` when IAM cannot say."""

    def usage(self, request: RequestView) -> GrantUsage: ...


# --- the report (`aws-access-bot audit --review ID`) --------------------------------


@dataclass(frozen=True)
class ReviewAuditLine:
    time: datetime
    actor: str
    kind: str
    request_id: int | None
    detail: str


def _when(value: datetime | None, never: str = "never") -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else never


def usage_text(usage: GrantUsage | None) -> tuple[str, str]:
    """(last key use, last console sign-in) as shown to people."""
    if usage is None or not usage.known:
        return "unknown", "unknown"
    return _when(usage.last_key_use), _when(usage.last_console_use)


def decision_text(item: ReviewItem) -> str:
    if item.decision is None:
        return "undecided"
    if item.decision is Decision.GONE:
        return "access ended otherwise"
    verb = "kept" if item.decision is Decision.KEEP else "revoked"
    who = "deadline policy" if item.automatic else item.decided_by or "?"
    return f"{verb} by {who} at {_when(item.decided_at)}"


def render_report(
    state: ReviewState, trail: Sequence[ReviewAuditLine], statuses: dict[int, str]
) -> str:
    """The review as a plain-text report for an auditor: what was reviewed, by whom,
    what was decided (and how the revokes ended: `statuses` is each request's status
    now), and the audit events that record it."""
    review = state.review
    lines = [
        f"Access review #{review.id} of account {review.account}",
        f"Opened:   {_when(review.opened_at)}",
        f"Deadline: {_when(review.deadline_at)}",
        f"Status:   {review.status.value}"
        + (f" (closed {_when(review.closed_at)})" if review.closed_at else ""),
        f"Grants:   {len(state.items)} reviewed: {state.count(Decision.KEEP)} kept, "
        f"{state.count(Decision.REVOKE)} revoked, {state.count(Decision.GONE)} ended otherwise, "
        f"{len(state.undecided)} undecided",
        "",
        "request  member        profile         IAM user          granted            "
        "last key use       last console       decision                                "
        "status now",
    ]
    for item in state.items:
        key, console = usage_text(item.usage)
        lines.append(
            f"#{item.request_id:<7} {item.requester_id:<13} {item.profile:<15} "
            f"{item.iam_user_name:<17} {_when(item.granted_at, '-'):<18} {key:<18} "
            f"{console:<18} {decision_text(item):<40} {statuses.get(item.request_id, '-')}"
        )
    lines += ["", "Audit trail:"]
    for line in trail:
        request = f" request #{line.request_id}" if line.request_id is not None else ""
        lines.append(f"  {_when(line.time)}  {line.kind:<15} {line.actor}{request} {line.detail}")
    return "\n".join(lines).rstrip() + "\n"
