"""The access review's messages in the account's approval channel (bot/domain/reviews.py):
one message per page of grants, each grant with who holds it, the profile, since when,
its last key use and console sign-in, and Keep / Revoke buttons until it is decided;
the reminders and the closing note, replies in the first message's thread. Pure
builders and the one parser of the buttons' values (a review item id).
"""

from __future__ import annotations

from typing import Any

from bot.domain.reviews import (
    Decision,
    ReviewItem,
    ReviewState,
    ReviewStatus,
    usage_text,
)
from bot.slack.surfaces.approval_message import parse_request_id
from bot.slack.surfaces.blockkit import (
    MAX_MESSAGE_BLOCKS,
    Block,
    button,
    confirmation,
    context,
    escape,
    mrkdwn,
    slack_date,
    who,
)

KEEP_ACTION = "review_keep"
REVOKE_ACTION = "review_revoke"


def item_id_of(body: dict[str, Any]) -> int | None:
    """The review item a clicked Keep / Revoke button belongs to, or None when the
    value is missing, garbled or forged."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    return parse_request_id(actions[0].get("value"))  # the same rule: a positive id


def _mentions(owners: tuple[str, ...]) -> str:
    return " ".join(who(owner) for owner in owners)


def _decided_line(item: ReviewItem) -> str:
    when = slack_date(item.decided_at) if item.decided_at else ""
    if item.decision is Decision.KEEP:
        by = "the deadline policy" if item.automatic else who(item.decided_by or "")
        return f":white_check_mark: Kept by {by} {when}"
    if item.decision is Decision.REVOKE:
        by = "the deadline policy" if item.automatic else who(item.decided_by or "")
        return f":no_entry: Revoked by {by} {when}"
    return ":heavy_minus_sign: Access ended before it was reviewed"


def item_blocks(item: ReviewItem, *, open_review: bool) -> list[Block]:
    key, console = usage_text(item.usage)
    since = slack_date(item.granted_at) if item.granted_at else "unknown"
    section: Block = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": f"{who(item.requester_id)} · `{escape(item.profile)}` · IAM user "
            f"`{escape(item.iam_user_name)}` (request #{item.request_id})",
        },
        "fields": [
            {"type": "mrkdwn", "text": f"*Since*\n{since}"},
            {"type": "mrkdwn", "text": f"*Last key use*\n{key}"},
            {"type": "mrkdwn", "text": f"*Last console sign-in*\n{console}"},
        ],
    }
    if item.decision is not None:
        return [section, context(_decided_line(item))]
    if not open_review:
        return [section, context("Not decided")]
    value = str(item.id)
    return [
        section,
        {
            "type": "actions",
            "block_id": f"review_item_{item.id}",
            "elements": [
                button("Keep", KEEP_ACTION, value, "primary"),
                button(
                    "Revoke",
                    REVOKE_ACTION,
                    value,
                    "danger",
                    confirm=confirmation(
                        "Revoke this access?",
                        f"IAM user `{escape(item.iam_user_name)}` loses its access now.",
                        "Revoke",
                    ),
                ),
            ],
        },
    ]


def page(
    state: ReviewState, items: tuple[ReviewItem, ...], owners: tuple[str, ...]
) -> tuple[str, list[Block]]:
    """(notification text, blocks) of one page of the review."""
    review = state.review
    open_review = review.status is ReviewStatus.OPEN
    text = f"Access review #{review.id} of account {review.account}: {len(state.items)} grants"
    head = (
        f":mag: *Access review #{review.id}* of account `{escape(review.account)}`: "
        f"please *Keep* or *Revoke* each active grant by {slack_date(review.deadline_at)}."
    )
    blocks: list[Block] = [
        mrkdwn(head),
        context(
            (f"For {_mentions(owners)} · " if owners else "")
            + f"{len(state.items)} grants in this review"
        ),
    ]
    for item in items:
        blocks += item_blocks(item, open_review=open_review)
    assert len(blocks) <= MAX_MESSAGE_BLOCKS, len(blocks)
    return text, blocks


def reminder(state: ReviewState, owners: tuple[str, ...], number: int) -> str:
    review = state.review
    left = len(state.undecided)
    return (
        f":bell: Reminder {number}: {left} of {len(state.items)} grants in access review "
        f"#{review.id} still need a decision, {_mentions(owners)}. Undecided grants are "
        f"handled by the deadline policy at {slack_date(review.deadline_at)}."
    )


def closed(state: ReviewState, unreviewed: str) -> str:
    review = state.review
    automatic = sum(
        1 for item in state.items if item.automatic and item.decision is not Decision.GONE
    )
    text = (
        f":lock: Access review #{review.id} is closed: {state.count(Decision.KEEP)} kept, "
        f"{state.count(Decision.REVOKE)} revoked, {state.count(Decision.GONE)} ended otherwise."
    )
    if automatic:
        text += f" {automatic} handled by the deadline policy ({unreviewed})."
    return text + f" Report: `aws-access-bot audit --review {review.id}`"
