"""The store's ports: every read and write the use cases make, as named operations.

bot/store implements them with SQL (and owns all of it); services call them and never
see a session. Each operation is one transaction that also appends its audit event,
and every state change in it is a compare-and-set (`UPDATE ... WHERE status = :expected`
and a row count), so concurrent clicks, threads and replicas resolve in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.credentials import LinkState, Reveal, SealedLink
from bot.domain.errors import DeliveryKind, DomainError
from bot.domain.policy import ApprovalCount
from bot.domain.reminders import ReminderWindow
from bot.domain.requests import MessageRef, RequestView
from bot.domain.reviews import (
    Decision,
    GrantUsage,
    ReviewAuditLine,
    ReviewItem,
    ReviewState,
)
from bot.domain.rotation import KeyAge, KeyRotation
from bot.domain.rules import FrozenRules
from bot.domain.states import Status

# --- submit ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    requester_id: str
    profile: str
    iam_user_name: str
    reason: str
    rules: FrozenRules
    # Time-bound access (bot/domain/time_bound.py): the duration asked for (None: the
    # profile has no max_duration), and the grant an extension request extends.
    duration: timedelta | None = None
    extends_request_id: int | None = None


class AlreadyRequested(DomainError):
    """The requester has an open request for this profile."""

    def __init__(self, request_id: int, status: Status) -> None:
        super().__init__(f"request #{request_id} is already open ({status.value})")
        self.request_id = request_id
        self.status = status


class NameClaimed(DomainError):
    """Another requester's open request asks for the same IAM user name."""

    def __init__(self, request_id: int) -> None:
        super().__init__(f"request #{request_id} already asks for this IAM user name")
        self.request_id = request_id


@dataclass(frozen=True)
class ApprovalResult:
    """`count` is None when the request was no longer pending (`request` says why)."""

    request: RequestView
    count: ApprovalCount | None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    request_id: int | None
    actor: str
    kind: str
    created_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class RequestStore(Protocol):
    def get(self, request_id: int) -> RequestView | None: ...

    def submit(self, new: NewRequest, now: datetime) -> RequestView:
        """Store a pending request with its frozen rules; raises AlreadyRequested or
        NameClaimed (checked and inserted under one lock, so two submits cannot both pass)."""
        ...

    def set_approval_message(self, request_id: int, ref: MessageRef) -> None: ...

    def set_requester_dm(self, request_id: int, ref: MessageRef) -> None: ...

    def approve(self, request_id: int, actor: str, required: int, now: datetime) -> ApprovalResult:
        """Count `actor`'s approval (once per owner) while the request is pending; the
        approval that reaches `required` moves it to approved."""
        ...

    def deny(self, request_id: int, actor: str, reason: str, now: datetime) -> RequestView | None:
        """pending -> denied; None when it was no longer pending."""
        ...

    def cancel(self, request_id: int, actor: str, now: datetime) -> RequestView | None:
        """pending -> cancelled; None when it was no longer pending."""
        ...

    def expire(self, request_id: int, now: datetime, **detail: Any) -> RequestView | None:
        """pending -> expired (the expiry sweep); None when decided meanwhile."""
        ...

    def list(
        self,
        *,
        statuses: Collection[Status] | None = None,
        requester_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        accounts: Collection[str] | None = None,
    ) -> list[RequestView]: ...

    def count_by_status(self) -> dict[str, int]: ...

    def active_grants(
        self, requester_id: str | None = None, account: str | None = None
    ) -> list[RequestView]:
        """Provisioned requests (access someone holds now), of one member and/or one
        account when given, oldest first (flow 6: App Home, deactivation, reviews)."""
        ...

    def audit_of(self, request_id: int) -> list[AuditRecord]: ...

    def record(
        self, request_id: int | None, *, actor: str, kind: str, now: datetime, **detail: Any
    ) -> None:
        """Append an audit event on its own. Callers pass only non-secret details."""
        ...

    def unfrozen(self) -> list[RequestView]:
        """Requests stored before rules were frozen (rules_frozen False)."""
        ...

    def freeze(self, request_id: int, rules: FrozenRules, now: datetime) -> bool:
        """Give a request stored before rules were frozen its rules (once)."""
        ...


# --- provisioning and the locks of owners' actions -----------------------------------


