"""Key rotation's rules (bot/domain/rotation.py), table by table: when a key is nudged
(and nudged again), when the old key of a rotation is deactivated, when it is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.rotation import (
    DELETE_AFTER,
    RENUDGE_AFTER,
    DeactivationReason,
    KeyAge,
    days_old,
    deactivation_due,
    deletion_due,
    nudge_due,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=90)
GRACE = timedelta(days=7)
D = timedelta(days=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("now", "last_nudged", "due"),
    [
        (T0 + 89 * D, None, False),  # young
        (T0 + 90 * D, None, False),  # exactly max_age: not older
        (T0 + 90 * D + H, None, True),  # older, never nudged
        (T0 + 91 * D, T0 + 91 * D, False),  # nudged just now
        (T0 + 97 * D, T0 + 91 * D, False),  # less than RENUDGE_AFTER since
        (T0 + 98 * D, T0 + 91 * D, True),  # RENUDGE_AFTER since: again
        (T0 + 200 * D, T0 + 150 * D, True),
    ],
)
def test_nudge_due(now: datetime, last_nudged: datetime | None, due: bool) -> None:
    assert nudge_due(T0, now, MAX_AGE, last_nudged_at=last_nudged) is due


def test_renudge_is_a_week() -> None:
    assert RENUDGE_AFTER == 7 * D


@pytest.mark.parametrize(
    ("elapsed", "used", "reason"),
    [
        (timedelta(0), False, None),
        (GRACE - H, False, None),
        (timedelta(minutes=5), True, DeactivationReason.NEW_KEY_USED),
        (GRACE, False, DeactivationReason.GRACE_OVER),
        (GRACE + D, False, DeactivationReason.GRACE_OVER),
        (GRACE + D, True, DeactivationReason.NEW_KEY_USED),
    ],
)
def test_deactivation_due(
    elapsed: timedelta, used: bool, reason: DeactivationReason | None
) -> None:
    assert deactivation_due(T0, T0 + elapsed, GRACE, new_key_used=used) == reason


@pytest.mark.parametrize(
    ("elapsed", "due"), [(timedelta(0), False), (DELETE_AFTER - H, False), (DELETE_AFTER, True)]
)
def test_deletion_due(elapsed: timedelta, due: bool) -> None:
    assert deletion_due(T0, T0 + elapsed) is due


@pytest.mark.parametrize(
    ("age", "text"),
    [(H, "less than a day"), (D, "1 day"), (D + 23 * H, "1 day"), (93 * D, "93 days")],
)
def test_days_old(age: timedelta, text: str) -> None:
    assert days_old(age) == text


def test_key_age_never_negative() -> None:
    key = KeyAge(1, "AKIA", T0)
    assert key.age(T0 - H) == timedelta(0)
    assert key.age(T0 + 93 * D) == 93 * D
