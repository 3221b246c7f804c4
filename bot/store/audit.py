"""The audit log: the one writer of `audit_events` (its hash chain), the streaming
reader behind `aws-access-bot audit`, and the chain check behind `audit verify`
(docs/audit.md).

Writing. `append` (called through `bot.store.rows.audit` by every store module, in the
transaction of the change it records) copies the request's account, IAM user and
frozen rules onto the event and queues it on the session. Just before that
transaction commits (`before_commit`), the queued events are chained: the head row
`audit_chain_head` is updated first (`UPDATE ... RETURNING`), which on PostgreSQL takes
its row lock until commit -- a concurrent appender waits there and then reads the head
this transaction committed -- and on SQLite runs under the write lock every
transaction already holds (BEGIN IMMEDIATE, bot/store/db.py). So however many threads,
processes or replicas append, the events form one chain, and the head lock is the last
lock a transaction takes (no lock-order deadlocks) and is held only for the commit.

Reading. `events` streams rows in chain order with `yield_per` (a server-side cursor
on PostgreSQL, SQLite's own cursor), as plain rows rather than ORM objects, so memory
stays flat however many events there are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from bot.domain.audit import (
    GENESIS,
    ChainBreak,
    ChainedEvent,
    ChainWalker,
    event_hash,
    plain_detail,
    rules_record,
)
from bot.domain.ocsf import StoredEvent, to_ocsf
from bot.store.db import SqlStore
from bot.store.models import AccessRequest, AuditChainHead, AuditEvent

AUDIT_LOGGER = "bot.audit"
HEAD_ID = 1
STREAM_BATCH = 1000

_PENDING = "aws_access_bot.audit_pending"
_COMMITTED = "aws_access_bot.audit_committed"
_LOG_ENABLED = "aws_access_bot.audit_log"

log = logging.getLogger(AUDIT_LOGGER)


@dataclass(frozen=True)
class _Queued:
    request_id: int | None
    account: str | None
    iam_user: str | None
    actor: str
    kind: str
    rules: dict[str, Any] | None
    detail: dict[str, Any]
    time: datetime


# --- writing -------------------------------------------------------------------------


def append(
    session: Session,
    request_id: int | None,
    *,
    actor: str,
    kind: str,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    """Queue one event on `session`; it is chained and inserted when the session's
    transaction commits, and dropped with it on a roll back. With a `request_id`, the
    request's account, IAM user and frozen rules are copied onto the event; without one,
    `account` and `iam_user` in `detail` (if given) fill those columns."""
    plain = plain_detail(detail)
    account = iam_user = None
    rules = None
    if request_id is not None:
        row = session.execute(
            select(
                AccessRequest.account,
                AccessRequest.iam_user_name,
                AccessRequest.groups,
                AccessRequest.policies,
                AccessRequest.console,
                AccessRequest.programmatic,
                AccessRequest.permissions_boundary,
                AccessRequest.max_duration_seconds,
                AccessRequest.approvals_required,
                AccessRequest.rules_frozen_at,
            ).where(AccessRequest.id == request_id)
        ).first()
        if row is not None:
            account, iam_user = row.account, row.iam_user_name
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
    else:
        account = _text(plain.get("account"))
        iam_user = _text(plain.get("iam_user"))
    session.info.setdefault(_PENDING, []).append(
        _Queued(request_id, account, iam_user, actor, kind, rules, plain, now)
    )


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def take_head(session: Session) -> tuple[int, str]:
    """Lock the chain's head row for this transaction and read it: (seq, hash)."""
    statement = (
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq)
        .returning(AuditChainHead.seq, AuditChainHead.head_hash)
        .execution_options(synchronize_session=False)
    )
    head = session.execute(statement).first()
    if head is None:
        # A schema made without migration 0007's head row: start the chain.
        from bot.store.rows import dialect_insert

        session.execute(
            dialect_insert(session, AuditChainHead)
            .values(id=HEAD_ID, seq=0, head_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        head = session.execute(statement).one()
    return head.seq, head.head_hash


def _chain_pending(session: Session) -> None:
    queued: list[_Queued] | None = session.info.pop(_PENDING, None)
    if not queued:
        return
    seq, head = take_head(session)
    rows: list[dict[str, Any]] = []
    for item in queued:
        seq += 1
        chained = ChainedEvent(
            seq=seq,
            time=item.time,
            request_id=item.request_id,
            account=item.account,
            iam_user=item.iam_user,
            actor=item.actor,
            kind=item.kind,
            rules=item.rules,
            detail=item.detail,
            prev=head,
        )
        head = event_hash(chained)
        rows.append(_row_values(chained, head))
    session.execute(insert(AuditEvent), rows)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=seq, head_hash=head)
        .execution_options(synchronize_session=False)
    )
    if session.info.get(_LOG_ENABLED):
        session.info[_COMMITTED] = rows


