"""The approval message in the owners' channel (flows 1-4 and 6), its buttons, the deny-reason
modal, and THE parser of the request id a button or modal carries.

The message is re-rendered from the request on every change: buttons while pending
(Approve only while the request's profile still exists), then the outcome, then the
provisioning progress with Retry / Roll back on failure and Re-issue once provisioned.
Who may click what is the services' decision (bot/domain/policy.py); the buttons only
offer what the request's state allows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.domain.config import DEFAULT_ACCOUNT
from bot.domain.errors import DeliveryKind
from bot.domain.requests import RequestView
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status
from bot.slack.surfaces.blockkit import (
    MAX_FIELD,
    MAX_TEXT,
    Block,
    access_kinds,
    approvals_line,
    button,
    confirmation,
    context,
    escape,
    escape_within,
    metadata_of,
    mrkdwn,
    plain,
    slack_date,
    status_label,
    truncate,
    who,
)
from bot.slack.surfaces.revoke_messages import revoke_button, revoked_line, revoking_blocks
from bot.slack.surfaces.time_bound import duration_field, ends_line, extend_button, extension_line

APPROVE_ACTION = "approve_request"
DENY_ACTION = "deny_request"
PROVISION_RETRY = "provision_retry"
PROVISION_ROLLBACK = "provision_rollback"
REISSUE_ACTION = "credentials_reissue"
DENY_CALLBACK = "deny_form"
DENY_REASON_BLOCK = "deny_reason"
MAX_DENY_REASON = 500

# The largest id a button may name: bigger values are forged (Postgres' bigint bound).
_MAX_ID = 2**63 - 1


# --- the one request-id parser ----------------------------------------------------


def parse_request_id(value: object) -> int | None:
    """The request id in a button's value or a modal's metadata, or None when it is
    missing, garbled or forged (only plain ASCII digits of a positive id pass)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= _MAX_ID else None


def request_id_of(body: dict[str, Any]) -> int | None:
    """The request a clicked button (a block_actions payload) belongs to, or None."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    return parse_request_id(actions[0].get("value"))


# --- the message ------------------------------------------------------------------


def build(request: RequestView) -> tuple[str, list[Block]]:
    """(notification text, blocks): buttons while pending, the outcome afterwards."""
    text = f"Access request #{request.id} from <@{request.requester_id}> ({status_label(request)})"
    requested = f"{slack_date(request.created_at)} ({slack_date(request.created_at, '{ago}')})"
    blocks: list[Block] = [
        mrkdwn(f":key: *Access request #{request.id}* from <@{request.requester_id}>"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Profile*\n`{escape(request.profile)}`"},
                {"type": "mrkdwn", "text": truncate(f"*Grants*\n{grants(request)}", MAX_FIELD)},
                {"type": "mrkdwn", "text": f"*Access*\n{access_kinds(request)}"},
                {"type": "mrkdwn", "text": f"*IAM user*\n`{escape(request.iam_user_name)}`"},
                {"type": "mrkdwn", "text": f"*Requested*\n{requested}"},
                {"type": "mrkdwn", "text": f"*Status*\n{status_label(request)}"},
            ],
        },
        mrkdwn("*Reason*\n" + escape_within(request.reason or "(none given)", MAX_TEXT - 20)),
        context(approvals_line(request)),
    ]
    if request.account != DEFAULT_ACCOUNT:  # [[accounts]]: which AWS account (flow 7)
        fields = blocks[1]["fields"]
        fields.insert(1, {"type": "mrkdwn", "text": f"*AWS account*\n`{escape(request.account)}`"})
    if (duration := duration_field(request)) is not None:  # time-bound access (flow 6)
        blocks[1]["fields"].append(duration)
    if (extension := extension_line(request)) is not None:
        blocks.append(context(extension))
    if request.status is Status.PENDING:
        if not request.profile_available:
            blocks.append(mrkdwn(f":warning: This request cannot be approved: {PROFILE_GONE}."))
        blocks.append(
            {"type": "actions", "block_id": "decision", "elements": decision_buttons(request)}
        )
    else:
        blocks.append(mrkdwn(outcome_line(request)))
        blocks += provisioning_blocks(request)
    return text, blocks


def decision_buttons(request: RequestView) -> list[dict[str, Any]]:
    """Approve and Deny; no Approve once the request's profile left the config."""
    value = str(request.id)
    deny = button("Deny", DENY_ACTION, value, "danger")
    if not request.profile_available:
        return [deny]
    return [button("Approve", APPROVE_ACTION, value, "primary"), deny]


