"""frozen rules and one lock column per kind of work

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Requests keep the rules they were submitted under (account, groups, policies,
boundary, duration, approvals required); rows stored before this revision keep them
NULL with `rules_frozen_at` NULL and are given their rules by the bot at its next
start (the migration has no config to read).

`lease_expires_at` was the provisioning lease, the roll-back lock and the re-issue lock
at once. From here on it is only the provisioning lease; roll back and re-issue get
their own columns. A value on a row that is not provisioning was one of those
short-lived owner locks, so it is cleared rather than carried over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = (
    ("provisioned_at", sa.DateTime(timezone=True)),
    ("rollback_lock_until", sa.DateTime(timezone=True)),
    ("reissue_lock_until", sa.DateTime(timezone=True)),
    ("account", sa.String(length=64)),
    ("groups", sa.JSON()),
    ("policies", sa.JSON()),
    ("permissions_boundary", sa.String(length=2048)),
    ("max_duration_seconds", sa.Integer()),
    ("approvals_required", sa.Integer()),
    ("rules_frozen_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        for name, type_ in NEW_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index(
            "ix_access_requests_rules_frozen_at", ["rules_frozen_at"], unique=False
        )
    op.execute(
        sa.text(
            "UPDATE access_requests SET lease_expires_at = NULL "
            "WHERE status <> 'provisioning' AND lease_expires_at IS NOT NULL"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_access_requests_rules_frozen_at")
        for name, _ in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
