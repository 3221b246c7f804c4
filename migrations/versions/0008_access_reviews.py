"""access reviews

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`access_reviews`: one review of one account's active grants per period (unique per
account and period, so two replicas open it once), and `review_items`: each grant as it
was when the review opened, when it was last used, and its decision (keep, revoke, or
gone), set once by a compare-and-set (bot/domain/reviews.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("posting_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_count", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_reviews")),
        sa.UniqueConstraint(
            "account", "period_start", name=op.f("uq_access_reviews_account_period_start")
        ),
    )
    op.create_index(
        "ix_access_reviews_status_deadline_at",
        "access_reviews",
        ["status", "deadline_at"],
        unique=False,
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("iam_user_name", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_known", sa.Boolean(), nullable=True),
        sa.Column("last_key_use", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_console_use", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("message_channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["access_reviews.id"],
            name=op.f("fk_review_items_review_id_access_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint(
            "review_id", "request_id", name=op.f("uq_review_items_review_id_request_id")
        ),
    )
    op.create_index(op.f("ix_review_items_review_id"), "review_items", ["review_id"], unique=False)
    op.create_index(
        op.f("ix_review_items_request_id"), "review_items", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_items_request_id"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_review_id"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_index("ix_access_reviews_status_deadline_at", table_name="access_reviews")
    op.drop_table("access_reviews")
