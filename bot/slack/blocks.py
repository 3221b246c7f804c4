"""Pure Block Kit builders: data in, Slack JSON out. No I/O, tested for Slack's limits.

Limits: <= 50 blocks per message, <= 100 per view, <= 3000 chars per text object.
Every piece of user-supplied text goes through `escape()` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.domain.requests import RequestView
    from bot.settings import Profile

from bot.domain.reminders import wait_text
from bot.domain.requests import RequestView
from bot.settings import format_duration

Block = dict[str, Any]

MAX_TEXT = 3000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


def escape(text: str) -> str:
    """Escape mrkdwn control characters so user text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def slack_date(when_epoch: int, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack renders this in each reader's own time zone."""
    return f"<!date^{when_epoch}^{fmt}|{when_epoch}>"


# --- requests and decisions (flows 1-2) ------------------------------------------

# Ids the listeners match on. Input block ids equal RequestForm field names, so the
# service's errors dict is the modal's `errors` as-is.
REQUEST_CALLBACK = "request_form"
DENY_CALLBACK = "deny_form"
APPROVE_ACTION = "approve_request"
DENY_ACTION = "deny_request"
CANCEL_ACTION = "cancel_request"
PROFILE_BLOCK = "profile"
NAME_BLOCK = "iam_user_name"
ACCESS_BLOCK = "access"
REASON_BLOCK = "reason"
DENY_REASON_BLOCK = "deny_reason"
MAX_FIELD = 2000  # section fields
MAX_REASON_INPUT = 1000
MAX_LISTED = 20  # requests per status message / home section

STATUS_LABELS = {
    "pending": ":hourglass_flowing_sand: pending",
    "approved": ":white_check_mark: approved",
    "provisioning": ":gear: provisioning",
    "provisioned": ":white_check_mark: provisioned",
    "denied": ":no_entry: denied",
    "cancelled": ":heavy_multiplication_x: cancelled",
    "expired": ":hourglass: expired",
    "failed": ":warning: failed",
    "revoked": ":lock: revoked",
}


def escape_within(text: str, limit: int) -> str:
    """Escape user text and cut it to `limit` characters without splitting an entity."""
    out: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def status_label(request: RequestView) -> str:
    return STATUS_LABELS.get(request.status.value, request.status.value)


def access_kinds(request: RequestView) -> str:
    kinds = [
        k for k, on in (("console", request.console), ("programmatic", request.programmatic)) if on
    ]
    return " + ".join(kinds) or "none"


def approvals_line(request: RequestView) -> str:
    line = f"{len(request.approvers)} of {request.approvals_required} approvals"
    if request.approvers:
        line += ": " + ", ".join(f"<@{a}>" for a in request.approvers)
    return line


def grants(request: RequestView) -> str:
    parts = []
    if request.groups:
        parts.append("groups " + ", ".join(f"`{escape(g)}`" for g in request.groups))
    if request.policies:
        names = (p.rsplit("/", 1)[-1] for p in request.policies)
        parts.append("policies " + ", ".join(f"`{escape(n)}`" for n in names))
    return truncate("; ".join(parts) or "no groups or policies", MAX_FIELD)


def request_modal(
    profiles: Sequence[Profile],
    *,
    profile: str | None = None,
    iam_user_name: str = "",
    reason: str = "",
) -> dict[str, Any]:
    """The /request-aws-access form; the arguments prefill it."""
    options = [
        {
            "text": plain(p.name),
            "description": plain(p.description or p.name),
            "value": p.name,
        }
        for p in profiles[:100]
    ]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PROFILE_BLOCK,
        "placeholder": plain("Choose an access profile"),
        "options": options,
    }
    chosen = next((p for p in profiles if p.name == profile), None)
    if chosen is not None:
        select["initial_option"] = next(o for o in options if o["value"] == chosen.name)
    name_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": NAME_BLOCK,
        "max_length": 64,
        "placeholder": plain("e.g. alice"),
    }
    if iam_user_name:
        name_input["initial_value"] = iam_user_name[:64]
    access_options = {
        "console": {
            "text": plain("Console (web sign-in with a password)"),
            "value": "console",
        },
        "programmatic": {
            "text": plain("Programmatic (access key for the CLI and SDKs)"),
            "value": "programmatic",
        },
    }
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ACCESS_BLOCK,
        "options": list(access_options.values()),
    }
    if chosen is not None:
        initial = [
            access_options[k]
            for k, allowed in (("console", chosen.console), ("programmatic", chosen.programmatic))
            if allowed
        ]
        if initial:
            checkboxes["initial_options"] = initial
    reason_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": REASON_BLOCK,
        "multiline": True,
        "max_length": MAX_REASON_INPUT,
        "placeholder": plain("What do you need it for? The owners see this."),
    }
    if reason:
        reason_input["initial_value"] = reason[:MAX_REASON_INPUT]
    return {
        "type": "modal",
        "callback_id": REQUEST_CALLBACK,
        "title": plain("AWS access", 24),
        "submit": plain("Request", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": PROFILE_BLOCK,
                "label": plain("Access profile"),
                "element": select,
            },
            {
                "type": "input",
                "block_id": NAME_BLOCK,
                "label": plain("IAM user name"),
                "hint": plain(
                    "Letters, digits and + = , . @ _ - (at most 64). IAM ignores case.", 150
                ),
                "element": name_input,
            },
            {
                "type": "input",
                "block_id": ACCESS_BLOCK,
                "label": plain("Access"),
                "hint": plain("The profile decides which kinds it grants.", 150),
                "element": checkboxes,
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": plain("Reason"),
                "element": reason_input,
            },
        ],
    }


