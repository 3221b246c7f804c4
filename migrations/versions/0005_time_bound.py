"""time-bound access: when a grant ends and its warnings (flow 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A profile's `max_duration` (frozen into each request as max_duration_seconds since
0002) makes access end: the duration asked for, when the grant ends (set at
provisioning, moved by extensions), the requester's next warning and how many were
sent, the expiry sweep's claim (a compare-and-set, so replicas never revoke twice), and
the grant an extension request extends; and when a Slack deactivation of the requester
was acted on for a grant (claimed once: a re-delivered event does nothing more).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("access_duration_seconds", sa.Integer()),
    ("access_expires_at", sa.DateTime(timezone=True)),
    ("expiry_warn_at", sa.DateTime(timezone=True)),
    ("expiry_warnings", sa.Integer()),
    ("expiry_claimed_until", sa.DateTime(timezone=True)),
    ("extends_request_id", sa.Integer()),
    ("deactivation_seen_at", sa.DateTime(timezone=True)),
)
_INDEXES = (
    ("ix_access_requests_status_access_expires_at", ["status", "access_expires_at"]),
    ("ix_access_requests_status_expiry_warn_at", ["status", "expiry_warn_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "access_requests", columns)


def downgrade() -> None:
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="access_requests")
    with op.batch_alter_table("access_requests") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
