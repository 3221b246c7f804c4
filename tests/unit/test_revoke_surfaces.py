"""Flow 6's pure parts: `[offboarding]` parsing (one line per problem), the command's
arguments, the confirm modal's round trip, and what the messages say."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config_file import SettingsError
from bot.domain.requests import RequestView
from bot.domain.revocation import OnDeactivation, RevokeMode, RevokeOutcome, RevokePlan
from bot.domain.states import Status
from bot.slack.surfaces import approval_message, revoke_messages
from bot.slack.surfaces.approval_message import Origin
from bot.slack.surfaces.revoke_modal import (
    USAGE,
    confirm_modal,
    outcomes_text,
    parse_command,
    parse_submission,
)
from tests.support.configs import DEVELOPER, bot_config, config_toml

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def config_with(offboarding: str):
    return bot_config(config_toml(DEVELOPER, extra="[offboarding]\n" + offboarding))


def test_offboarding_defaults() -> None:
    offboarding = bot_config().offboarding
    assert offboarding.mode is RevokeMode.DISABLE
    assert offboarding.on_deactivation is OnDeactivation.REVOKE
    assert offboarding.key_max_age == timedelta(days=90)


def test_offboarding_values() -> None:
    offboarding = config_with(
        'mode = "delete"\non_deactivation = "notify"\nkey_max_age = "30d"\n'
    ).offboarding
    assert (offboarding.mode, offboarding.on_deactivation) == ("delete", "notify")
    assert offboarding.key_max_age == timedelta(days=30)


def test_offboarding_problems_one_line_each() -> None:
    with pytest.raises(SettingsError) as raised:
        config_with('mode = "wipe"\non_deactivation = true\nkey_max_age = "soon"\nfoo = 1\n')
    unknown, *problems = raised.value.problems
    assert unknown.startswith(
        "test.toml: offboarding.foo is not a known setting "
        "(expected one of: mode, on_deactivation, key_max_age"
    )
    assert problems == [
        """test.toml: offboarding.mode must be "disable" or "delete" (got 'wipe')""",
        """test.toml: offboarding.on_deactivation must be "revoke" or "notify" (got True)""",
        "test.toml: offboarding.key_max_age must be a duration like 30s, 15m, 4h or 7d "
        "(got 'soon')",
    ]


@pytest.mark.parametrize(
    ("text", "member", "reason"),
    [
        ("<@U0ALICE|alice> left the team", "U0ALICE", "left the team"),
        ("<@U0ALICE>", "U0ALICE", ""),
        ("W0BOB  contract ended ", "W0BOB", "contract ended"),
        ("@alice left", None, "left"),
        ("", None, ""),
        ("<#C0CHAN|general> hi", None, "hi"),
    ],
)
def test_command_arguments(text: str, member: str | None, reason: str) -> None:
    args = parse_command(text)
    assert (args.member, args.reason) == (member, reason)


def request(**overrides: object) -> RequestView:
    values: dict = {
        "id": 7,
        "requester_id": "U0ALICE",
        "profile": "developer",
        "iam_user_name": "alice",
        "console": True,
        "programmatic": True,
        "reason": "deploys",
        "status": Status.PROVISIONED,
        "created_at": NOW,
        "groups": ("developers",),
        "approval_channel": "C0APPROVALS",
        "approval_ts": "1.1",
        "requester_dm_ts": "2.2",
    }
    values.update(overrides)
    return RequestView(**values)


def test_the_modal_lists_what_will_be_removed_and_round_trips() -> None:
    plan = RevokePlan(
        "alice",
        groups=("developers",),
        policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        inline_policies=("extra",),
        access_keys=("AKIAEXAMPLE1", "AKIAEXAMPLE2"),
        console=True,
        mfa_devices=("arn:aws:iam::1:mfa/phone",),
    )
    view = confirm_modal(
        [(request(), plan, "")],
        mode=RevokeMode.DELETE,
        reason="left",
        origin=Origin(channel="C0GEN"),
    )
    body = json.dumps(view["blocks"])
    for shown in (
        "`AKIAEXAMPLE1`",
        "`developers`",
        "`ReadOnlyAccess`",
        "`extra` (inline)",
        "`phone`",
        "Console password: yes",
        "then the IAM user deleted",
    ):
        assert shown in body, shown
    values = {"revoke_reason": {"revoke_reason": {"value": " gone "}}}
    submitted = parse_submission({**view, "state": {"values": values}})
    assert submitted.request_ids == (7,)
    assert submitted.reason == "gone"
    assert submitted.origin == Origin(channel="C0GEN")


@pytest.mark.parametrize(
    "metadata", ["", "not json", "[1]", json.dumps({"request_ids": ["7", "x", -1, True, 8]})]
)
def test_garbled_modal_metadata_names_only_plain_ids(metadata: str) -> None:
    submitted = parse_submission({"private_metadata": metadata})
    assert all(isinstance(i, int) and i > 0 for i in submitted.request_ids)
    assert submitted.request_ids in ((), (7, 8))


def test_revoked_message_shows_who_why_which_mode_and_no_buttons() -> None:
    revoked = request(
        status=Status.REVOKED,
        revoked_at=NOW,
        revoked_by="U0OWNER1",
        revoke_reason="<!here> left",
        revoke_cause="owner",
        revoke_mode="disable",
    )
    _, blocks = approval_message.build(revoked)
    body = json.dumps(blocks)
    assert not any(b["type"] == "actions" for b in blocks)
    assert "Access revoked* by <@U0OWNER1>" in body
    assert "&lt;!here&gt; left" in body and "<!here>" not in body
    assert "the IAM user stays" in body
    automatic = replace(revoked, revoked_by="aws-access-bot", revoke_cause="expiry")
    assert "by the bot (the access reached its maximum duration)" in json.dumps(
        approval_message.build(automatic)[1]
    )
    dm = revoke_messages.requester_revoked_text(revoked)
    assert "was revoked by <@U0OWNER1>" in dm and "&lt;!here&gt;" in dm


def test_provisioned_message_offers_revoke_and_revoking_shows_the_error() -> None:
    _, blocks = approval_message.build(request())
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["credentials_reissue", "revoke_access"]
    _, blocks = approval_message.build(request(status=Status.REVOKING))
    assert "Revoking IAM user `alice`" in json.dumps(blocks)
    failed = request(status=Status.REVOKING, last_error="AccessDenied: no")
    _, blocks = approval_message.build(failed)
    assert "AccessDenied: no" in json.dumps(blocks)
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["text"]["text"]) == ("revoke_access", "Retry revoke")


def test_outcomes_text() -> None:
    text = outcomes_text(
        [
            RevokeOutcome(None, True, "revoked request #7 (disable)"),
            RevokeOutcome(None, False, "request #8 is already being revoked"),
        ]
    )
    assert text == (
        ":white_check_mark: Revoked request #7 (disable).\n:x: Request #8 is already being revoked."
    )
    assert USAGE.startswith("Usage: `/revoke-aws-access @member [reason]`")