def approval_message(request: RequestView) -> tuple[str, list[Block]]:
    """The approval channel's message: buttons while pending, the outcome afterwards."""
    text = f"Access request #{request.id} from <@{request.requester_id}> ({status_label(request)})"
    created = epoch(request.created_at)
    blocks: list[Block] = [
        mrkdwn(f":key: *Access request #{request.id}* from <@{request.requester_id}>"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Profile*\n`{escape(request.profile)}`"},
                {"type": "mrkdwn", "text": truncate(f"*Grants*\n{grants(request)}", MAX_FIELD)},
                {"type": "mrkdwn", "text": f"*Access*\n{access_kinds(request)}"},
                {"type": "mrkdwn", "text": f"*IAM user*\n`{escape(request.iam_user_name)}`"},
                {
                    "type": "mrkdwn",
                    "text": f"*Requested*\n{slack_date(created)} ({slack_date(created, '{ago}')})",
                },
                {"type": "mrkdwn", "text": f"*Status*\n{status_label(request)}"},
            ],
        },
        mrkdwn("*Reason*\n" + escape_within(request.reason or "(none given)", MAX_TEXT - 20)),
        context(approvals_line(request)),
    ]
    if request.status.value == "pending":
        blocks.append(
            {
                "type": "actions",
                "block_id": "decision",
                "elements": decision_buttons(request.id),
            }
        )
    else:
        blocks.append(mrkdwn(outcome_line(request)))
        # After approval: provisioning progress, or AWS's error with Retry / Roll back.
        blocks += provisioning_blocks(request)
    return text, blocks


def decision_buttons(request_id: int) -> list[dict[str, Any]]:
    return [
        button("Approve", APPROVE_ACTION, str(request_id), "primary"),
        button("Deny", DENY_ACTION, str(request_id), "danger"),
    ]


def outcome_line(request: RequestView) -> str:
    """Who decided and when (or where the request stands)."""
    line = f"*{status_label(request).capitalize()}*"
    if request.decided_by:
        verb = {"cancelled": "cancelled", "denied": "denied"}.get(request.status.value, "approved")
        line = f"{line}: {verb} by <@{request.decided_by}>"
    if request.decided_at:
        line += f" {slack_date(epoch(request.decided_at))}"
    if request.deny_reason:
        line += "\n*Reason:* " + escape_within(request.deny_reason, MAX_TEXT - len(line) - 20)
    return line


def submitted_dm(request: RequestView) -> str:
    return (
        f"Your request #{request.id} for *{escape(request.profile)}* access "
        f"(IAM user `{escape(request.iam_user_name)}`) is waiting for the account owners. "
        "You will hear from me here when it is decided."
    )


def request_summary(request: RequestView) -> str:
    return (
        f"*#{request.id}* `{escape(request.profile)}` as `{escape(request.iam_user_name)}` · "
        f"{status_label(request)} · {slack_date(epoch(request.created_at))}"
    )


def help_text(profiles: Sequence[Profile]) -> str:
    names = ", ".join(f"`{escape(p.name)}`" for p in profiles)
    return truncate(
        "*/request-aws-access* asks the AWS account owners for an IAM user.\n"
        "• `/request-aws-access` opens the request form\n"
        "• `/request-aws-access <profile> <reason>` opens it prefilled\n"
        "• `/request-aws-access status` lists your requests\n"
        "• `/request-aws-access help` shows this\n"
        f"Profiles: {names}. Once approved you get a one-time link to your credentials here."
    )


