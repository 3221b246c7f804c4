"""The audit chain's canonical form is pinned (old rows must keep verifying), the chain
walker finds every kind of break, and events map to OCSF as docs/audit.md says."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest

from bot.domain.audit import (
    GENESIS,
    ChainedEvent,
    ChainWalker,
    canonical,
    event_hash,
    plain_detail,
)
from bot.domain.ocsf import StoredEvent, to_ocsf

AT = datetime(2026, 12, 1, 8, 0, 0, 5, tzinfo=UTC)


def event(seq: int = 1, prev: str = GENESIS, **changes: object) -> ChainedEvent:
    base = ChainedEvent(
        seq=seq,
        time=AT,
        request_id=7,
        account="prod",
        iam_user="dora",
        actor="U0OWNER",
        kind="denied",
        rules={"groups": ["devs"], "approvals_required": 1},
        detail={"reason": "nö", "b": 1},
        prev=prev,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_canonical_form_is_pinned() -> None:
    expected = (
        '{"account":"prod","actor":"U0OWNER","detail":{"b":1,"reason":"nö"},'
        '"iam_user":"dora","kind":"denied","prev":"' + GENESIS + '","request_id":7,'
        '"rules":{"approvals_required":1,"groups":["devs"]},"seq":1,'
        '"time":"2026-12-01T08:00:00.000005+00:00"}'
    ).encode()
    assert canonical(event()) == expected
    assert event_hash(event()) == hashlib.sha256(expected).hexdigest()


def test_time_zone_does_not_change_the_hash_but_naive_times_are_refused() -> None:
    elsewhere = AT.astimezone(__import__("datetime").timezone(timedelta(hours=5)))
    assert event_hash(event(time=elsewhere)) == event_hash(event())
    with pytest.raises(ValueError, match="naive"):
        canonical(event(time=AT.replace(tzinfo=None)))


class Mode(StrEnum):
    DISABLE = "disable"


def test_details_are_stored_as_json_gives_them_back() -> None:
    assert plain_detail(
        {"ids": (1, 2), "at": AT, "mode": Mode.DISABLE, "for": timedelta(hours=1), "x": None}
    ) == {
        "ids": [1, 2],
        "at": "2026-12-01T08:00:00.000005+00:00",
        "mode": "disable",
        "for": 3600,
        "x": None,
    }
    with pytest.raises(TypeError, match="cannot hold a object"):
        plain_detail({"thing": object()})


def chain(n: int) -> list[tuple[int, ChainedEvent, str]]:
    rows, head = [], GENESIS
    for seq in range(1, n + 1):
        made = event(seq, head, kind=f"k{seq}")
        head = event_hash(made)
        rows.append((seq * 10, made, head))
    return rows


def walk(rows: list[tuple[int, ChainedEvent, str]]) -> ChainWalker:
    walker = ChainWalker()
    for row_id, made, digest in rows:
        if not walker.feed(row_id, made, digest):
            break
    return walker


def test_an_intact_chain_walks_to_its_end() -> None:
    walker = walk(chain(4))
    assert (walker.count, walker.broken) == (4, None)
    assert walker.head == chain(4)[-1][2]


def _edit_second(rows: list) -> None:
    rows[1] = (20, replace(rows[1][1], actor="U0MALLORY"), rows[1][2])


def _delete_second(rows: list) -> None:
    rows.pop(1)


def _repeat_second(rows: list) -> None:
    rows.insert(2, rows[1])


def _rehash_first(rows: list) -> None:
    rows[0] = (10, rows[0][1], "0" * 64)


@pytest.mark.parametrize(
    ("tamper", "broken_id", "reason"),
    [
        (_edit_second, 20, "its stored hash does not match its content (edited)"),
        (_delete_second, 30, "seq 3 where 2 was expected (an event is missing)"),
        (_repeat_second, 20, "seq 2 where 3 was expected (an event is repeated)"),
        (_rehash_first, 10, "its stored hash does not match its content (edited)"),
    ],
)
def test_the_walker_names_the_first_break(tamper, broken_id: int, reason: str) -> None:  # noqa: ANN001
    rows = chain(4)
    tamper(rows)
    walker = walk(rows)
    assert walker.broken is not None
    assert (walker.broken.event_id, walker.broken.reason) == (broken_id, reason)


def test_a_rehashed_edit_breaks_the_link_to_the_next_event() -> None:
    rows = chain(3)
    forged = replace(rows[1][1], actor="U0MALLORY")
    rows[1] = (20, forged, event_hash(forged))
    walker = walk(rows)
    assert walker.broken is not None and walker.broken.event_id == 30
    assert "previous-hash" in walker.broken.reason
    assert str(walker.broken).startswith("audit event id=30 (seq 3, k3, request #7)")


# --- OCSF ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "detail", "type_uid", "name"),
    [
        ("provisioned", {}, 300101, "Create"),
        ("credentials_reissued", {}, 300104, "Password Reset"),
        ("revoked", {"mode": "disable"}, 300105, "Disable"),
        ("revoked", {"mode": "delete"}, 300106, "Delete"),
        ("rolled_back", {}, 300106, "Delete"),
        ("provisioning_started", {"previous": "failed"}, 300199, "Retried"),
        ("credentials_expired", {}, 300199, "Credentials expired"),
    ],
)
def test_kinds_map_to_account_change_activities(
    kind: str, detail: dict, type_uid: int, name: str
) -> None:
    record = to_ocsf(StoredEvent(1, event(kind=kind, detail=detail), "h"))
    assert (record["class_uid"], record["type_uid"], record["activity_name"]) == (
        3001,
        type_uid,
        name,
    )


def test_failures_system_actors_and_events_without_a_request() -> None:
    failed = to_ocsf(StoredEvent(1, event(kind="provisioning_failed", actor="aws-access-bot"), "h"))
    assert (failed["status_id"], failed["status"]) == (2, "Failure")
    assert failed["actor"]["user"]["type"] == "System"
    summary = to_ocsf(
        StoredEvent(
            2,
            event(kind="pending_summary", request_id=None, account=None, iam_user=None),
            "h",
        )
    )
    assert "user" not in summary and "cloud" not in summary
    assert "correlation_uid" not in summary["metadata"]
    assert summary["message"] == "pending summary by U0OWNER"