def grants(request: RequestView) -> str:
    parts = []
    if request.groups:
        parts.append("groups " + ", ".join(f"`{escape(g)}`" for g in request.groups))
    if request.policies:
        names = (p.rsplit("/", 1)[-1] for p in request.policies)
        parts.append("policies " + ", ".join(f"`{escape(n)}`" for n in names))
    return truncate("; ".join(parts) or "no groups or policies", MAX_FIELD)


def outcome_line(request: RequestView) -> str:
    """Who decided and when (or where the request stands)."""
    line = f"*{status_label(request).capitalize()}*"
    if request.decided_by:
        verb = {"cancelled": "cancelled", "denied": "denied"}.get(request.status.value, "approved")
        line = f"{line}: {verb} by {who(request.decided_by)}"
    if request.decided_at:
        line += f" {slack_date(request.decided_at)}"
    if request.deny_reason:
        line += "\n*Reason:* " + escape_within(request.deny_reason, MAX_TEXT - len(line) - 20)
    return line


# --- provisioning (flow 3), re-issue (flow 4), roll back (flow 6) -------------------

_PROGRESS = {
    Status.APPROVED: ":hourglass_flowing_sand: Approved; creating the IAM user…",
    Status.PROVISIONING: ":gear: Creating IAM user `{user}`…",
    Status.PROVISIONED: ":white_check_mark: IAM user `{user}` created; the requester got a link.",
    Status.REVOKED: ":wastebasket: IAM user `{user}` was removed (rolled back).",
}
# Provisioned, but no DM of the current link was accepted yet (the outbox retries it):
# the message never claims a delivery that has not happened.
_DELIVERING = ":white_check_mark: IAM user `{user}` created; delivering the link to the requester…"

# What each kind of undelivered message is, for the owners.
UNDELIVERED = {
    DeliveryKind.APPROVAL_POST: "the approval message",
    DeliveryKind.APPROVAL_UPDATE: "an update of the approval message",
    DeliveryKind.REQUESTER_OUTCOME: "the requester's DM about the decision",
    DeliveryKind.CREDENTIALS: "the requester's credentials link",
}


def provisioning_blocks(request: RequestView) -> list[Block]:
    """The part of the message after approval: progress; AWS's error with Retry / Roll
    back when it failed; a Re-issue for a lost or expired link once provisioned."""
    user = escape(request.iam_user_name)
    if request.status is Status.FAILED:
        return _failed_blocks(request, user)
    if request.status is Status.REVOKING:
        return revoking_blocks(request)
    if request.status is Status.REVOKED and request.revoked_at is not None:
        return [mrkdwn(revoked_line(request))]  # flow 6: who, why, which mode; no buttons
    template = _PROGRESS.get(request.status)
    if request.status is Status.PROVISIONED and not request.requester_dm_ts:
        template = _DELIVERING
    if template is None:
        return []
    progress = context(template.format(user=user))
    if request.status is not Status.PROVISIONED:
        return [progress]
    reissue = button(
        "Re-issue credentials",
        REISSUE_ACTION,
        str(request.id),
        confirm=confirmation(
            "Re-issue credentials?",
            f"Set a new password and access key for `{user}`, delete the old key and DM "
            "the requester a new link.",
            "Re-issue",
        ),
    )
    ends = [context(line)] if (line := ends_line(request)) else []
    extend = [b] if (b := extend_button(request)) else []
    return [
        progress,
        *ends,
        {
            "type": "actions",
            "block_id": f"credentials_{request.id}",
            "elements": [reissue, revoke_button(request), *extend],
        },
    ]


