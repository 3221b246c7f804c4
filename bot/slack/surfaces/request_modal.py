"""The request form (flow 1): `/request-aws-access [profile] [reason]` opens it, and its
submission becomes a RequestForm. Build, parse and ids live here together.

The input block ids are the RequestForm field names the submit use case reports errors
under (bot/services/submit.py), so its errors dict is the modal's `errors` as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.config import Profile
from bot.domain.time_bound import format_duration
from bot.services.submit import (
    ACCESS,
    DURATION,
    IAM_USER_NAME,
    MAX_REASON,
    PROFILE,
    REASON,
    RequestForm,
)
from bot.slack.surfaces.approval_message import parse_request_id
from bot.slack.surfaces.blockkit import escape, metadata_of, plain, truncate

COMMAND = "/request-aws-access"
CALLBACK_ID = "request_form"
PROFILE_BLOCK = PROFILE
NAME_BLOCK = IAM_USER_NAME
ACCESS_BLOCK = ACCESS
REASON_BLOCK = REASON
DURATION_BLOCK = DURATION
MAX_DURATION_INPUT = 8
MAX_NAME = 64  # IAM's limit
MAX_REASON_INPUT = MAX_REASON
MAX_OPTIONS = 100  # a static_select's limit

_ACCESS_OPTIONS = {
    "console": {
        "text": plain("Console (web sign-in with a password)"),
        "value": "console",
    },
    "programmatic": {
        "text": plain("Programmatic (access key for the CLI and SDKs)"),
        "value": "programmatic",
    },
}


def parse_arguments(text: str, profiles: Sequence[Profile]) -> tuple[str | None, str]:
    """`[profile] [reason]`: the first word is the profile when the config has it."""
    words = text.strip().split(maxsplit=1)
    if words and any(p.name == words[0].lower() for p in profiles):
        return words[0].lower(), words[1] if len(words) > 1 else ""
    return None, text.strip()


def help_text(profiles: Sequence[Profile]) -> str:
    names = ", ".join(f"`{escape(p.name)}`" for p in profiles)
    return truncate(
        f"*{COMMAND}* asks the AWS account owners for an IAM user.\n"
        f"• `{COMMAND}` opens the request form\n"
        f"• `{COMMAND} <profile> <reason>` opens it prefilled\n"
        f"• `{COMMAND} status` lists your requests\n"
        f"• `{COMMAND} help` shows this\n"
        f"Profiles: {names}. Once approved you get a one-time link to your credentials here."
    )


def build(
    profiles: Sequence[Profile],
    *,
    profile: str | None = None,
    iam_user_name: str = "",
    reason: str = "",
    console: bool | None = None,
    programmatic: bool | None = None,
    extends_request_id: int | None = None,
) -> dict[str, Any]:
    """The form; the arguments prefill it. `extends_request_id`: a Request extension of
    that grant (same profile, user name and access types; flow 6)."""
    chosen = next((p for p in profiles if p.name == profile), None)
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": plain("AWS access" if extends_request_id is None else "Extend AWS access", 24),
        "submit": plain("Request", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _input(PROFILE_BLOCK, "Access profile", _profile_select(profiles, chosen)),
            _input(
                NAME_BLOCK,
                "IAM user name",
                _text_input(NAME_BLOCK, iam_user_name, MAX_NAME, "e.g. alice"),
                hint="Letters, digits and + = , . @ _ - (at most 64). IAM ignores case.",
            ),
            _input(
                ACCESS_BLOCK,
                "Access",
                _access_checkboxes(chosen, console, programmatic),
                hint="The profile decides which kinds it grants.",
            ),
            _input(
                REASON_BLOCK,
                "Reason",
                _text_input(
                    REASON_BLOCK,
                    reason,
                    MAX_REASON_INPUT,
                    "What do you need it for? The owners see this.",
                    multiline=True,
                ),
            ),
        ],
    }
    if duration := _duration_block(profiles, chosen):
        view["blocks"].insert(3, duration)
    if extends_request_id is not None:
        view["private_metadata"] = json.dumps({"extends_request_id": extends_request_id})
        view["blocks"].insert(
            0,
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Asking to extend request #{extends_request_id}: the owners "
                        "approve it like any request.",
                    }
                ],
            },
        )
    return view


def parse(
    user_id: str, values: dict[str, dict[str, Any]], private_metadata: str = ""
) -> RequestForm:
    """The submitted form (view.state.values, and the view's private_metadata); a
    missing value reads as empty, and the submit use case says what is wrong with it."""

    def element(block: str) -> dict[str, Any]:
        return next(iter((values.get(block) or {}).values()), {}) or {}

    selected = element(PROFILE_BLOCK).get("selected_option") or {}
    kinds = {o.get("value") for o in element(ACCESS_BLOCK).get("selected_options") or []}
    return RequestForm(
        requester_id=user_id,
        profile=selected.get("value") or "",
        iam_user_name=element(NAME_BLOCK).get("value") or "",
        console="console" in kinds,
        programmatic="programmatic" in kinds,
        reason=element(REASON_BLOCK).get("value") or "",
        duration=element(DURATION_BLOCK).get("value") or "",
        extends_request_id=_extends(private_metadata),
    )


def _extends(private_metadata: str) -> int | None:
    """The grant a Request extension form extends (None: an ordinary request, or
    metadata that is not ours)."""
    return parse_request_id(metadata_of(private_metadata).get("extends_request_id"))


def _duration_block(profiles: Sequence[Profile], chosen: Profile | None) -> dict[str, Any] | None:
    """Asked only when some profile is time-bound (its max_duration); empty means the
    maximum. The submit use case checks it against the chosen profile."""
    bounded = [p for p in profiles if p.max_duration is not None]
    if not bounded:
        return None
    if chosen is not None and chosen.max_duration is not None:
        hint = f"Up to {format_duration(chosen.max_duration)}; empty means all of it."
    else:
        limits = ", ".join(
            f"{p.name} up to {format_duration(p.max_duration)}"
            for p in bounded[:5]
            if p.max_duration is not None
        )
        hint = f"Like 8h or 3d; empty means the profile's maximum ({limits})."
    block = _input(
        DURATION_BLOCK,
        "Duration",
        _text_input(DURATION_BLOCK, "", MAX_DURATION_INPUT, "e.g. 8h or 3d"),
        hint=hint,
    )
    block["optional"] = True
    return block


# --- parts ------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict[str, Any], hint: str = "") -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 150)
    return block


def _profile_select(profiles: Sequence[Profile], chosen: Profile | None) -> dict[str, Any]:
    options = [
        {"text": plain(p.name), "description": plain(p.description or p.name), "value": p.name}
        for p in profiles[:MAX_OPTIONS]
    ]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PROFILE_BLOCK,
        "placeholder": plain("Choose an access profile"),
        "options": options,
    }
    initial = next((o for o in options if chosen and o["value"] == chosen.name), None)
    if initial is not None:
        select["initial_option"] = initial
    return select


def _text_input(
    action_id: str, initial: str, max_length: int, placeholder: str, *, multiline: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "max_length": max_length,
        "placeholder": plain(placeholder),
    }
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _access_checkboxes(
    chosen: Profile | None, console: bool | None = None, programmatic: bool | None = None
) -> dict[str, Any]:
    """Both kinds offered; the chosen profile's kinds preselected (or the kinds given,
    for an extension: those of the grant)."""
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ACCESS_BLOCK,
        "options": list(_ACCESS_OPTIONS.values()),
    }
    if chosen is not None:
        allowed = {"console": chosen.console, "programmatic": chosen.programmatic}
        if console is not None and programmatic is not None:
            allowed = {
                "console": console and chosen.console,
                "programmatic": programmatic and chosen.programmatic,
            }
        initial = [option for kind, option in _ACCESS_OPTIONS.items() if allowed[kind]]
        if initial:
            checkboxes["initial_options"] = initial
    return checkboxes