def _row_values(chained: ChainedEvent, digest: str) -> dict[str, Any]:
    return {
        "request_id": chained.request_id,
        "actor": chained.actor,
        "kind": chained.kind,
        "detail": chained.detail,
        "created_at": chained.time,
        "account": chained.account,
        "iam_user": chained.iam_user,
        "rules": chained.rules,
        "seq": chained.seq,
        "prev_hash": chained.prev,
        "hash": digest,
    }


def _log_committed(session: Session) -> None:
    rows = session.info.pop(_COMMITTED, None)
    for values in rows or ():
        try:
            stored = StoredEvent(0, _chained_of(values), values["hash"])
            record = to_ocsf(stored)
            record["metadata"].pop("uid")  # the row id is not known without another query
            line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except Exception:  # the change is committed: a log line must not undo the caller
            log.warning("audit event seq %s could not be logged", values.get("seq"))
            continue
        log.info(line)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTED, None)


def _chained_of(values: dict[str, Any]) -> ChainedEvent:
    return ChainedEvent(
        seq=values["seq"],
        time=values["created_at"],
        request_id=values["request_id"],
        account=values["account"],
        iam_user=values["iam_user"],
        actor=values["actor"],
        kind=values["kind"],
        rules=values["rules"],
        detail=values["detail"] if values["detail"] is not None else {},
        prev=values["prev_hash"],
    )


if not event.contains(Session, "before_commit", _chain_pending):
    event.listen(Session, "before_commit", _chain_pending)
    event.listen(Session, "after_commit", _log_committed)
    event.listen(Session, "after_transaction_end", _forget)


def enable_audit_log(sessions: sessionmaker[Session]) -> None:
    """`[audit] log = true`: every event committed through `sessions` is also one JSON
    line (its OCSF record) on the "bot.audit" logger."""
    sessions.configure(info={**sessions.kw.get("info", {}), _LOG_ENABLED: True})


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """What `aws-access-bot audit` exports: events at or after `since`, before `until`,
    of `account` (all when None)."""

    since: datetime | None = None
    until: datetime | None = None
    account: str | None = None
    request_id: int | None = None


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.created_at,
    AuditEvent.request_id,
    AuditEvent.account,
    AuditEvent.iam_user,
    AuditEvent.actor,
    AuditEvent.kind,
    AuditEvent.rules,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        event=ChainedEvent(
            seq=row.seq,
            time=row.created_at,
            request_id=row.request_id,
            account=row.account,
            iam_user=row.iam_user,
            actor=row.actor,
            kind=row.kind,
            rules=row.rules,
            detail=row.detail if row.detail is not None else {},
            prev=row.prev_hash,
        ),
        hash=row.hash,
    )


class SqlAuditLog(SqlStore):
    """Reads the whole log without holding it in memory."""

    def events(self, query: AuditQuery = AuditQuery(), *, batch: int = STREAM_BATCH):
        """Matching events in chain order, streamed `batch` rows at a time."""
        statement = select(*_COLUMNS).order_by(AuditEvent.seq)
        if query.since is not None:
            statement = statement.where(AuditEvent.created_at >= query.since)
        if query.until is not None:
            statement = statement.where(AuditEvent.created_at < query.until)
        if query.account is not None:
            statement = statement.where(AuditEvent.account == query.account)
        if query.request_id is not None:
            statement = statement.where(AuditEvent.request_id == query.request_id)
        return self._stream(statement, batch)

    def _stream(self, statement: Any, batch: int) -> Iterator[StoredEvent]:
        with self.sessions() as session:
            result = session.execute(statement, execution_options={"yield_per": batch})
            for row in result:
                yield _stored(row)

    def verify(self, *, batch: int = STREAM_BATCH) -> tuple[int, ChainBreak | None]:
        """Walk the whole chain: (events that match, the first that does not)."""
        walker = ChainWalker()
        last_id = 0
        with self.sessions() as session:
            result = session.execute(
                select(*_COLUMNS).order_by(AuditEvent.seq, AuditEvent.id),
                execution_options={"yield_per": batch},
            )
            for row in result:
                stored = _stored(row)
                last_id = stored.id
                if not walker.feed(stored.id, stored.event, stored.hash):
                    return walker.count, walker.broken
            head = session.execute(
                select(AuditChainHead.seq, AuditChainHead.head_hash).where(
                    AuditChainHead.id == HEAD_ID
                )
            ).first()
        if head is not None and (head.seq, head.head_hash) != (walker.count, walker.head):
            return walker.count, ChainBreak(
                last_id,
                walker.count,
                f"the chain head says {head.seq} events ending in {head.head_hash[:12]}..., "
                f"the table ends at seq {walker.count} (events after it were deleted, "
                "or the head was edited)",
            )
        return walker.count, None
