"""Access reviews, the pure parts: `[reviews]` validation (one line per problem), the
timing rules, the Block Kit pages and their parser, and the auditor's report."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from bot.config_file import SettingsError, parse_config
from bot.domain.config import ReviewsConfig, Unreviewed
from bot.domain.requests import MessageRef
from bot.domain.reviews import (
    ITEMS_PER_MESSAGE,
    Decision,
    GrantUsage,
    Review,
    ReviewAuditLine,
    ReviewItem,
    ReviewState,
    ReviewStatus,
    pages_of,
    period_start,
    reminder_due,
    reminder_interval,
    render_report,
    reopen_too_soon,
)
from bot.slack.surfaces import review_message
from bot.slack.surfaces.blockkit import MAX_MESSAGE_BLOCKS
from tests.support.configs import MINIMAL_CONFIG

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def parse(reviews: str):
    return parse_config(tomllib.loads(MINIMAL_CONFIG + "\n[reviews]\n" + reviews), "bot.toml")


def problems(reviews: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse(reviews)
    return caught.value.problems


def test_reviews_are_off_without_every() -> None:
    assert parse_config(tomllib.loads(MINIMAL_CONFIG), "bot.toml").reviews is None
    assert parse("").reviews is None


def test_a_valid_reviews_table() -> None:
    config = parse('every = "90d"\ndeadline = "7d"\nunreviewed = "revoke"\n')
    assert config.reviews == ReviewsConfig(
        every=timedelta(days=90), deadline=timedelta(days=7), unreviewed=Unreviewed.REVOKE
    )
    assert parse('every = "30d"').reviews == ReviewsConfig(every=timedelta(days=30))


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('every = "quarterly"', ["bot.toml: reviews.every must be a duration like"]),
        ('every = "90d"\nunreviewed = "delete"', ['reviews.unreviewed must be "keep" or "revoke"']),
        ('every = "7d"\ndeadline = "14d"', ["reviews.deadline must be shorter than reviews.every"]),
        ('deadline = "14d"', ["reviews.deadline is set but reviews.every is missing"]),
        ('every = "90d"\nhow_often = "1d"', ["reviews.how_often is not a known setting"]),
        (
            'every = "0d"\nunreviewed = 1\ndeadline = "x"',
            ["reviews.every must be", "reviews.deadline must be", "reviews.unreviewed must be"],
        ),
    ],
)
def test_each_problem_is_one_line_naming_its_key(table: str, expected: list[str]) -> None:
    found = problems(table)
    assert len(found) == len(expected), found
    for line, start in zip(sorted(found), sorted(expected), strict=True):
        assert start in line, found


# --- timing ---------------------------------------------------------------------------


def test_periods_are_the_same_for_every_replica() -> None:
    every = timedelta(days=90)
    start = period_start(NOW, every)
    assert start <= NOW < start + every
    assert period_start(NOW + timedelta(seconds=3), every) == start
    assert period_start(start + every, every) == start + every


def test_a_review_is_not_reopened_within_half_a_period() -> None:
    every = timedelta(days=90)
    assert not reopen_too_soon(None, NOW, every)
    assert reopen_too_soon(NOW - timedelta(days=44), NOW, every)
    assert not reopen_too_soon(NOW - timedelta(days=45), NOW, every)


def review(**kw) -> Review:
    values = dict(
        id=7,
        account="prod",
        period_start=NOW,
        opened_at=NOW,
        deadline_at=NOW + timedelta(days=14),
        status=ReviewStatus.OPEN,
        channel="C0APPROVALS",
    )
    return Review(**{**values, **kw})


def test_reminders_at_the_sweep_cadence_but_at_most_daily() -> None:
    reviews = ReviewsConfig(every=timedelta(days=90), deadline=timedelta(days=14))
    assert reminder_interval(reviews, timedelta(hours=4)) == timedelta(days=1)
    assert reminder_interval(reviews, timedelta(days=2)) == timedelta(days=2)
    short = ReviewsConfig(every=timedelta(days=1), deadline=timedelta(hours=8))
    assert reminder_interval(short, timedelta(minutes=30)) == timedelta(hours=2)
    day = timedelta(days=1)
    assert not reminder_due(review(), NOW + timedelta(hours=23), day)
    assert reminder_due(review(), NOW + day, day)
    reminded = review(last_reminded_at=NOW + day)
    assert not reminder_due(reminded, NOW + day + timedelta(hours=1), day)
    assert not reminder_due(review(), NOW + timedelta(days=14), day)  # deadline: policy
    assert not reminder_due(review(status=ReviewStatus.CLOSED), NOW + day, day)


# --- the message ----------------------------------------------------------------------


def item(i: int, **kw) -> ReviewItem:
    values = dict(
        id=i,
        review_id=7,
        request_id=100 + i,
        requester_id=f"U0MEMBER{i}",
        profile="developer",
        iam_user_name=f"user{i}",
        granted_at=NOW - timedelta(days=30),
        usage=GrantUsage(last_key_use=NOW - timedelta(days=2)),
    )
    return ReviewItem(**{**values, **kw})


def test_pages_fit_slacks_block_limit() -> None:
    items = [item(i) for i in range(1, 2 * ITEMS_PER_MESSAGE + 2)]
    pages = pages_of(items)
    assert [len(p) for p in pages] == [ITEMS_PER_MESSAGE, ITEMS_PER_MESSAGE, 1]
    state = ReviewState(review(), tuple(items))
    for page in pages:
        _, blocks = review_message.page(state, page, ("U0OWNER1",))
        assert len(blocks) <= MAX_MESSAGE_BLOCKS


def test_each_grant_has_keep_and_revoke_until_decided() -> None:
    undecided, kept = item(1), item(2, decision=Decision.KEEP, decided_by="U0OWNER1")
    unknown = item(3, usage=GrantUsage(known=False))
    state = ReviewState(review(), (undecided, kept, unknown))
    text, blocks = review_message.page(state, state.items, ("U0OWNER1", "U0OWNER2"))
    assert "Access review #7" in text
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [[e["action_id"] for e in a["elements"]] for a in actions] == [
        [review_message.KEEP_ACTION, review_message.REVOKE_ACTION]
    ] * 2
    assert [a["elements"][0]["value"] for a in actions] == ["1", "3"]
    assert "confirm" in actions[0]["elements"][1]  # Revoke asks first
    flat = str(blocks)
    assert "Kept by <@U0OWNER1>" in flat and "unknown" in flat
    assert "<@U0OWNER1> <@U0OWNER2>" in flat
    # Closed: no buttons at all.
    closed = ReviewState(review(status=ReviewStatus.CLOSED), state.items)
    _, blocks = review_message.page(closed, closed.items, ())
    assert not [b for b in blocks if b["type"] == "actions"]


def test_user_text_cannot_mention_or_link() -> None:
    sneaky = item(1, profile="<!channel>", iam_user_name="<https://evil|x>")
    _, blocks = review_message.page(ReviewState(review(), (sneaky,)), (sneaky,), ())
    assert "<!channel>" not in str(blocks) and "<https://evil" not in str(blocks)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("0", None),
        ("-1", None),
        ("1e3", None),
        ("１２", None),
        ("", None),
        (None, None),
    ],
)
def test_the_button_value_parser(value, expected) -> None:
    body = {"actions": [{"value": value}]}
    assert review_message.item_id_of(body) == expected
    assert review_message.item_id_of({}) is None


# --- the report -----------------------------------------------------------------------


def test_the_report_names_every_grant_and_decision() -> None:
    day = NOW + timedelta(days=1)
    items = (
        item(1, decision=Decision.KEEP, decided_by="U0OWNER1", decided_at=day),
        item(
            2,
            decision=Decision.REVOKE,
            decided_by="aws-access-bot",
            automatic=True,
            decided_at=NOW + timedelta(days=14),
        ),
        item(3, decision=Decision.GONE, automatic=True, usage=None),
    )
    state = ReviewState(
        review(
            status=ReviewStatus.CLOSED,
            closed_at=NOW + timedelta(days=14),
            message=MessageRef("C0APPROVALS", "1.2"),
        ),
        items,
    )
    trail = [
        ReviewAuditLine(NOW, "aws-access-bot", "review_opened", None, "grants=3"),
        ReviewAuditLine(day, "U0OWNER1", "review_kept", 101, "automatic=False"),
    ]
    report = render_report(state, trail, {101: "provisioned", 102: "revoked"})
    assert "Access review #7 of account prod" in report
    assert "1 kept, 1 revoked, 1 ended otherwise, 0 undecided" in report
    assert "kept by U0OWNER1 at 2026-11-29 09:00 UTC" in report
    assert "revoked by deadline policy" in report
    assert "access ended otherwise" in report and "unknown" in report
    assert "review_opened" in report and "review_kept" in report
    lines = report.splitlines()
    assert any(line.startswith("#102") and line.rstrip().endswith("revoked") for line in lines)
