"""The store's ports: every read and write the use cases make, as named operations.

bot/store implements them with SQL (and owns all of it); services call them and never
see a session. Each operation is one transaction that also appends its audit event,
and every state change in it is a compare-and-set (`UPDATE ... WHERE status = :expected`
and a row count), so concurrent clicks, threads and replicas resolve in the database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.credentials import LinkState, Reveal, SealedLink
from bot.domain.errors import DeliveryKind, DomainError
from bot.domain.policy import ApprovalCount
from bot.domain.reminders import ReminderWindow
from bot.domain.requests import MessageRef, RequestView
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
    ) -> list[RequestView]: ...

    def count_by_status(self) -> dict[str, int]: ...

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
        self, request_id: int, *, seen: datetime | None, now: datetime, **detail: Any
    ) -> ReminderClaim | None:
        """Take this period's reminder of a request (audited with `detail`); None when
        it was decided or someone else took it."""
        ...

    def status_of(self, request_id: int) -> Status | None: ...

    def count_pending(self) -> int: ...

    def pending_oldest_first(self, *, limit: int) -> list[RequestView]: ...

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