class LockKind(StrEnum):
    """Each kind of work on a provisioned/failed request has its own lock column, so
    "being rolled back" is never answered while a re-issue runs (and vice versa)."""

    PROVISIONING = "provisioning"
    ROLLBACK = "roll back"
    REISSUE = "re-issue"
    REVOKE = "revoke"


@dataclass(frozen=True)
class Lease:
    """A claim on a request: `token` is the lock's expiry as stored, so a worker whose
    lease ran out (and was taken over) cannot finish the request."""

    request: RequestView
    token: datetime
    source: Status  # the status the request was in when claimed


@dataclass(frozen=True)
class LockRefusal:
    """Why a lock was not taken: the request is missing, in another state, or another
    kind of work holds it."""

    request: RequestView | None
    held_by: LockKind | None = None


class ProvisioningStore(Protocol):
    def claim_provisioning(
        self,
        request_id: int,
        *,
        sources: Sequence[Status],
        actor: str,
        now: datetime,
        until: datetime,
    ) -> Lease | LockRefusal:
        """`sources -> provisioning` with a lease, unless another lock is live."""
        ...

    def resume_provisioning(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | None:
        """Take over a provisioning row whose lease ran out (its worker died)."""
        ...

    def stale_provisioning(self, now: datetime) -> list[int]: ...

    def unclaimed_approved(self, approved_before: datetime) -> list[int]: ...

    def finish_provisioning(
        self,
        lease: Lease,
        link: SealedLink,
        *,
        access_key_id: str | None,
        console: bool,
        now: datetime,
    ) -> RequestView | None:
        """provisioning -> provisioned and the link stored, in one transaction (a request
        is provisioned iff its link exists); None when the lease was lost."""
        ...

    def fail_provisioning(
        self, lease: Lease, *, code: str, message: str, step: str, permanent: bool, now: datetime
    ) -> RequestView | None: ...

    def lock_for_rollback(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | LockRefusal:
        """Hold a failed or provisioned request for its roll back."""
        ...

    def finish_rollback(self, lease: Lease, *, actor: str, now: datetime) -> RequestView | None:
        """-> revoked, lock released."""
        ...

    def rollback_failed(
        self, lease: Lease, *, actor: str, code: str, message: str, now: datetime
    ) -> RequestView:
        """Lock released, AWS's error kept for the owners."""
        ...

    def lock_for_reissue(
        self, request_id: int, *, now: datetime, until: datetime
    ) -> Lease | LockRefusal:
        """Hold a provisioned request while its credentials are rotated."""
        ...

    def finish_reissue(
        self,
        lease: Lease,
        link: SealedLink,
        *,
        access_key_id: str | None,
        actor: str,
        now: datetime,
    ) -> RequestView | None:
        """Void the old links, store the new one, release the lock; None (lock released)
        when the request stopped being provisioned meanwhile."""
        ...

    def reissue_failed(self, lease: Lease, *, actor: str, error: str, now: datetime) -> None: ...


# --- one-time links --------------------------------------------------------------


class LinkStore(Protocol):
    def link_state(self, link_id: str, now: datetime) -> LinkState: ...

    def take_link(self, link_id: str, now: datetime, *, proof: bytes, client: str) -> Reveal:
        """Hand the ciphertext out at most once, ever (compare-and-set, then deleted)."""
        ...

    def purge_expired_links(self, now: datetime) -> tuple[int, list[RequestView]]:
        """Delete expired ciphertext; (links purged, provisioned requests left with no
        usable link: owners are offered a re-issue)."""
        ...

    def any_revealed(self, request_id: int) -> bool:
        """True once any link of the request was revealed (its credentials are out)."""
        ...


# --- lifecycle sweeps ------------------------------------------------------------


@dataclass(frozen=True)
class ReminderClaim:
    request: RequestView
    number: int  # 1-based reminder number


class SweepStore(Protocol):
    def due_for_reminder(
        self, window: ReminderWindow, *, limit: int
    ) -> list[tuple[int, datetime | None]]:
        """(request id, last reminded at) of pending requests due for a reminder."""
        ...

    def claim_reminder(
        self,
        request_id: int,
        *,
        seen: datetime | None,
        now: datetime,
        describe: Callable[[RequestView, int], dict[str, Any]] | None = None,
        **detail: Any,
    ) -> ReminderClaim | None:
        """Take this period's reminder of a request (audited as "reminded" in the same
        transaction with `detail` and `describe(request, number)`); None when it was
        decided or someone else took it."""
        ...

    def status_of(self, request_id: int) -> Status | None: ...

    def count_pending(self, accounts: Collection[str] | None = None) -> int:
        """Pending requests (of `accounts` only, when given)."""
        ...

    def pending_oldest_first(
        self, *, limit: int, accounts: Collection[str] | None = None
    ) -> list[RequestView]: ...

    def expired_pending(self, created_before: datetime, *, limit: int) -> list[int]: ...

    def claim_job_run(self, name: str, *, now: datetime, ran_before: datetime) -> bool:
        """True for exactly one caller per period of a once-per-period job."""
        ...


# --- deliveries (the outbox) -------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for the delivery sweep
    SENT = "sent"  # Slack accepted it (or it was no longer needed)
    GIVEN_UP = "given_up"  # failed too often: shown to the owners


@dataclass(frozen=True)
class Delivery:
    """A message Slack must still accept (docs/architecture.md, "Deliveries (outbox)").
    No text and no secret: the sweep renders it again from the request as it is then.
    `claimed_until` is the claim's token while a sweep delivers it."""

    id: int
    request_id: int
    kind: DeliveryKind
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None


class DeliveryStore(Protocol):
    def queue(
        self,
        request_id: int,
        kind: DeliveryKind,
        *,
        error: str,
        next_attempt_at: datetime,
        now: datetime,
    ) -> bool:
        """Record a first attempt that failed. One pending row per request and kind: a
        failure while one is pending adds nothing (False) but its audit event."""
        ...

    def settle(self, request_id: int, kinds: Collection[DeliveryKind], now: datetime) -> int:
        """A later delivery of these kinds got through on its own: their unclaimed pending
        or given-up rows are done. Returns how many."""
        ...

    def claim_due(self, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
        """Pending rows due at `now`, each claimed until `until` by a conditional update,
        so two sweeps (threads, replicas) never deliver the same row."""
        ...

    def sent(self, delivery: Delivery, now: datetime, *, needed: bool = True) -> bool:
        """Slack accepted it (`needed` False: nothing was left to deliver). False when the
        claim was lost meanwhile."""
        ...

    def retry_later(
        self, delivery: Delivery, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> bool:
        """Another failed attempt: count it, release the claim, try again then."""
        ...

    def give_up(self, delivery: Delivery, *, error: str, now: datetime) -> bool:
        """Failed too often: stop retrying; owners see it (App Home, `requests`)."""
        ...

    def given_up(self, *, limit: int) -> list[Delivery]:
        """Given-up rows, newest first."""
        ...

    def undelivered_kinds(self, request_ids: Collection[int]) -> dict[int, list[str]]:
        """For each request with pending or given-up rows: "kind (status)" entries."""
        ...


# --- key rotation (flow 6) ----------------------------------------------------------


@dataclass(frozen=True)
class RotationClaim:
    """A click's hold on a rotation: the request under the re-issue lock (`lease`) and
    the rotation moved to `rotating` until the lease's token."""

    lease: Lease
    rotation: KeyRotation


class RotationStore(Protocol):
    """The `key_rotations` bookkeeping (bot/store/rotations.py). A key is as old as the
    link that handed it out: provisioning, a re-issue and a rotation each seal a link
    in the transaction that records the key."""

    def key_ages(self, request_ids: Collection[int]) -> dict[int, KeyAge]:
        """The current bot-made key of each provisioned request that has one."""
        ...

    def due_for_nudge(
        self, made_before: datetime, *, nudged_before: datetime, limit: int
    ) -> list[tuple[KeyAge, KeyRotation | None]]:
        """Provisioned requests whose current key was made before `made_before` and was
        never nudged (None) or last nudged before `nudged_before` (its rotation, still
        `nudged`); keys whose rotation is under way or done are left out."""
        ...

    def claim_nudge(
        self, key: KeyAge, seen: KeyRotation | None, *, now: datetime
    ) -> KeyRotation | None:
        """Record this nudge (the first one inserts the rotation; a repeat moves
        `nudged_at` from `seen.nudged_at`), audited "key_rotation_nudged"; None when
        another sweep took it or the key changed."""
        ...

    def latest_rotation(self, request_id: int) -> KeyRotation | None: ...

    def begin_rotation(
        self, rotation_id: int, *, actor: str, now: datetime, until: datetime
    ) -> RotationClaim | LockRefusal | None:
        """`nudged -> rotating` and the request's re-issue lock, in one transaction, while
        the rotation's key is still the request's key; LockRefusal when the request is
        not provisioned or other work holds it; None when the rotation is not `nudged`."""
        ...

    def finish_rotation(
        self, claim: RotationClaim, link: SealedLink, *, new_key_id: str, actor: str, now: datetime
    ) -> tuple[RequestView, KeyRotation] | None:
        """The new key becomes the request's key, its link is stored, the lock released
        and the rotation `issued`, audited "key_rotated"; None (lock released, nothing
        stored) when the request stopped being provisioned meanwhile."""
        ...

    def rotation_failed(
        self, claim: RotationClaim, *, actor: str, error: str, now: datetime
    ) -> None:
        """Lock released, `rotating -> nudged` (the button works again), audited."""
        ...

    def undo_rotation(
        self, rotation: KeyRotation, *, link_id: str, actor: str, error: str, now: datetime
    ) -> bool:
        """An issued rotation whose link never reached the requester: the old key is the
        request's key again, the link deleted, the rotation `nudged`, audited."""
        ...

    def release_stale(self, now: datetime) -> int:
        """Rotations left `rotating` by a process that died: back to `nudged`."""
        ...

    def issued(self, *, limit: int) -> list[tuple[KeyRotation, RequestView]]: ...

    def deactivated_before(
        self, before: datetime, *, limit: int
    ) -> list[tuple[KeyRotation, RequestView]]: ...

    def mark_deactivated(
        self, rotation: KeyRotation, *, reason: str, now: datetime
    ) -> KeyRotation | None:
        """`issued -> deactivated`, audited "key_deactivated"; None when done already."""
        ...

    def mark_deleted(
        self, rotation: KeyRotation, *, now: datetime, already_gone: bool = False
    ) -> KeyRotation | None:
        """`issued | deactivated -> deleted`, audited "key_deleted"."""
        ...

    def close(self, rotation: KeyRotation, *, why: str, now: datetime) -> bool:
        """An open rotation with nothing left to do (request revoked, key replaced)."""
        ...


# --- access reviews (bot/domain/reviews.py) ------------------------------------------


class ReviewStore(Protocol):
    """Access reviews and their grants (bot/store/reviews.py). Opening is unique per
    account and period, and every decision is a compare-and-set, so replicas never
    open a review twice and two owners clicking on one grant resolve to one decision."""

    def open_review(
        self,
        account: str,
        *,
        period_start: datetime,
        channel: str,
        deadline_at: datetime,
        now: datetime,
    ) -> ReviewState | None:
        """The account's review for the period, listing its active grants (audited
        "review_opened"); None when it exists already (another sweep or replica)."""
        ...

    def get_review(self, review_id: int) -> ReviewState | None: ...

    def open_reviews(self) -> list[ReviewState]: ...

    def item(self, item_id: int) -> ReviewItem | None: ...

    def record_usage(self, item_id: int, usage: GrantUsage) -> None: ...

    def claim_posting(self, review_id: int, *, now: datetime, until: datetime) -> bool:
        """Take the right to post the review's unposted grants (one sweep at a time)."""
        ...

    def set_messages(
        self, review_id: int, pages: Sequence[tuple[Sequence[int], MessageRef]]
    ) -> None:
        """Where each page of grants was posted (the first is the review's thread)."""
        ...

    def decide(
        self,
        item_id: int,
        decision: Decision,
        *,
        actor: str,
        now: datetime,
        automatic: bool = False,
    ) -> ReviewItem | None:
        """Undecided -> `decision` (audited review_kept / review_revoked), as a
        compare-and-set; None when it was decided already."""
        ...

    def claim_reminder(
        self, review_id: int, *, seen: datetime | None, now: datetime
    ) -> ReviewState | None:
        """Take this period's reminder (last_reminded_at still `seen`); None otherwise."""
        ...

    def close(self, review_id: int, *, now: datetime, unreviewed: str) -> ReviewState | None:
        """open -> closed (audited "review_closed" with the counts); None when closed."""
        ...

    def last_opened_at(self, account: str) -> datetime | None:
        """When the account's latest review opened (None: never)."""
        ...

    def request_statuses(self, request_ids: Sequence[int]) -> dict[int, str]:
        """Each request's status now."""
        ...

    def review_trail(self, review_id: int) -> list[ReviewAuditLine]:
        """The audit events of one review, in order."""
        ...
