"""Taking access back (flow 6): `/revoke-aws-access @member [reason]`, the Revoke button,
the owners' confirm modal listing what will be removed, and every revoke message (the
approval message's closing lines, the requester's DM, the owners' channel notes).

Builders are pure functions of domain values; the parsers read only what the bot
itself put in the payload (a member mention, the modal's metadata and reason)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.requests import RequestView
from bot.domain.revocation import RevokeMode, RevokeOutcome, RevokePlan
from bot.domain.states import Status
from bot.slack.surfaces.approval_message import Origin, grants, parse_request_id
from bot.slack.surfaces.blockkit import (
    MAX_TEXT,
    Block,
    context,
    escape,
    metadata_of,
    mrkdwn,
    plain,
    truncate,
    who,
)
from bot.slack.surfaces.revoke_messages import MODES

COMMAND = "/revoke-aws-access"
REVOKE_CALLBACK = "revoke_form"
REASON_BLOCK = "revoke_reason"
MAX_REASON = 500
MAX_GRANTS = 10  # per modal: a member rarely holds more; the rest are counted

USAGE = f"Usage: `{COMMAND} @member [reason]`: revoke every AWS access the member holds."
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# --- the command ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommandArgs:
    member: str | None  # None: no member named (the usage is shown)
    reason: str


def parse_command(text: str) -> CommandArgs:
    """`<@U123|name> reason...` (Slack escapes the mention) or `U123 reason...`."""
    head, _, rest = (text or "").strip().partition(" ")
    match = _MENTION.match(head)
    member = match.group(1) if match else (head if _USER_ID.match(head) else None)
    return CommandArgs(member, rest.strip()[:MAX_REASON])


def nothing_to_revoke_text(member: str) -> str:
    return f"{who(member)} holds no AWS access that you can revoke."


# --- the confirm modal ----------------------------------------------------------------


@dataclass(frozen=True)
class RevokeSubmission:
    request_ids: tuple[int, ...]
    reason: str
    origin: Origin


def confirm_modal(
    grants_: Sequence[tuple[RequestView, RevokePlan | None, str]],
    *,
    mode: RevokeMode,
    reason: str = "",
    origin: Origin | None = None,
    loading: bool = False,
) -> dict[str, Any]:
    """What will be removed, one section per grant: its IAM user, groups, policies and
    keys (from IAM once read; `loading` while the bot asks IAM), and the reason field."""
    origin = origin or Origin()
    shown = list(grants_)[:MAX_GRANTS]
    ids = [request.id for request, _, _ in shown]
    metadata = {"request_ids": ids, "channel": origin.channel, "home": origin.home}
    blocks: list[Block] = [
        mrkdwn(f"*Mode:* {MODES[mode.value]}."),
    ]
    for request, plan, problem in shown:
        blocks.append({"type": "divider"})
        blocks.append(mrkdwn(_grant_text(request, plan, problem, loading=loading)))
    if len(grants_) > len(shown):
        blocks.append(context(f"…and {len(grants_) - len(shown)} more; revoke them afterwards."))
    reason_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": REASON_BLOCK,
        "multiline": True,
        "max_length": MAX_REASON,
    }
    if reason:
        reason_input["initial_value"] = reason[:MAX_REASON]
    blocks.append(
        {
            "type": "input",
            "block_id": REASON_BLOCK,
            "optional": True,
            "label": plain("Reason (the requester and the owners see it)"),
            "element": reason_input,
        }
    )
    title = "Revoke access" if len(ids) != 1 else f"Revoke #{ids[0]}"
    return {
        "type": "modal",
        "callback_id": REVOKE_CALLBACK,
        "private_metadata": json.dumps(metadata),
        "title": plain(title, 24),
        "submit": plain("Revoke", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _grant_text(
    request: RequestView, plan: RevokePlan | None, problem: str, *, loading: bool
) -> str:
    head = (
        f"*#{request.id}* {who(request.requester_id)} · `{escape(request.profile)}` · "
        f"IAM user `{escape(request.iam_user_name)}`"
    )
    if request.status is Status.REVOKING:
        head += " · :wastebasket: revoking (unfinished: submitting tries again)"
    if plan is None:
        if loading:
            return f"{head}\nGrants {grants(request)}\n_Reading what IAM holds…_"
        note = f"\n:warning: {escape(problem)}" if problem else ""
        return truncate(f"{head}\nGrants {grants(request)}{note}", MAX_TEXT)
    if not plan.exists:
        return f"{head}\nThe IAM user no longer exists: nothing left to remove."
    lines = [head]
    lines.append("Console password: " + ("yes" if plan.console else "none"))
    lines.append("Access keys: " + (_codes(plan.access_keys) or "none"))
    lines.append("Groups: " + (_codes(plan.groups) or "none"))
    policies = [_codes([p.rsplit("/", 1)[-1]]) for p in plan.policies]
    policies += [f"{_codes([p])} (inline)" for p in plan.inline_policies]
    lines.append("Policies: " + (", ".join(policies) or "none"))
    if plan.mfa_devices:
        lines.append("MFA devices: " + _codes([d.rsplit("/", 1)[-1] for d in plan.mfa_devices]))
    if plan.other:
        lines.append("Also: " + ", ".join(escape(o) for o in plan.other))
    return truncate("\n".join(lines), MAX_TEXT)


def _codes(items: Sequence[str]) -> str:
    return ", ".join(f"`{escape(i)}`" for i in items)


def parse_submission(view: dict[str, Any]) -> RevokeSubmission:
    """The submitted confirm modal: which requests, the reason, where it was opened."""
    metadata = metadata_of(view.get("private_metadata"))
    raw_ids = metadata.get("request_ids")
    ids = tuple(
        i
        for i in (parse_request_id(v) for v in (raw_ids if isinstance(raw_ids, list) else []))
        if i is not None
    )
    values = (view.get("state") or {}).get("values") or {}
    element = (values.get(REASON_BLOCK) or {}).get(REASON_BLOCK) or {}
    channel = metadata.get("channel")
    return RevokeSubmission(
        request_ids=ids,
        reason=(element.get("value") or "").strip()[:MAX_REASON],
        origin=Origin(
            channel=channel if isinstance(channel, str) else None,
            home=metadata.get("home") is True,
        ),
    )


def outcomes_text(outcomes: Sequence[RevokeOutcome]) -> str:
    """The owner's answer after submitting."""
    lines = []
    for outcome in outcomes:
        mark = ":white_check_mark:" if outcome.done else ":x:"
        lines.append(f"{mark} {escape(_sentence(outcome.message))}")
    return truncate("\n".join(lines) or "Nothing was revoked.")


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
