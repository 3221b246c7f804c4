"""Time-bound access rules (bot/domain/time_bound.py), table-tested, and `max_duration`
in the config file (one line per problem, naming the key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config_file import SettingsError, parse_config
from bot.domain import time_bound as tb
from tests.support.configs import DEVELOPER, config_toml

END = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
D, H, M, S = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", 5 * S),
        ("15m", 15 * M),
        (" 4H ", 4 * H),
        ("30d", 30 * D),
        ("0d", None),
        ("", None),
        ("3 weeks", None),
        ("-1d", None),
        ("1.5h", None),
    ],
)
def test_parse_duration(text: str, expected: timedelta | None) -> None:
    assert tb.parse_duration(text) == expected


@pytest.mark.parametrize(
    ("term", "leads"),
    [
        (30 * D, [D, H]),  # a day and an hour before
        (2 * D, [D, H]),  # the day-before warning still falls in the second half
        (D, [H]),  # a day before would be at the start
        (2 * H, [H]),
        (H, [12 * M]),  # too short for either: at 80%
        (5 * S, [1 * S]),
    ],
)
def test_warning_times(term: timedelta, leads: list[timedelta]) -> None:
    assert tb.warning_times(END, term) == sorted(END - lead for lead in leads)


def test_next_warning_skips_what_is_past_and_stops_at_the_end() -> None:
    term = 30 * D
    assert tb.first_warning(END, term, END - term) == END - D
    assert tb.next_warning(END, term, END - D) == END - H
    assert tb.next_warning(END, term, END - 2 * H) == END - H
    assert tb.next_warning(END, term, END - H) is None
    # A bot that was down past both: only what is still ahead.
    assert tb.next_warning(END, term, END - M) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),  # empty: the maximum
        ("7d", None),
        ("30d", None),
        ("31d", "At most 30d for this profile."),
        ("soon", "Write a duration like 8h or 3d (a number and s, m, h or d)."),
    ],
)
def test_duration_problem(text: str, problem: str | None) -> None:
    assert tb.duration_problem(text, 30 * D) == problem


def test_requested_duration() -> None:
    assert tb.requested_duration("", 30 * D) == 30 * D
    assert tb.requested_duration("8h", 30 * D) == 8 * H
    assert tb.requested_duration("8h", None) is None


def test_extension_ends_are_never_earlier() -> None:
    now = END - 5 * D
    assert tb.owner_extension_end(END, now, 30 * D) == now + 30 * D
    assert tb.owner_extension_end(END, now, 2 * D) == END
    assert tb.requested_extension_end(END, now, 10 * D) == now + 10 * D
    assert tb.requested_extension_end(END, now, D) == END


def test_describe() -> None:
    assert tb.describe(D) == "1 day"
    assert tb.describe(3 * H) == "3 hours"
    assert tb.describe(45 * M) == "45 minutes"
    assert tb.describe(5 * S) == "5 seconds"


def _problems(max_duration: object) -> list[str]:
    toml = config_toml({**DEVELOPER, "max_duration": max_duration})
    import tomllib

    try:
        parse_config(tomllib.loads(toml), "bot.toml")
    except SettingsError as exc:
        return exc.problems
    return []


def test_max_duration_in_the_config() -> None:
    import tomllib

    config = parse_config(tomllib.loads(config_toml({**DEVELOPER, "max_duration": "5s"})), "x")
    assert config.profiles[0].max_duration == 5 * S
    assert parse_config(tomllib.loads(config_toml(DEVELOPER)), "x").profiles[0].max_duration is None
    assert _problems("30d") == []
    assert _problems("forever") == [
        "bot.toml: profiles[0].max_duration must be a duration like 30s, 15m, 4h or 30d "
        "(got 'forever')"
    ]
    assert _problems(30) == [
        "bot.toml: profiles[0].max_duration must be a duration like 30s, 15m, 4h or 30d (got 30)"
    ]
    assert _problems("400d") == [
        "bot.toml: profiles[0].max_duration must be at most 366d (got '400d')"
    ]


# --- what Slack shows (bot/slack/surfaces/time_bound.py, the approval message) -----------


def _view(**kw: object):
    from bot.domain.requests import RequestView
    from bot.domain.states import Status

    base = dict(
        id=7,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name="alice",
        console=True,
        programmatic=True,
        reason="r",
        status=Status.PROVISIONED,
        created_at=END - 30 * D,
        approval_channel="C0APPROVALS",
        approval_ts="1.1",
        requester_dm_ts="2.2",
        max_duration=30 * D,
        access_duration=30 * D,
        access_expires_at=END,
    )
    return RequestView(**{**base, **kw})  # type: ignore[arg-type]


def _buttons(blocks: list) -> list[str]:
    return [
        e["action_id"]
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


def test_the_approval_message_offers_extend_on_time_bound_grants_only() -> None:
    from bot.slack.surfaces import approval_message
    from bot.slack.surfaces.time_bound import EXTEND_ACTION

    text, blocks = approval_message.build(_view())
    assert EXTEND_ACTION in _buttons(blocks)
    assert "Access ends" in str(blocks) and "*Duration*\\n30d" in str(blocks)
    _, forever = approval_message.build(
        _view(max_duration=None, access_duration=None, access_expires_at=None)
    )
    assert EXTEND_ACTION not in _buttons(forever)


def test_the_warning_dm_offers_request_extension() -> None:
    from bot.slack.surfaces.time_bound import REQUEST_EXTENSION_ACTION, warning_message

    text, blocks = warning_message(_view(), END - H)
    assert "about 1 hour" in text
    assert _buttons(blocks) == [REQUEST_EXTENSION_ACTION]
