"""Helpers for the end-to-end tests: driving the bot as Slack and a person would, and
reading what it left behind (Slack calls, IAM, the database). Waiting, revealing a link
and scanning for secrets are shared with other tests (tests/support)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support.configs import S3_READ_ONLY, config_toml, profile
from tests.support.slack_api import SlackApiStub

OWNER1, OWNER2, ALICE, MALLORY = "U0OWNER1", "U0OWNER2", "U0ALICE", "U0MALLORY"
APPROVALS = "C0APPROVALS"
POLICY = S3_READ_ONLY
REMINDERS = {"every": "4h", "remind_after": "1h", "expire_after": "7d"}


def render_config(group: str, missing_group: str, extra: str = "") -> str:
    """The e2e config: `developer` joins the IAM group `group`; `broken` names
    `missing_group`, which does not exist in IAM (yet)."""
    return config_toml(
        profile(
            "developer",
            "Read/write on dev resources",
            groups=[group],
            policies=[POLICY],
            console=True,
            programmatic=True,
            approvals_required=1,
        ),
        profile(
            "broken",
            "Names a group that does not exist in IAM (yet)",
            groups=[missing_group],
            policies=[],
            console=True,
            programmatic=True,
            approvals_required=1,
        ),
        aws={"iam_path": "/e2e/"},
        reminders=REMINDERS,
        extra=extra,
    )


def add_users(api: SlackApiStub) -> None:
    for user, email in (
        (ALICE, "alice@example.com"),
        (MALLORY, "mallory@example.com"),
        (OWNER1, "owner1@example.com"),
        (OWNER2, "owner2@example.com"),
    ):
        api.add_user(user, email)


# --- what Slack was told -----------------------------------------------------------


def texts_of(call: dict[str, Any]) -> str:
    """Everything a person would read in one chat.* call: text and every block's text."""
    return (call.get("text") or "") + " " + json.dumps(call.get("blocks") or [])


def dm_links(api: SlackApiStub, user: str) -> list[tuple[dict[str, Any], str]]:
    """(call, url) for every credentials link DMed to `user` (D + id without the U)."""
    channel = "D" + user.lstrip("UW")
    found = []
    for call in api.calls_to("chat.postMessage"):
        if call.get("channel") != channel:
            continue
        for match in re.finditer(r"<(https?://[^|>]+/credentials/[^|>]+)\|", texts_of(call)):
            found.append((call, match.group(1)))
    return found


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> value for every button in a chat.update/postMessage call."""
    return {
        element["action_id"]: element.get("value", "")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    }


def last_update(api: SlackApiStub, ts: str) -> dict[str, Any]:
    updates = [c for c in api.calls_to("chat.update") if c.get("ts") == ts]
    assert updates, f"the approval message {ts} was never updated"
    return updates[-1]


# --- IAM -----------------------------------------------------------------------------


def iam_user_state(iam: Any, name: str) -> dict[str, Any] | None:
    """Everything IAM holds for `name`, or None when the user does not exist."""
    try:
        user = iam.get_user(UserName=name)["User"]
    except iam.exceptions.NoSuchEntityException:
        return None
    try:
        iam.get_login_profile(UserName=name)
        login_profile = True
    except iam.exceptions.NoSuchEntityException:
        login_profile = False
    return {
        "path": user["Path"],
        "tags": {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]},
        "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
        "policies": sorted(
            p["PolicyArn"]
            for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        ),
        "keys": sorted(
            k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        ),
        "login_profile": login_profile,
    }


# --- where secrets must not be (the scan: tests.support.secrets) -----------------------


def slack_bodies(api: SlackApiStub) -> str:
    """Every Web API call the bot made, as text."""
    return "\n".join(json.dumps(c.params) for c in api.calls)
