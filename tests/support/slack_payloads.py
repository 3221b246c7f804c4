"""What Slack sends to /slack/events: slash commands, block_actions, view_submission,
Events API callbacks. Bodies are returned ready to sign (form- or JSON-encoded)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.support.slack_api import form

TEAM = {"id": "T0TEAM", "domain": "test"}
APP_ID = "A0APP"
_seq = itertools.count(1)


def _trigger() -> str:
    return f"{next(_seq)}.1111.trigger"


def _user(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": user_id.lower(),
        "name": user_id.lower(),
        "team_id": "T0TEAM",
    }


def slash_command(
    user_id: str, text: str = "", *, command: str = "/request-aws-access", channel: str = "C0GEN"
) -> str:
    return form(
        token="legacy-token",
        team_id="T0TEAM",
        team_domain="test",
        channel_id=channel,
        channel_name="general",
        user_id=user_id,
        user_name=user_id.lower(),
        command=command,
        text=text,
        api_app_id=APP_ID,
        response_url="https://hooks.slack.com/commands/T0TEAM/1/x",
        trigger_id=_trigger(),
    )


def block_action(
    user_id: str,
    action_id: str,
    value: str,
    *,
    channel: str = "C0APPROVALS",
    message_ts: str = "1700000001.000100",
    home: bool = False,
) -> str:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": TEAM,
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "legacy-token",
        "trigger_id": _trigger(),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "decision",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if home:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
        payload["view"] = {"id": "VHOME", "type": "home", "blocks": [], "private_metadata": ""}
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": "approvals"}
        payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
    return form(payload=payload)


def view_submission(user_id: str, view: dict[str, Any], values: dict[str, Any]) -> str:
    """Submit `view` (as the bot opened it) with the given state values."""
    submitted = {
        **view,
        "id": view.get("id", "V0VIEW"),
        "private_metadata": view.get("private_metadata", ""),
        "state": {"values": values},
    }
    return form(
        payload={
            "type": "view_submission",
            "team": TEAM,
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-token",
            "trigger_id": _trigger(),
            "view": submitted,
        }
    )


def request_values(
    profile: str | None,
    iam_user_name: str,
    *,
    console: bool = True,
    programmatic: bool = False,
    reason: str = "fix the build",
) -> dict[str, Any]:
    kinds = [k for k, on in (("console", console), ("programmatic", programmatic)) if on]
    return {
        "profile": {
            "profile": {
                "type": "static_select",
                "selected_option": {"value": profile} if profile else None,
            }
        },
        "iam_user_name": {"iam_user_name": {"type": "plain_text_input", "value": iam_user_name}},
        "access": {
            "access": {
                "type": "checkboxes",
                "selected_options": [{"value": k} for k in kinds],
            }
        },
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


def deny_values(reason: str | None) -> dict[str, Any]:
    return {"deny_reason": {"deny_reason": {"type": "plain_text_input", "value": reason}}}


def app_home_opened(user_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-token",
            "team_id": "T0TEAM",
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": f"Ev{next(_seq)}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D0HOME",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
    )
