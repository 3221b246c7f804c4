"""The audit chain's canonical form (docs/audit.md, "The hash chain").

Every audit event stores `hash = SHA-256(canonical(event))`, and its canonical form
holds the hash of the event before it (`prev`), so editing, inserting or deleting any
event breaks the chain from there on. The canonical form is a contract with every row
ever written: changing it would make old events fail `aws-access-bot audit verify`.

    canonical = JSON of {"account", "actor", "detail", "iam_user", "kind", "prev",
                         "request_id", "rules", "seq", "time"}
                with sorted keys at every level, separators "," and ":", non-ASCII kept
                (UTF-8), no NaN/Infinity; "time" is ISO 8601 UTC with microseconds
                ("2026-12-01T08:00:00.000000+00:00").

`seq` numbers the chain 1, 2, 3, ... without gaps; the first event's `prev` is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

GENESIS = "0" * 64


def audit_time(when: datetime) -> str:
    """The event time as the canonical form writes it: ISO 8601 UTC, microseconds."""
    if when.tzinfo is None:
        raise ValueError("naive datetime in an audit event; use timezone-aware UTC")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return audit_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"audit detail cannot hold a {type(value).__name__}")


def plain_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` as JSON gives it back (tuples as lists, datetimes as ISO text, enums as
    their values), so what is hashed is exactly what the database returns."""
    return json.loads(json.dumps(dict(detail), default=_plain, allow_nan=False))


def rules_record(
    *,
    groups: Any,
    policies: Any,
    console: bool,
    programmatic: bool,
    permissions_boundary: str | None,
    max_duration_seconds: int | None,
    approvals_required: int | None,
) -> dict[str, Any]:
    """A request's frozen rules as every event about it records them."""
    return plain_detail(
        {
            "groups": list(groups or []),
            "policies": list(policies or []),
            "console": bool(console),
            "programmatic": bool(programmatic),
            "permissions_boundary": permissions_boundary or "",
            "max_duration_seconds": max_duration_seconds,
            "approvals_required": approvals_required,
        }
    )


@dataclass(frozen=True)
class ChainedEvent:
    """One audit event as the chain sees it."""

    seq: int
    time: datetime
    request_id: int | None
    account: str | None
    iam_user: str | None
    actor: str
    kind: str
    rules: dict[str, Any] | None
    detail: dict[str, Any]
    prev: str


def canonical(event: ChainedEvent) -> bytes:
    body = {
        "account": event.account,
        "actor": event.actor,
        "detail": event.detail,
        "iam_user": event.iam_user,
        "kind": event.kind,
        "prev": event.prev,
        "request_id": event.request_id,
        "rules": event.rules,
        "seq": event.seq,
        "time": audit_time(event.time),
    }
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def event_hash(event: ChainedEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first event that does not match: its row id, its place, and why."""

    event_id: int
    seq: int | None
    reason: str
    kind: str | None = None
    request_id: int | None = None

    def __str__(self) -> str:
        about = f", {self.kind}" if self.kind else ""
        if self.request_id is not None:
            about += f", request #{self.request_id}"
        return f"audit event id={self.event_id} (seq {self.seq}{about}): {self.reason}"


class ChainWalker:
    """Checks events fed in chain order; `broken` is set at the first mismatch."""

    def __init__(self) -> None:
        self.count = 0
        self.head = GENESIS
        self.broken: ChainBreak | None = None

    def feed(self, event_id: int, event: ChainedEvent, stored_hash: str | None) -> bool:
        """False (and `broken` set) when this event breaks the chain."""
        expected_seq = self.count + 1
        if event.seq != expected_seq:
            what = "missing" if event.seq is None or event.seq > expected_seq else "repeated"
            reason = f"seq {event.seq} where {expected_seq} was expected (an event is {what})"
        elif event.prev != self.head:
            reason = "its previous-hash is not the hash of the event before it"
        elif stored_hash != event_hash(event):
            reason = "its stored hash does not match its content (edited)"
        else:
            self.count += 1
            self.head = stored_hash
            return True
        self.broken = ChainBreak(event_id, event.seq, reason, event.kind, event.request_id)
        return False