def status_message(requests: Sequence[RequestView]) -> tuple[str, list[Block]]:
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
) -> dict[str, Any]:
    """App Home: the viewer's requests; for owners (`pending` given) the queue too."""
    blocks: list[Block] = []
    if notice:
        blocks.append(context(notice))
    blocks.append({"type": "header", "text": plain("Your requests", 150)})
    if not own:
        blocks.append(mrkdwn("No requests yet. Use `/request-aws-access` to ask for access."))
    for request in own[:MAX_LISTED]:
        block = mrkdwn(request_summary(request))
        if request.status.value == "pending":
            block["accessory"] = button("Cancel", CANCEL_ACTION, str(request.id))
        blocks.append(block)
    if pending is not None:
        blocks += [{"type": "divider"}, {"type": "header", "text": plain("Waiting for you", 150)}]
        if not pending:
            blocks.append(mrkdwn("Nothing is waiting for approval."))
        for request in pending[:MAX_LISTED]:
            blocks.append(
                mrkdwn(
                    f"*#{request.id}* <@{request.requester_id}> wants `{escape(request.profile)}` "
                    f"({access_kinds(request)}) as `{escape(request.iam_user_name)}` · "
                    f"{approvals_line(request)} · {slack_date(epoch(request.created_at), '{ago}')}"
                    "\n" + escape_within(request.reason, 1500)
                )
            )
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"decision-{request.id}",
                    "elements": decision_buttons(request.id),
                }
            )
        if len(pending) > MAX_LISTED:
            blocks.append(context(f"…and {len(pending) - MAX_LISTED} more in the channel"))
    return {"type": "home", "blocks": blocks}


def deny_modal(request_id: int, private_metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DENY_CALLBACK,
        "private_metadata": private_metadata,
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
                    "max_length": 500,
                },
            }
        ],
    }


# --- provisioning (flow 3) -------------------------------------------------------

PROVISION_RETRY = "provision_retry"
PROVISION_ROLLBACK = "provision_rollback"

_PROVISIONING_STATUS = {
    "approved": ":hourglass_flowing_sand: Approved; creating the IAM user…",
    "provisioning": ":gear: Creating IAM user `{user}`…",
    "provisioned": ":white_check_mark: IAM user `{user}` created; the requester got a link.",
    "revoked": ":wastebasket: IAM user `{user}` was removed (rolled back).",
}


def provisioning_blocks(request: RequestView) -> list[Block]:
    """The provisioning part of the approval message, for the statuses after approval.
    A failed request shows AWS's error and Retry / Roll back buttons (owners only)."""
    user = escape(request.iam_user_name)
    status = request.status.value
    if status == "failed":
        error = escape(request.last_error or "unknown error")
        return [
            mrkdwn(
                f":x: *Creating IAM user `{user}` failed.*\n"
                f"AWS said: ```{truncate(error, MAX_TEXT - 200)}```"
            ),
            {
                "type": "actions",
                "block_id": f"provisioning_{request.id}",
                "elements": [
                    button("Retry", PROVISION_RETRY, str(request.id), style="primary"),
                    {
                        **button("Roll back", PROVISION_ROLLBACK, str(request.id), style="danger"),
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Roll back?"},
                            "text": {
                                "type": "mrkdwn",
                                "text": f"Delete IAM user `{user}` and everything this "
                                "request attached to it.",
                            },
                            "confirm": {"type": "plain_text", "text": "Roll back"},
                            "deny": {"type": "plain_text", "text": "Cancel"},
                        },
                    },
                ],
            },
            context("Only the account owners can retry or roll back."),
        ]
    template = _PROVISIONING_STATUS.get(status)
    if status == "provisioned":
        # A lost or expired link needs an owner's Re-issue: offer it where owners look.
        return [
            context(template.format(user=user)),
            {
                "type": "actions",
                "block_id": f"credentials_{request.id}",
                "elements": [
                    {
                        **button("Re-issue credentials", REISSUE_ACTION, str(request.id)),
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Re-issue credentials?"},
                            "text": {
                                "type": "mrkdwn",
                                "text": f"Set a new password and access key for `{user}`, "
                                "delete the old key and DM the requester a new link.",
                            },
                            "confirm": {"type": "plain_text", "text": "Re-issue"},
                            "deny": {"type": "plain_text", "text": "Cancel"},
                        },
                    }
                ],
            },
        ]
    return [context(template.format(user=user))] if template else []