def _failed_blocks(request: RequestView, user: str) -> list[Block]:
    error = escape(request.last_error or "unknown error")
    roll_back = button(
        "Roll back",
        PROVISION_ROLLBACK,
        str(request.id),
        "danger",
        confirm=confirmation(
            "Roll back?",
            f"Delete IAM user `{user}` and everything this request attached to it.",
            "Roll back",
        ),
    )
    return [
        mrkdwn(
            f":x: *Creating IAM user `{user}` failed.*\n"
            f"AWS said: ```{truncate(error, MAX_TEXT - 200)}```"
        ),
        {
            "type": "actions",
            "block_id": f"provisioning_{request.id}",
            "elements": [button("Retry", PROVISION_RETRY, str(request.id), "primary"), roll_back],
        },
        context("Only the account owners can retry or roll back."),
    ]


def provisioning_failed_text(request: RequestView) -> str:
    """The thread reply that notifies the owners of a failure (an in-place update of the
    message notifies nobody); the message itself carries the buttons."""
    return truncate(
        f"Provisioning of request #{request.id} (IAM user {escape(request.iam_user_name)}) "
        f"failed: {escape(request.last_error or 'unknown error')}. Retry or roll back above."
    )


def undelivered_text(request: RequestView, kind: DeliveryKind, attempts: int, error: str) -> str:
    """The owners' note that the outbox gave up on a message (docs/architecture.md,
    "Deliveries (outbox)"); App Home and `aws-access-bot requests` list it too."""
    what = UNDELIVERED.get(kind, kind.value)
    hint = (
        " Re-issue the credentials to send a new link." if kind is DeliveryKind.CREDENTIALS else ""
    )
    return truncate(
        f":warning: Slack did not accept {what} for request #{request.id} after "
        f"{attempts} attempts ({escape(error or 'no answer')}); the bot stopped retrying.{hint}"
    )


# --- the deny-reason modal --------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a button was clicked, so the answer goes back there: App Home, or the
    channel (an ephemeral message)."""

    channel: str | None = None
    home: bool = False


@dataclass(frozen=True)
class DenySubmission:
    request_id: int | None  # None: the modal's metadata was garbled
    reason: str
    origin: Origin


def deny_modal(request_id: int, origin: Origin) -> dict[str, Any]:
    metadata = {"request_id": request_id, "channel": origin.channel, "home": origin.home}
    return {
        "type": "modal",
        "callback_id": DENY_CALLBACK,
        "private_metadata": json.dumps(metadata),
        "title": plain(f"Deny request #{request_id}", 24),
        "submit": plain("Deny", 24),
        "close": plain("Back", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": DENY_REASON_BLOCK,
                "optional": True,
                "label": plain("Reason (the requester sees it)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DENY_REASON_BLOCK,
                    "multiline": True,
                    "max_length": MAX_DENY_REASON,
                },
            }
        ],
    }


def parse_deny(view: dict[str, Any]) -> DenySubmission:
    """The submitted deny modal: which request, the reason ("" when none), the origin."""
    metadata = metadata_of(view.get("private_metadata"))
    values = (view.get("state") or {}).get("values") or {}
    element = (values.get(DENY_REASON_BLOCK) or {}).get(DENY_REASON_BLOCK) or {}
    channel = metadata.get("channel")
    return DenySubmission(
        request_id=parse_request_id(metadata.get("request_id")),
        reason=element.get("value") or "",
        origin=Origin(
            channel=channel if isinstance(channel, str) else None,
            home=metadata.get("home") is True,
        ),
    )
