"""SQLAlchemy 2.0 typed models. `migrations/` must match these (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back timezone-aware UTC (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccessRequest(Base):
    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    profile: Mapped[str] = mapped_column(String(64))
    iam_user_name: Mapped[str] = mapped_column(String(64))
    console: Mapped[bool] = mapped_column(Boolean)
    programmatic: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    deny_reason: Mapped[str | None] = mapped_column(Text)
    # Where Slack shows the request: the approval message and the requester's DM.
    approval_channel: Mapped[str | None] = mapped_column(String(32))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    requester_dm_channel: Mapped[str | None] = mapped_column(String(32))
    requester_dm_ts: Mapped[str | None] = mapped_column(String(32))
    # Reminder sweep bookkeeping; claimed with a conditional update.
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    # Provisioning: attempts, and the last AWS error shown to owners.
    provision_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Public identifier of the key handed out (never the secret) so re-issue can delete it.
    access_key_id: Mapped[str | None] = mapped_column(String(32))
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One lock per kind of work (docs/architecture.md, "Locks"), each the expiry of the
    # holder's claim: the provisioning worker's lease, an owner's roll back, an owner's
    # re-issue. Taking one needs all three free, so no two kinds of work overlap.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rollback_lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reissue_lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Revoke (flow 6, migration 0004): its own lock; attempts; when the recovery sweep
    # may retry a failed revoke (NULL: an owner's click only); who, why, what set it
    # off, which mode, and when it finished.
    revoke_lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_attempts: Mapped[int | None] = mapped_column(Integer)
    revoke_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoke_cause: Mapped[str | None] = mapped_column(String(16))
    revoke_mode: Mapped[str | None] = mapped_column(String(16))
    # Time-bound access (flow 6, migration 0005): the grant's length (asked for in the
    # form, up to the frozen max_duration; then the length of the latest extension),
    # when it ends (set at provisioning, moved by extensions), when its requester's next
    # warning is due and how many were sent, the expiry sweep's claim, and the grant an
    # extension request extends.
    access_duration_seconds: Mapped[int | None] = mapped_column(Integer)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_warnings: Mapped[int | None] = mapped_column(Integer)
    expiry_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extends_request_id: Mapped[int | None] = mapped_column(Integer)
    # Slack deactivation (flow 6): when the requester's deactivation was acted on for
    # this grant (claimed once, so a re-delivered event or a replica does nothing more).
    deactivation_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rules frozen at submit (docs/architecture.md, "Frozen rules"). All NULL, and
    # rules_frozen_at NULL, on a row stored before rules were frozen until it is given
    # its rules at start-up.
    account: Mapped[str | None] = mapped_column(String(64))
    groups: Mapped[list[str] | None] = mapped_column(JSON)
    policies: Mapped[list[str] | None] = mapped_column(JSON)
    permissions_boundary: Mapped[str | None] = mapped_column(String(2048))
    max_duration_seconds: Mapped[int | None] = mapped_column(Integer)
    approvals_required: Mapped[int | None] = mapped_column(Integer)
    rules_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Reminder/expiry sweeps and listings: WHERE status = ? ORDER BY created_at.
        Index("ix_access_requests_status_created_at", "status", "created_at"),
        # "an open request of the same requester" and a user's own listing.
        Index("ix_access_requests_requester_id_status", "requester_id", "status"),
        # Recovery sweep: provisioning rows whose lease ran out.
        Index("ix_access_requests_status_lease_expires_at", "status", "lease_expires_at"),
        # Start-up: rows stored before rules were frozen (none, once frozen), without
        # reading the whole history on every start.
        Index("ix_access_requests_rules_frozen_at", "rules_frozen_at"),
        # Time-bound sweeps (flow 6): grants whose end or next warning is due.
        Index("ix_access_requests_status_access_expires_at", "status", "access_expires_at"),
        Index("ix_access_requests_status_expiry_warn_at", "status", "expiry_warn_at"),
    )


class Approval(Base):
    """One row per approver per request: a second click by the same owner cannot count."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True
    )
    approver_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)


