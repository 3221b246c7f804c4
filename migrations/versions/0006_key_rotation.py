"""key rotation bookkeeping (flow 6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

One `key_rotations` row per bot-made access key that got a rotation nudge
(bot/domain/rotation.py: nudged -> rotating -> issued -> deactivated -> deleted, or
closed). Key ids only, never a secret: the new key's secret exists only sealed in its
one-time link. Unique per (request, old key), so two sweeps nudging at once make one row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_rotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("old_key_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("key_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nudges", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_key_id", sa.String(length=32), nullable=True),
        sa.Column("link_id", sa.String(length=64), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotated_by", sa.String(length=32), nullable=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_key_rotations_request_id_access_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_rotations")),
        sa.UniqueConstraint(
            "request_id", "old_key_id", name=op.f("uq_key_rotations_request_id_old_key_id")
        ),
    )
    op.create_index(
        op.f("ix_key_rotations_request_id"), "key_rotations", ["request_id"], unique=False
    )
    op.create_index(
        "ix_key_rotations_status_updated_at",
        "key_rotations",
        ["status", "updated_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_key_rotations_status_updated_at", table_name="key_rotations")
    op.drop_index(op.f("ix_key_rotations_request_id"), table_name="key_rotations")
    op.drop_table("key_rotations")