def provisioning_failed_text(request: RequestView) -> str:
    """Fallback/notification text for a failed request (owners see it in the thread)."""
    return truncate(
        f"Provisioning of request #{request.id} (IAM user {escape(request.iam_user_name)}) "
        f"failed: {escape(request.last_error or 'unknown error')}. Retry or roll back above."
    )


# --- credentials link (flow 4) ---------------------------------------------------

REISSUE_ACTION = "credentials_reissue"


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def credentials_link_message(
    request_id: int, iam_user_name: str, url: str, expires_at: datetime
) -> tuple[str, list[Block]]:
    """The requester's DM with the one-time link. The fallback `text` (shown in push
    notifications and previews) deliberately leaves the URL out."""
    expires = slack_date(_epoch(expires_at))
    text = f"Your AWS credentials for request #{request_id} are ready (one-time link)"
    blocks = [
        mrkdwn(
            f":key: *Your AWS credentials are ready* (request #{request_id}, "
            f"IAM user `{escape(iam_user_name)}`)."
        ),
        mrkdwn(f"<{url}|Open your one-time credentials link>"),
        context(
            f"The link works *once*: the page shows your password and access key a single "
            f"time and lets you download credentials.csv. It expires {expires}. "
            "Don't forward it; if it expires or gets lost, ask an account owner to re-issue."
        ),
    ]
    return text, blocks


def credentials_opened_text(request_id: int, at: datetime) -> str:
    return (
        f":white_check_mark: The credentials link of request #{request_id} was opened "
        f"{slack_date(_epoch(at))}. It cannot be used again."
    )


def credentials_expired_message(
    request_id: int, requester_id: str, iam_user_name: str
) -> tuple[str, list[Block]]:
    """Approval-thread offer to re-issue credentials whose link expired unopened."""
    text = f"The credentials link of request #{request_id} expired unopened"
    blocks = [
        mrkdwn(
            f":hourglass: The credentials link for <@{escape(requester_id)}> "
            f"(IAM user `{escape(iam_user_name)}`, request #{request_id}) expired unopened; "
            "its ciphertext is deleted."
        ),
        {
            "type": "actions",
            "elements": [
                button("Re-issue credentials", REISSUE_ACTION, str(request_id), "primary")
            ],
        },
        context("Re-issuing sets a new password and a new access key and deletes the old key."),
    ]
    return text, blocks


def credentials_expired_requester_text(request_id: int) -> str:
    return (
        f"Your credentials link for request #{request_id} expired before it was opened. "
        "An account owner can re-issue it."
    )


def credentials_reissued_text(request_id: int, by: str) -> str:
    return (
        f":arrows_counterclockwise: <@{escape(by)}> re-issued the credentials of request "
        f"#{request_id}: new password and access key, old key deleted, new link sent."
    )


# --- reminders and lifecycle (flow 5) --------------------------------------------

# Summary rows beyond this are counted, not listed: one message stays well inside
# Slack's limits, and the oldest (most overdue) requests are the ones shown.
MAX_SUMMARY_ROWS = 40


def _who(user_id: str) -> str:
    return f"<@{escape(user_id)}>"


def _request_line(request: RequestView) -> str:
    return (
        f"request #{request.id} from {_who(request.requester_id)} for "
        f"*{escape(request.profile)}* (IAM user `{escape(request.iam_user_name)}`)"
    )


def _sentence(text: str) -> str:
    # str.capitalize() would lowercase the rest, breaking <@U0ABC> mentions.
    return text[:1].upper() + text[1:]


def _since(request: RequestView, now: datetime) -> str:
    created = int(request.created_at.timestamp())
    return f"waiting {wait_text(request.created_at, now)} (since {slack_date(created)})"


def reminder_message(
    request: RequestView, owners: tuple[str, ...], reminder_number: int, now: datetime
) -> tuple[str, list[Block]]:
    """The thread reply nudging the owners who can still decide."""
    who = " ".join(_who(owner) for owner in owners)
    text = f"Reminder: {_request_line(request)} is still {_since(request, now)}."
    if who:
        text += f" {who}: please approve or deny it above."
    blocks = [mrkdwn(f":alarm_clock: {text}")]
    if request.approvals_required > 1:
        blocks.append(
            context(f"{len(request.approvers)} of {request.approvals_required} approvals so far")
        )
    blocks.append(context(f"Reminder {reminder_number}"))
    return text, blocks


