"""The bot's own IAM policy: covers every IAM/STS call in bot/, grants nothing broader."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from bot.aws.policy import ACCOUNT_ACTIONS, ALL_ACTIONS, bot_policy, render_policy
from bot.settings import AwsConfig, load_config, parse_config
from tests.support.calls import iam_action, scan_bot
from tests.support.processes import REPO, run_cli

EXAMPLE = REPO / "config" / "bot.example.toml"
ACCOUNT = "123456789012"
BOUNDARY = "arn:aws:iam::123456789012:policy/OnboardingBoundary"

# The calls provisioning, re-issue, roll back and `check` need (docs/architecture.md,
# flows 3, 4 and 6).
DESIGN_ACTIONS = {
    "iam:CreateUser", "iam:TagUser", "iam:GetUser", "iam:ListUserTags",
    "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:GetLoginProfile",
    "iam:DeleteLoginProfile", "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
    "iam:ListGroupsForUser", "iam:AttachUserPolicy", "iam:DetachUserPolicy",
    "iam:ListAttachedUserPolicies", "iam:CreateAccessKey", "iam:DeleteAccessKey",
    "iam:ListAccessKeys", "iam:DeleteUser", "iam:GetGroup", "iam:GetPolicy",
    "iam:GetAccountPasswordPolicy", "iam:ListAccountAliases", "iam:ListUsers",
    "sts:GetCallerIdentity",
}  # fmt: skip


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _glob(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), value) is not None


def allowed(policy: dict, action: str, resource: str, context: dict[str, str] | None = None):
    """IAM's allow rule for this policy (Allow statements only, exact/glob matching,
    StringEquals/ArnEquals conditions); enough to pin down what the policy grants."""
    context = context or {}
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow"
        if action not in st["Action"]:
            continue
        if not any(_glob(p, resource) for p in _as_list(st["Resource"])):
            continue
        conditions = st.get("Condition", {})
        if all(
            key in context and context[key] in _as_list(expected)
            for op in conditions.values()
            for key, expected in op.items()
        ):
            return True
    return False


@pytest.fixture
def config():
    return load_config(EXAMPLE)


def test_policy_covers_every_call_in_the_code_and_the_design(config) -> None:
    policy = bot_policy(config, ACCOUNT)
    granted = {a for st in policy["Statement"] for a in st["Action"]}
    called = {iam_action(c): c.where for c in scan_bot() if c.service in ("iam", "sts")}
    # Assuming an account's role is granted in the bot's home account, for the roles of
    # [[accounts]] only (bot/aws/account_policy.py; tests/unit/test_account_policy.py).
    assert called.pop("sts:AssumeRole", None) is not None
    missing = {a: where for a, where in called.items() if a not in granted}
    assert not missing, f"the bot calls IAM actions its policy does not grant: {missing}"
    assert set(ALL_ACTIONS) == DESIGN_ACTIONS | set(called)
    assert granted == set(ALL_ACTIONS)  # the example config uses groups and policies


def test_nothing_broader_than_user_path_groups_and_policies(config) -> None:
    policy = bot_policy(config, ACCOUNT)
    user_path = f"arn:aws:iam::{ACCOUNT}:user/onboarding/*"
    for st in policy["Statement"]:
        assert all("*" not in a for a in st["Action"]), st  # actions are named, never globbed
        for resource in _as_list(st["Resource"]):
            if resource == "*":
                assert set(st["Action"]) <= set(ACCOUNT_ACTIONS), st
            elif resource == f"arn:aws:iam::{ACCOUNT}:mfa/*":
                # Revoke's `delete` removes a virtual MFA device it deactivated (flow 6).
                assert set(st["Action"]) == {"iam:DeleteVirtualMFADevice"}, st
            else:
                assert resource in (
                    user_path,
                    f"arn:aws:iam::{ACCOUNT}:group/developers",
                    f"arn:aws:iam::{ACCOUNT}:group/*/developers",
                    "arn:aws:iam::aws:policy/ReadOnlyAccess",
                ), resource


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("iam:CreateUser", "user/onboarding/alice", {}, True),
        ("iam:CreateAccessKey", "user/onboarding/team/alice", {}, True),
        ("iam:CreateUser", "user/alice", {}, False),
        ("iam:DeleteUser", "user/admins/root-ish", {}, False),
        ("iam:CreateAccessKey", "user/onboarding-evil/alice", {}, False),
        ("iam:AddUserToGroup", "group/developers", {}, True),
        ("iam:AddUserToGroup", "group/admins", {}, False),
        (
            "iam:AttachUserPolicy",
            "user/onboarding/alice",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            True,
        ),
        (
            "iam:AttachUserPolicy",
            "user/onboarding/alice",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
            False,
        ),
        ("iam:CreateRole", "role/anything", {}, False),
        ("iam:PutUserPolicy", "user/onboarding/alice", {}, False),
        # Revoke (flow 6): the bot's own users only.
        ("iam:UpdateAccessKey", "user/onboarding/alice", {}, True),
        ("iam:UpdateAccessKey", "user/admins/root-ish", {}, False),
        ("iam:DeleteSSHPublicKey", "user/admins/root-ish", {}, False),
        ("iam:DeleteVirtualMFADevice", "mfa/alice", {}, True),
        ("iam:DeactivateMFADevice", "user/admins/root-ish", {}, False),
    ],
)
def test_what_the_policy_allows(config, action, resource, context, expected) -> None:
    policy = bot_policy(config, ACCOUNT)
    assert allowed(policy, action, f"arn:aws:iam::{ACCOUNT}:{resource}", context) is expected


def test_permissions_boundary_is_required_on_create_user(config) -> None:
    bounded = replace(config, aws=AwsConfig(iam_path="/onboarding/", permissions_boundary=BOUNDARY))
    policy = bot_policy(bounded, ACCOUNT)
    user = f"arn:aws:iam::{ACCOUNT}:user/onboarding/alice"
    assert not allowed(policy, "iam:CreateUser", user)
    assert not allowed(policy, "iam:CreateUser", user, {"iam:PermissionsBoundary": "arn:x"})
    assert allowed(policy, "iam:CreateUser", user, {"iam:PermissionsBoundary": BOUNDARY})
    assert allowed(policy, "iam:GetPolicy", BOUNDARY)


def test_config_without_groups_or_policies_grants_no_group_or_attach(config) -> None:
    bare = replace(
        config, profiles=tuple(replace(p, groups=(), policies=()) for p in config.profiles)
    )
    granted = {a for st in bot_policy(bare)["Statement"] for a in st["Action"]}
    assert not granted & {"iam:AddUserToGroup", "iam:AttachUserPolicy", "iam:GetPolicy"}
    assert bot_policy(bare)["Statement"][1]["Resource"] == "arn:aws:iam::*:user/onboarding/*"


def test_checked_in_policy_is_generated_from_the_example_config(config) -> None:
    checked_in = (REPO / "config" / "bot-iam-policy.json").read_text()
    assert checked_in == render_policy(config), (
        "regenerate: BOT_CONFIG=config/bot.example.toml aws-access-bot iam-policy "
        "> config/bot-iam-policy.json"
    )


def test_iam_policy_command(tmp_path: Path) -> None:
    env = {"BOT_CONFIG": str(EXAMPLE)}
    result = run_cli(["iam-policy", "--account-id", ACCOUNT], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)
    assert policy["Statement"][1]["Resource"] == f"arn:aws:iam::{ACCOUNT}:user/onboarding/*"
    bad = run_cli(["iam-policy", "--account-id", "12345"], env, cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (1, "--account-id must be 12 digits (got '12345')\n")


def test_calls_on_the_client_without_retries_are_scanned_too() -> None:
    """CreateAccessKey and CreateLoginProfile go through `self.iam_once` (bot/aws/keys.py,
    bot/aws/iam.py): the scanner, and so the policy check above, sees them there."""
    found = {(iam_action(c), c.where.split(":")[0]) for c in scan_bot() if c.service == "iam"}
    assert ("iam:CreateAccessKey", "bot/aws/keys.py") in found
    assert ("iam:CreateLoginProfile", "bot/aws/iam.py") in found


def test_the_default_path_is_the_bots_own() -> None:
    """Issue 12, item 7: without `aws.iam_path` the user actions reach only the bot's
    own path, never an administrator elsewhere in the account."""
    doc = tomllib.loads(EXAMPLE.read_text())
    del doc["aws"]["iam_path"]
    policy = bot_policy(parse_config(doc, "default.toml"), ACCOUNT)
    assert policy["Statement"][1]["Resource"] == f"arn:aws:iam::{ACCOUNT}:user/aws-access-bot/*"
    for action in ("iam:CreateAccessKey", "iam:UpdateLoginProfile", "iam:DeleteUser"):
        assert allowed(policy, action, f"arn:aws:iam::{ACCOUNT}:user/aws-access-bot/alice")
        assert not allowed(policy, action, f"arn:aws:iam::{ACCOUNT}:user/admin")
        assert not allowed(policy, action, f"arn:aws:iam::{ACCOUNT}:user/ops/admin")
