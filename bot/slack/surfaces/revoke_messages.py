"""Every revoke message (flow 6) outside the confirm modal: the Revoke button, the
approval message's closing lines, the requester's DM and the owners' channel notes.
Pure functions of the request (its revoked_by, revoke_reason, revoke_cause, revoke_mode)."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeCause, RevokeMode
from bot.domain.states import Status
from bot.slack.surfaces.blockkit import (
    MAX_TEXT,
    Block,
    button,
    context,
    escape,
    escape_within,
    mrkdwn,
    slack_date,
    truncate,
    who,
)

REVOKE_ACTION = "revoke_access"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

MODES = {
    RevokeMode.DISABLE.value: (
        "disable: console password deleted, access keys deactivated, groups and policies "
        "removed; the IAM user stays for the audit trail"
    ),
    RevokeMode.DELETE.value: (
        "delete: every key, credential, MFA device, policy and group membership removed, "
        "then the IAM user deleted"
    ),
}
CAUSES = {
    RevokeCause.OWNER.value: "",
    RevokeCause.CLI.value: " (from the terminal)",
    RevokeCause.DEACTIVATION.value: " (the member was deactivated in Slack)",
    RevokeCause.EXPIRY.value: " (the access reached its maximum duration)",
    RevokeCause.REVIEW.value: " (access review)",
}


# --- the Revoke button ----------------------------------------------------------------


def revoke_button(request: RequestView) -> dict[str, Any]:
    label = "Revoke" if request.status is Status.PROVISIONED else "Retry revoke"
    return button(label, REVOKE_ACTION, str(request.id), "danger")


# --- the approval message's closing lines --------------------------------------------


def revoked_line(request: RequestView) -> str:
    """Revoked: by whom, when, why and what was done (no buttons follow)."""
    by = _by(request.revoked_by)
    when = f" {slack_date(request.revoked_at)}" if request.revoked_at else ""
    cause = CAUSES.get(request.revoke_cause or "", "")
    mode = MODES.get(request.revoke_mode or "", "")
    line = f":lock: *Access revoked* by {by}{cause}{when}."
    if mode:
        line += f"\n_{mode}._"
    if request.revoke_reason:
        line += "\n*Why:* " + escape_within(request.revoke_reason, MAX_TEXT - len(line) - 20)
    return line


def revoking_blocks(request: RequestView) -> list[Block]:
    """Revoking: under way, or failed (AWS's error, and a button to try again now)."""
    user = escape(request.iam_user_name)
    if not request.last_error:
        return [context(f":wastebasket: Revoking IAM user `{user}`…")]
    error = escape(request.last_error)
    return [
        mrkdwn(
            f":x: *Revoking IAM user `{user}` failed;* the bot retries it.\n"
            f"AWS said: ```{truncate(error, MAX_TEXT - 200)}```"
        ),
        {
            "type": "actions",
            "block_id": f"revoke_{request.id}",
            "elements": [revoke_button(request)],
        },
    ]


# --- what people are told --------------------------------------------------------------


def requester_revoked_text(request: RequestView) -> str:
    """The requester's DM."""
    by = _by(request.revoked_by)
    cause = CAUSES.get(request.revoke_cause or "", "")
    why = f" Reason: {escape(request.revoke_reason)}" if request.revoke_reason else ""
    return (
        f"Your AWS access from request #{request.id} (*{escape(request.profile)}*, IAM user "
        f"`{escape(request.iam_user_name)}`) was revoked by {by}{cause}.{why}"
    )


def owners_revoked_text(request: RequestView) -> str:
    """The owners' note in the account's approval channel (automatic revokes too)."""
    by = _by(request.revoked_by)
    cause = CAUSES.get(request.revoke_cause or "", "")
    why = f" Reason: {escape(request.revoke_reason)}" if request.revoke_reason else ""
    mode = request.revoke_mode or ""
    return truncate(
        f":lock: {by} revoked the AWS access of {who(request.requester_id)} (request "
        f"#{request.id}, IAM user `{escape(request.iam_user_name)}`, mode {mode}){cause}.{why}"
    )


def owners_failed_text(request: RequestView) -> str:
    return truncate(
        f":x: Revoking request #{request.id} (IAM user `{escape(request.iam_user_name)}`) "
        f"failed: {escape(request.last_error or 'unknown error')}. The bot retries it; "
        "Retry revoke on the request's message tries now."
    )


def owners_refused_text(request: RequestView, message: str) -> str:
    return truncate(
        f":no_entry: Did not revoke request #{request.id} of {who(request.requester_id)}: "
        f"{escape(message)}"
    )


def _by(actor: str | None) -> str:
    """A Slack member is mentioned; someone at the terminal is named as the audit log
    names them (`cli:alice`); the bot's own revokes say so."""
    if actor and _USER_ID.match(actor):
        return who(actor)
    if actor and actor.startswith("cli:"):
        return f"`{escape(actor)}`"
    return "the bot"