class AuditEvent(Base):
    """Append-only: who did what to which request, when. Never holds a secret.

    A hash chain (docs/audit.md): `seq` numbers events 1, 2, 3, ... and `hash` is the
    SHA-256 of the event's canonical form (bot/domain/audit.py), which includes
    `prev_hash`, the hash of event `seq - 1`. Rows are written only by
    bot/store/audit.py; on PostgreSQL a trigger (migration 0007) refuses UPDATE and
    DELETE. `request_id` is the request's number, not a foreign key: the trail outlives
    the row it is about."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Copied from the request when the event is written (its frozen rules included).
    account: Mapped[str | None] = mapped_column(String(64))
    iam_user: Mapped[str | None] = mapped_column(String(64))
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # `aws-access-bot audit --account NAME`, in chain order.
        Index("ix_audit_events_account_seq", "account", "seq"),
    )


class AuditChainHead(Base):
    """The chain's one head row (id 1): the last event's seq and hash. Every append
    updates it in the appending transaction, so appends queue on its row lock
    (PostgreSQL) or the write lock (SQLite) and the chain stays one line."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class CredentialLink(Base):
    """A one-time link. Holds ciphertext only; the key lives in the URL fragment."""

    __tablename__ = "credential_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True
    )
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    # SHA-256 of the fragment key: the browser proves it holds the key before the link
    # is used up, so a leaked link id alone (proxy log, audit reader) cannot burn it.
    key_check: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """When a once-per-period job last ran anywhere (the channel summary): replicas claim a
    run with a conditional update of `last_run_at`, so only one of them posts it."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryRecord(Base):
    """The outbox (docs/architecture.md, "Deliveries (outbox)"): a message Slack must
    still accept. It holds no text and no secret; the sweep renders it again from the
    request. `claimed_until` is the sweep's claim (a conditional update takes it)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The sweep: WHERE status = 'pending' AND next_attempt_at <= now.
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # Repeated failures of one message collapse into its one pending row.
        Index(
            "uq_deliveries_pending_request_id_kind",
            "request_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class KeyRotationRecord(Base):
    """Key rotation (flow 6, migration 0006; bot/domain/rotation.py has the states): one
    row per bot-made access key that got a rotation nudge. Key ids only (they are
    public, like in CloudTrail); the new key's secret exists only sealed in its link.
    `claimed_until` holds a click's claim while AWS makes the new key."""

    __tablename__ = "key_rotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True
    )
    old_key_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    key_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    nudged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    nudges: Mapped[int] = mapped_column(Integer, default=1)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_key_id: Mapped[str | None] = mapped_column(String(32))
    link_id: Mapped[str | None] = mapped_column(String(64))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_by: Mapped[str | None] = mapped_column(String(32))
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One rotation per key: two sweeps nudging at once insert one row.
        UniqueConstraint("request_id", "old_key_id"),
        # The sweep: issued rotations, deactivated ones due for deletion.
        Index("ix_key_rotations_status_updated_at", "status", "updated_at"),
    )


class AccessReview(Base):
    """An access review of one account's active grants (bot/domain/reviews.py). Unique
    per account and period, so replicas opening "this period's" review insert one row.
    `posting_until` is a sweep's claim while it posts the grants to Slack."""

    __tablename__ = "access_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    posting_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("account", "period_start"),
        # The sweep: open reviews.
        Index("ix_access_reviews_status_deadline_at", "status", "deadline_at"),
    )


class ReviewItem(Base):
    """One grant in a review: the request as it was when the review opened, when its IAM
    user last used its access, and the decision (set once, by a compare-and-set)."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("access_reviews.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    profile: Mapped[str] = mapped_column(String(64))
    iam_user_name: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_known: Mapped[bool | None] = mapped_column(Boolean)
    last_key_use: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_console_use: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("review_id", "request_id"),)
