"""Every direct message to a requester, from "submitted" to "your link expired".

The credentials link is the one secret-bearing message: its URL carries the decryption
key (docs/architecture.md, "Credentials"), so it appears in the blocks only, never in
the notification text, and the notifier posts it with unfurling off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.credentials import IssuedLink
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import format_duration
from bot.slack.surfaces.blockkit import Block, context, escape, mrkdwn, slack_date, who
from bot.slack.surfaces.request_modal import COMMAND
from bot.slack.surfaces.revoke_messages import requester_revoked_text


def _request(request: RequestView) -> str:
    return f"Your request #{request.id} for *{escape(request.profile)}*"


def submitted_text(request: RequestView) -> str:
    return (
        f"{_request(request)} access (IAM user `{escape(request.iam_user_name)}`) is waiting "
        "for the account owners. You will hear from me here when it is decided."
    )


def name_taken_text(request: RequestView) -> str:
    """The full IAM name check, after the form's ack, found the name taken."""
    return (
        f"{_request(request)} was withdrawn before it reached the owners: an IAM user named "
        f"like `{escape(request.iam_user_name)}` already exists (IAM ignores case). "
        f"Run `{COMMAND}` again with another name."
    )


def approved_text(request: RequestView, by: str) -> str:
    if request.extends_request_id is not None:  # a Request extension (flow 6)
        return (
            f"{_request(request)} was approved by {who(by)}. Your access from request "
            f"#{request.extends_request_id} is being extended; you keep your credentials."
        )
    return (
        f"{_request(request)} was approved by {who(by)}. Your IAM user is being created; "
        "the one-time link to your credentials will arrive here."
    )


def denied_text(request: RequestView, by: str) -> str:
    because = f" Reason: {escape(request.deny_reason)}" if request.deny_reason else ""
    return f"{_request(request)} was denied by {who(by)}.{because}"


def delayed_text(request: RequestView) -> str:
    """Provisioning failed: the owners were told in their channel and can retry."""
    return (
        f"Your AWS access request #{request.id} was approved, but creating IAM user "
        f"`{escape(request.iam_user_name)}` hit a problem. The AWS account owners have been "
        "told and can retry; nothing to do for now."
    )


def expired_message(request: RequestView, expired_after: timedelta) -> tuple[str, list[Block]]:
    """Nobody decided in time; how to ask again."""
    text = (
        f"{_request(request)} access expired after {format_duration(expired_after)} without "
        f"a decision. To ask again, run `{COMMAND} {escape(request.profile)}`."
    )
    return text, [mrkdwn(text)]


def outcome_message(
    request: RequestView, expired_after: timedelta
) -> tuple[str, list[Block] | None] | None:
    """The requester's DM for where the request stands (the outbox's retry of a lost
    one), or None when that state has no DM of its own (cancelled by the requester,
    provisioned: the link's DM says it all, rolled back, still pending)."""
    by = request.decided_by or ""
    if request.status in (Status.APPROVED, Status.PROVISIONING):
        return approved_text(request, by), None
    if request.status is Status.DENIED:
        return denied_text(request, by), None
    if request.status is Status.EXPIRED:
        return expired_message(request, expired_after)
    if request.status is Status.FAILED:
        return delayed_text(request), None
    if request.status is Status.REVOKED and request.revoked_at is not None:
        return requester_revoked_text(request), None  # flow 6 (not a roll back)
    return None


# --- the credentials link (flow 4) -------------------------------------------------


def credentials_link_message(request: RequestView, link: IssuedLink) -> tuple[str, list[Block]]:
    """The one-time link. The notification text (push notifications, previews) leaves
    the URL out on purpose."""
    text = f"Your AWS credentials for request #{request.id} are ready (one-time link)"
    blocks = [
        mrkdwn(
            f":key: *Your AWS credentials are ready* (request #{request.id}, "
            f"IAM user `{escape(request.iam_user_name)}`)."
        ),
        mrkdwn(f"<{link.url}|Open your one-time credentials link>"),
        context(
            "The link works *once*: the page shows your password and access key a single "
            "time and lets you download credentials.csv. It expires "
            f"{slack_date(link.expires_at)}. Don't forward it; if it expires or gets lost, "
            "ask an account owner to re-issue."
        ),
    ]
    return text, blocks


def credentials_opened_text(request: RequestView, at: datetime) -> str:
    """Said under the link's DM and in the approval thread."""
    return (
        f":white_check_mark: The credentials link of request #{request.id} was opened "
        f"{slack_date(at)}. It cannot be used again."
    )


def link_expired_text(request: RequestView) -> str:
    return (
        f"Your credentials link for request #{request.id} expired before it was opened. "
        "An account owner can re-issue it."
    )
