"""the tamper-evident audit chain

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Every audit event gets its place in the chain (`seq`), the hash of the event before it
(`prev_hash`) and its own (`hash`, SHA-256 of the canonical form in
bot/domain/audit.py), plus the request's account, IAM user and frozen rules. Events
written before this revision are chained here, in id order, with the account, IAM user
and rules their request holds now. `audit_chain_head` holds the last seq and hash; every
append updates it in its own transaction, which serialises appends (docs/audit.md).

`request_id` stops being a foreign key: the audit trail must outlive a deleted request,
and with ON DELETE SET NULL a deletion would have rewritten (PostgreSQL: been refused
by) the append-only rows. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE
of `audit_events`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.domain.audit import GENESIS, ChainedEvent, event_hash, rules_record
from bot.store.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("request_id", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
    sa.column("account", sa.String()),
    sa.column("iam_user", sa.String()),
    sa.column("rules", sa.JSON()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_requests = sa.table(
    "access_requests",
    sa.column("id", sa.Integer()),
    sa.column("iam_user_name", sa.String()),
    sa.column("console", sa.Boolean()),
    sa.column("programmatic", sa.Boolean()),
    sa.column("account", sa.String()),
    sa.column("groups", sa.JSON()),
    sa.column("policies", sa.JSON()),
    sa.column("permissions_boundary", sa.String()),
    sa.column("max_duration_seconds", sa.Integer()),
    sa.column("approvals_required", sa.Integer()),
    sa.column("rules_frozen_at", UTCDateTime()),
)

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
TRIGGERS = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_events_request_id_access_requests", type_="foreignkey")
        batch_op.add_column(sa.Column("account", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("iam_user", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rules", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    seq, head = _chain_existing(op.get_bind())

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
        batch_op.create_index("ix_audit_events_account_seq", ["account", "seq"], unique=False)
    op.execute(
        sa.text(
            "INSERT INTO audit_chain_head (id, seq, head_hash) VALUES (1, :seq, :head)"
        ).bindparams(seq=seq, head=head)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        for trigger in TRIGGERS:
            op.execute(trigger)


def _chain_existing(conn: sa.Connection) -> tuple[int, str]:
    """Chain the events written before this revision, in id order; (last seq, hash)."""
    requests = {}
    for row in conn.execute(sa.select(_requests)):
        rules = None
        if row.rules_frozen_at is not None:
            rules = rules_record(
                groups=row.groups,
                policies=row.policies,
                console=row.console,
                programmatic=row.programmatic,
                permissions_boundary=row.permissions_boundary,
                max_duration_seconds=row.max_duration_seconds,
                approvals_required=row.approvals_required,
            )
        requests[row.id] = (row.account, row.iam_user_name, rules)
    seq, head, after = 0, GENESIS, 0
    while True:
        rows = conn.execute(
            sa.select(_events).where(_events.c.id > after).order_by(_events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, head
        for row in rows:
            seq += 1
            account, iam_user, rules = requests.get(row.request_id, (None, None, None))
            chained = ChainedEvent(
                seq=seq,
                time=row.created_at,
                request_id=row.request_id,
                account=account,
                iam_user=iam_user,
                actor=row.actor,
                kind=row.kind,
                rules=rules,
                detail=row.detail if row.detail is not None else {},
                prev=head,
            )
            head = event_hash(chained)
            conn.execute(
                sa.update(_events)
                .where(_events.c.id == row.id)
                .values(
                    account=account,
                    iam_user=iam_user,
                    rules=rules,
                    seq=seq,
                    prev_hash=chained.prev,
                    hash=head,
                )
            )
        after = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    # Events about requests that no longer exist cannot point at them again.
    op.execute(
        sa.text(
            "UPDATE audit_events SET request_id = NULL WHERE request_id IS NOT NULL "
            "AND request_id NOT IN (SELECT id FROM access_requests)"
        )
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_account_seq")
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        for name in ("hash", "prev_hash", "seq", "rules", "iam_user", "account"):
            batch_op.drop_column(name)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_events_request_id_access_requests"),
            "access_requests",
            ["request_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.drop_table("audit_chain_head")
