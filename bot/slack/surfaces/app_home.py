"""App Home (the viewer's requests, and for owners the queue they can decide) and the
`/request-aws-access status` answer, which lists the same requests ephemerally."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.requests import RequestView
from bot.domain.rotation import KeyAge
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status
from bot.domain.storage import Delivery
from bot.slack.surfaces.approval_message import UNDELIVERED, decision_buttons
from bot.slack.surfaces.blockkit import (
    Block,
    access_kinds,
    approvals_line,
    button,
    context,
    escape,
    escape_within,
    mrkdwn,
    plain,
    slack_date,
    status_label,
)
from bot.slack.surfaces.key_rotation import key_age_text
from bot.slack.surfaces.revoke_messages import revoke_button

CANCEL_ACTION = "cancel_request"
MAX_LISTED = 20  # requests per status message / home section


def request_summary(request: RequestView) -> str:
    return (
        f"*#{request.id}* `{escape(request.profile)}` as `{escape(request.iam_user_name)}` · "
        f"{status_label(request)} · {slack_date(request.created_at)}"
    )


def status_message(requests: Sequence[RequestView]) -> tuple[str, list[Block]]:
    """The requester's own requests, newest first."""
    if not requests:
        return "You have no access requests.", [mrkdwn("You have no access requests yet.")]
    shown = requests[:MAX_LISTED]
    blocks = [mrkdwn("*Your access requests*")] + [mrkdwn(request_summary(r)) for r in shown]
    if len(requests) > len(shown):
        blocks.append(context(f"…and {len(requests) - len(shown)} older"))
    return f"You have {len(requests)} access request(s).", blocks


def home_view(
    own: Sequence[RequestView],
    pending: Sequence[RequestView] | None,
    *,
    notice: str | None = None,
    undelivered: Sequence[tuple[RequestView, Delivery]] = (),
    active: Sequence[RequestView] | None = None,
    key_ages: Mapping[int, KeyAge] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The viewer's requests (a pending one can be cancelled); with `pending` given (the
    viewer owns accounts) the queue waiting for them, with the approval buttons, and
    what Slack never accepted for their requests (`undelivered`). An answer to the
    viewer's last click goes on top as `notice`."""
    blocks: list[Block] = []
    if notice:
        blocks.append(context(notice))
    blocks.append({"type": "header", "text": plain("Your requests", 150)})
    if not own:
        blocks.append(mrkdwn("No requests yet. Use `/request-aws-access` to ask for access."))
    for request in own[:MAX_LISTED]:
        block = mrkdwn(request_summary(request))
        if request.status is Status.PENDING:
            block["accessory"] = button("Cancel", CANCEL_ACTION, str(request.id))
        blocks.append(block)
    if pending is not None:
        blocks += _queue(pending)
    if active is not None:
        blocks += _active(active, key_ages or {}, now)
    if undelivered:
        blocks += _undelivered(undelivered)
    return {"type": "home", "blocks": blocks}


def _undelivered(entries: Sequence[tuple[RequestView, Delivery]]) -> list[Block]:
    """Messages the bot stopped retrying (docs/architecture.md, "Deliveries (outbox)")."""
    blocks: list[Block] = [
        {"type": "divider"},
        {"type": "header", "text": plain("Undelivered", 150)},
    ]
    for request, delivery in entries[:MAX_LISTED]:
        what = UNDELIVERED.get(delivery.kind, delivery.kind.value)
        blocks.append(
            mrkdwn(
                f":warning: *#{request.id}* <@{request.requester_id}> · Slack did not accept "
                f"{what} after {delivery.attempts} attempts "
                f"({escape(delivery.last_error or 'no answer')}) · "
                f"{status_label(request)}"
            )
        )
    return blocks


def _active(
    active: Sequence[RequestView], key_ages: Mapping[int, KeyAge], now: datetime | None
) -> list[Block]:
    """Flow 6: the access the owner's accounts have granted, each with Revoke."""
    blocks: list[Block] = [
        {"type": "divider"},
        {"type": "header", "text": plain("Active access", 150)},
    ]
    if not active:
        blocks.append(mrkdwn("Nobody holds access granted by the bot."))
    for request in active[:MAX_LISTED]:
        since = f" since {slack_date(request.provisioned_at)}" if request.provisioned_at else ""
        failed = (
            f"\n:x: Revoking failed: {escape(request.last_error)}"
            if (request.status is Status.REVOKING and request.last_error)
            else ""
        )
        # Key rotation (flow 6): how old the grant's bot-made access key is.
        key = key_age_text(key_ages.get(request.id), now) if now is not None else ""
        block = mrkdwn(
            f"*#{request.id}* <@{request.requester_id}> · `{escape(request.profile)}` as "
            f"`{escape(request.iam_user_name)}` · {status_label(request)}{since}{key}{failed}"
        )
        block["accessory"] = revoke_button(request)
        blocks.append(block)
    if len(active) > MAX_LISTED:
        blocks.append(context(f"…and {len(active) - MAX_LISTED} more (`aws-access-bot requests`)"))
    return blocks


def _queue(pending: Sequence[RequestView]) -> list[Block]:
    blocks: list[Block] = [
        {"type": "divider"},
        {"type": "header", "text": plain("Waiting for you", 150)},
    ]
    if not pending:
        blocks.append(mrkdwn("Nothing is waiting for approval."))
    for request in pending[:MAX_LISTED]:
        gone = ""
        if not request.profile_available:
            gone = f"\n:warning: Cannot be approved: {PROFILE_GONE}."
        blocks.append(
            mrkdwn(
                f"*#{request.id}* <@{request.requester_id}> wants `{escape(request.profile)}` "
                f"({access_kinds(request)}) as `{escape(request.iam_user_name)}` · "
                f"{approvals_line(request)} · {slack_date(request.created_at, '{ago}')}"
                "\n" + escape_within(request.reason, 1500) + gone
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decision-{request.id}",
                "elements": decision_buttons(request),
            }
        )
    if len(pending) > MAX_LISTED:
        blocks.append(context(f"…and {len(pending) - MAX_LISTED} more in the channel"))
    return blocks
