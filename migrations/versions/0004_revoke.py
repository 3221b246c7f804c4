"""revoking, its lock and the revoke bookkeeping (flow 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Taking access back (`provisioned -> revoking -> revoked`) has its own lock column, like
provisioning, roll back and re-issue (docs/architecture.md, "Locks"), the attempts and
the time the recovery sweep may retry a failed revoke, and who revoked, why, what set
it off (owner, cli, deactivation, expiry, review) and which mode (disable, delete).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("revoke_lock_until", sa.DateTime(timezone=True)),
    ("revoke_attempts", sa.Integer()),
    ("revoke_retry_at", sa.DateTime(timezone=True)),
    ("revoked_at", sa.DateTime(timezone=True)),
    ("revoked_by", sa.String(length=64)),
    ("revoke_reason", sa.Text()),
    ("revoke_cause", sa.String(length=16)),
    ("revoke_mode", sa.String(length=16)),
)


def upgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