def escalation_message(
    request: RequestView, reminder_number: int, now: datetime, permalink: str | None
) -> tuple[str, list[Block]]:
    """The DM an owner gets once a request has outlasted several reminders."""
    where = f"<{permalink}|the approval message>" if permalink else "the approval channel"
    text = (
        f"{_sentence(_request_line(request))} is still {_since(request, now)} "
        f"after {reminder_number} reminders. Please approve or deny it in {where}."
    )
    return text, [mrkdwn(f":rotating_light: {text}")]


def pending_summary_message(
    entries: list[tuple[RequestView, str | None]], total: int, now: datetime
) -> tuple[str, list[Block]]:
    """One channel message listing pending requests, oldest first, each linked."""
    title = f"{total} access request{'s' if total != 1 else ''} waiting for a decision"
    lines = []
    for request, permalink in entries[:MAX_SUMMARY_ROWS]:
        label = f"#{request.id}"
        link = f"<{permalink}|{label}>" if permalink else label
        lines.append(
            f"• {link} {_who(request.requester_id)} · *{escape(request.profile)}* · "
            f"{_since(request, now)}"
        )
    blocks: list[Block] = [mrkdwn(f":hourglass_flowing_sand: *{title}* (oldest first)")]
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_TEXT:
            blocks.append(mrkdwn("\n".join(chunk)))
            chunk = []
        chunk.append(truncate(line))
    if chunk:
        blocks.append(mrkdwn("\n".join(chunk)))
    if total > len(lines):
        blocks.append(context(f"…and {total - len(lines)} more"))
    return title, blocks


def expired_approval_message(
    request: RequestView, expired_after: timedelta
) -> tuple[str, list[Block]]:
    """The approval message once the request expired: what it was, no buttons."""
    text = (
        f"{_sentence(_request_line(request))} expired after "
        f"{format_duration(expired_after)} without a decision."
    )
    blocks = [mrkdwn(f":hourglass: ~{_request_line(request)}~")]
    if request.reason:
        blocks.append(mrkdwn(f"*Reason:* {escape(request.reason)}"))
    blocks.append(
        context(
            f"Expired after {format_duration(expired_after)} without a decision · "
            f"requested {slack_date(int(request.created_at.timestamp()))}"
        )
    )
    return text, blocks


def expired_requester_message(
    request: RequestView, expired_after: timedelta
) -> tuple[str, list[Block]]:
    """The requester's DM: their request expired, and how to ask again."""
    text = (
        f"Your request #{request.id} for *{escape(request.profile)}* access expired after "
        f"{format_duration(expired_after)} without a decision. To ask again, run "
        f"`/request-aws-access {escape(request.profile)}`."
    )
    return text, [mrkdwn(text)]


# --- sandbox mode (`aws-access-bot run --sandbox`) ----------------------------------
# Every message and view says so, so nobody mistakes a sandbox user for real access.
# The helpers are idempotent: marking twice (notifier and client) shows one note.

SANDBOX_NOTE = "🧪 sandbox — no real AWS account is touched"
SANDBOX_PREFIX = "🧪 [sandbox] "
SANDBOX_BLOCK_ID = "sandbox_note"


def sandbox_text(text: str) -> str:
    """A message's text (what notifications and text-only messages show), marked."""
    return text if text.startswith(SANDBOX_PREFIX) else SANDBOX_PREFIX + text


def sandbox_note_block() -> Block:
    return {
        "type": "context",
        "block_id": SANDBOX_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": SANDBOX_NOTE}],
    }


def sandbox_blocks(blocks: Sequence[Any] | None, limit: int = MAX_MESSAGE_BLOCKS) -> list | None:
    """`blocks` with the sandbox note on top, within Slack's block limit (the last block
    gives way when full). None stays None: the marked text is what Slack shows then."""
    if blocks is None:
        return None
    plain_blocks = [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]
    if any(b.get("block_id") == SANDBOX_BLOCK_ID for b in plain_blocks):
        return plain_blocks
    return [sandbox_note_block(), *plain_blocks][:limit]


def sandbox_view(view: dict[str, Any]) -> dict[str, Any]:
    """A modal or App Home view with the sandbox note as its first block."""
    return {**view, "blocks": sandbox_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS)}
