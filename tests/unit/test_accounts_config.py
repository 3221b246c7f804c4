"""`[[accounts]]` (flow 7): each validation rule gives one line naming its key; without
`[[accounts]]` the config behaves as before; who owns what, where it is posted."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from bot.aws.account_policy import account_policy, trust_policy
from bot.aws.accounts import role_of_caller
from bot.domain.config import DEFAULT_ACCOUNT, Account
from bot.domain.rules import freeze
from bot.settings import SettingsError, parse_config
from tests.support.configs import MINIMAL_CONFIG, OWNERS, bot_config

HEAD = """
[slack]
approval_channel = "C0MAIN"
owners = ["U0MAIN1", "U0MAIN2"]
"""
PROD = """
[[accounts]]
name = "prod"
id = "111111111111"
role_arn = "arn:aws:iam::111111111111:role/aws-access-bot"
external_id = "ext-123"
owners = ["U0PROD"]
approval_channel = "C0PROD"
"""
MAIN = """
[[accounts]]
name = "main"
id = "123456789012"
"""
PROFILES = """
[[profiles]]
name = "deploy"
groups = ["deployers"]
account = "prod"

[[profiles]]
name = "developer"
account = "main"
"""
GOOD = HEAD + PROD + MAIN + PROFILES


def problems(toml: str) -> list[str]:
    try:
        parse_config(tomllib.loads(toml), "bot.toml")
    except SettingsError as exc:
        return exc.problems
    return []


def test_a_good_accounts_config() -> None:
    config = bot_config(GOOD)
    prod = config.account("prod")
    assert prod == Account(
        name="prod",
        id="111111111111",
        role_arn="arn:aws:iam::111111111111:role/aws-access-bot",
        external_id="ext-123",
        owners=("U0PROD",),
        approval_channel="C0PROD",
    )
    assert "ext-123" not in repr(prod)
    assert [p.account for p in config.profiles] == ["prod", "main"]
    # prod has owners and a channel of its own; main uses [slack]'s.
    assert config.owners_of("prod") == ("U0PROD",)
    assert config.approval_channel_of("prod") == "C0PROD"
    assert config.owners_of("main") == ("U0MAIN1", "U0MAIN2")
    assert config.approval_channel_of("main") == "C0MAIN"
    assert config.channels() == ("C0PROD", "C0MAIN")
    assert config.accounts_owned_by("U0PROD") == ("prod",)
    assert config.accounts_owned_by("U0MAIN1") == ("main", DEFAULT_ACCOUNT)
    assert config.is_owner("U0PROD") and config.is_owner("U0MAIN2")
    assert not config.is_owner("U0ALICE")
    # The account is frozen into a request from its profile.
    deploy = config.profile("deploy")
    assert deploy is not None
    assert freeze(deploy, config, console=True, programmatic=True).account == "prod"
    # An account that left the config: its waiting requests go to [slack].
    assert config.account("gone") is None
    assert config.owners_of("gone") == ("U0MAIN1", "U0MAIN2")
    assert config.approval_channel_of("gone") == "C0MAIN"


def test_without_accounts_everything_is_as_before() -> None:
    config = bot_config(MINIMAL_CONFIG)
    assert config.accounts == ()
    assert [p.account for p in config.profiles] == [DEFAULT_ACCOUNT]
    assert config.all_accounts() == (Account(DEFAULT_ACCOUNT),)
    assert config.account(DEFAULT_ACCOUNT) == Account(DEFAULT_ACCOUNT)
    assert config.owners_of(DEFAULT_ACCOUNT) == OWNERS
    assert config.approval_channel_of(DEFAULT_ACCOUNT) == "C0APPROVALS"
    assert config.channels() == ("C0APPROVALS",)
    assert all(config.is_owner(owner) for owner in OWNERS)
    assert not config.is_owner("U0ALICE")
    profile = config.profiles[0]
    assert freeze(profile, config, console=True, programmatic=True).account == DEFAULT_ACCOUNT


def _replace(toml: str, old: str, new: str) -> str:
    assert old in toml
    return toml.replace(old, new, 1)


CASES: list[tuple[str, str, list[str]]] = [
    (
        "id not 12 digits",
        _replace(GOOD, 'id = "111111111111"', 'id = "11111111111"'),
        [
            "bot.toml: accounts[0].id must be a 12-digit AWS account id in quotes, like "
            "\"111111111111\" (got '11111111111')"
        ],
    ),
    (
        "id as a number",
        _replace(GOOD, 'id = "123456789012"', "id = 123456789012"),
        [
            "bot.toml: accounts[1].id must be a 12-digit AWS account id in quotes, like "
            '"111111111111" (got 123456789012)'
        ],
    ),
    (
        "id missing",
        _replace(GOOD, 'id = "123456789012"\n', ""),
        ["bot.toml: accounts[1].id is missing (the 12-digit AWS account id, in quotes)"],
    ),
    (
        "names repeat",
        _replace(GOOD, 'name = "main"', 'name = "prod"').replace('account = "main"', ""),
        [
            "bot.toml: accounts[1].name repeats the name of accounts[0] ('prod')",
            "bot.toml: profiles[1].account is missing: with [[accounts]] every profile names "
            "its account (one of: prod)",
        ],
    ),
    (
        "ids repeat",
        _replace(GOOD, 'id = "123456789012"', 'id = "111111111111"'),
        ["bot.toml: accounts[1].id repeats the id of accounts[0] (111111111111)"],
    ),
    (
        "role in another account",
        _replace(GOOD, "arn:aws:iam::111111111111:role", "arn:aws:iam::999999999999:role"),
        [
            "bot.toml: accounts[0].role_arn is a role in account 999999999999, not in this "
            "account (111111111111): the bot must assume a role in the account it works in"
        ],
    ),
    (
        "role arn malformed",
        _replace(
            GOOD,
            "arn:aws:iam::111111111111:role/aws-access-bot",
            "arn:aws:iam::111111111111:user/bot",
        ),
        [
            "bot.toml: accounts[0].role_arn must be empty (the bot's own credentials) or a "
            "role ARN like arn:aws:iam::111111111111:role/aws-access-bot "
            "(got 'arn:aws:iam::111111111111:user/bot')"
        ],
    ),
    (
        "profile without account",
        _replace(GOOD, 'account = "prod"\n', ""),
        [
            "bot.toml: profiles[0].account is missing: with [[accounts]] every profile names "
            "its account (one of: prod, main)"
        ],
    ),
    (
        "profile names an unknown account",
        _replace(GOOD, 'account = "prod"', 'account = "staging"'),
        [
            "bot.toml: profiles[0].account names no [[accounts]] entry (got 'staging'; "
            "known: prod, main)"
        ],
    ),
    (
        "account on a profile without [[accounts]]",
        HEAD + '\n[[profiles]]\nname = "developer"\naccount = "prod"\n',
        [
            "bot.toml: profiles[0].account names account 'prod' but the config has no "
            "[[accounts]] (add one, or leave account out)"
        ],
    ),
    (
        "owners not user ids",
        _replace(GOOD, 'owners = ["U0PROD"]', 'owners = ["alice"]'),
        ["bot.toml: accounts[0].owners[0] must be a Slack user id like U0123ABCD (got 'alice')"],
    ),
    (
        "channel by name",
        _replace(GOOD, 'approval_channel = "C0PROD"', 'approval_channel = "#prod"'),
        [
            "bot.toml: accounts[0].approval_channel must be a Slack channel id like C0123ABCD, "
            "not a name (got '#prod')"
        ],
    ),
    (
        "external id without a role",
        _replace(GOOD, 'id = "123456789012"', 'id = "123456789012"\nexternal_id = "abc"'),
        ["bot.toml: accounts[1].external_id is set but role_arn is empty (nothing to assume)"],
    ),
    (
        "unknown key",
        _replace(GOOD, 'name = "main"', 'name = "main"\nrole = "x"'),
        [
            "bot.toml: accounts[1].role is not a known setting (expected one of: name, id, "
            "role_arn, external_id, owners, approval_channel)"
        ],
    ),
    (
        "more approvals than the account's owners",
        _replace(GOOD, 'account = "prod"', 'account = "prod"\napprovals_required = 2'),
        [
            "bot.toml: profiles[0].approvals_required must be <= the number of owners of "
            "account prod, 1 (got 2)"
        ],
    ),
    (
        "a policy of another account",
        _replace(
            GOOD,
            'account = "prod"',
            'account = "prod"\npolicies = ["arn:aws:iam::123456789012:policy/Deploy"]',
        ),
        [
            "bot.toml: profiles[0].policies[0] is a policy of account 123456789012, but the "
            "profile's account prod is 111111111111 (IAM attaches only its own or AWS's)"
        ],
    ),
]


@pytest.mark.parametrize(("toml", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_one_line_naming_its_key(toml: str, expected: list[str]) -> None:
    assert problems(toml) == expected


def test_every_problem_at_once() -> None:
    toml = (
        HEAD
        + _replace(PROD, 'id = "111111111111"', 'id = "1"')
        + _replace(MAIN, 'name = "main"', 'name = "prod"')
        + PROFILES
    )
    keys = [line.split(" ")[1] for line in problems(toml)]
    assert keys == ["accounts[0].id", "accounts[1].name", "profiles[1].account"]


def test_an_account_may_use_slacks_owners_and_channel() -> None:
    empty = bot_config(_replace(GOOD, 'owners = ["U0PROD"]', "owners = []"))
    assert empty.owners_of("prod") == ("U0MAIN1", "U0MAIN2")
    toml = HEAD + MAIN + '\n[[profiles]]\nname = "dev"\napprovals_required = 2\naccount = "main"\n'
    config = bot_config(toml)
    assert config.owners_of("main") == ("U0MAIN1", "U0MAIN2")
    assert config.profiles[0].approvals_required == 2


# --- the IAM documents -------------------------------------------------------------------


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_each_accounts_policy_is_scoped_to_its_id_and_profiles() -> None:
    config = bot_config(GOOD)
    prod, main = config.account("prod"), config.account("main")
    assert prod is not None and main is not None

    in_prod = _statements(account_policy(config, prod))
    in_main = _statements(account_policy(config, main))

    assert in_prod["ManageOnboardedUsers"]["Resource"] == (
        "arn:aws:iam::111111111111:user/aws-access-bot/*"
    )
    assert in_prod["ProfileGroups"]["Resource"] == [
        "arn:aws:iam::111111111111:group/deployers",
        "arn:aws:iam::111111111111:group/*/deployers",
    ]
    assert "AssumeAccountRoles" not in in_prod
    # main runs on the bot's own credentials: it is where the bot assumes the others' roles.
    assert in_main["AssumeAccountRoles"] == {
        "Sid": "AssumeAccountRoles",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": ["arn:aws:iam::111111111111:role/aws-access-bot"],
    }
    assert "ProfileGroups" not in in_main  # main's profile grants no group


def test_trust_policy_names_the_bots_principal_and_external_id() -> None:
    principal = role_of_caller("arn:aws:sts::123456789012:assumed-role/bot-task/i-0abc")
    assert principal == "arn:aws:iam::123456789012:role/bot-task"
    assert role_of_caller("arn:aws:iam::123456789012:user/bot") == (
        "arn:aws:iam::123456789012:user/bot"
    )
    assert trust_policy(principal, "ext-123")["Statement"] == [
        {
            "Sid": "AwsAccessBot",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/bot-task"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}},
        }
    ]
    assert "Condition" not in trust_policy(principal)["Statement"][0]


# --- `aws-access-bot requests` -------------------------------------------------------------


def test_the_requests_table_names_the_account_once_there_are_accounts() -> None:
    from datetime import UTC, datetime

    from bot.services.listing import RequestRow, render_table

    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    rows = [
        RequestRow(2, "pending", "U0BOB", "deploy", "bob", now, account="prod"),
        RequestRow(1, "pending", "U0ALICE", "developer", "alice", now, account="main"),
    ]
    header, bob, alice = render_table(rows, now).splitlines()
    assert header.split() == [
        "#", "STATUS", "REQUESTER", "ACCOUNT", "PROFILE", "IAM", "USER", "CREATED", "(UTC)", "AGE"
    ]  # fmt: skip
    assert bob.split()[:5] == ["2", "pending", "U0BOB", "prod", "deploy"]
    assert alice.split()[:5] == ["1", "pending", "U0ALICE", "main", "developer"]
    # Without [[accounts]] (every request in the default account): as before.
    plain = [RequestRow(1, "pending", "U0ALICE", "developer", "alice", now)]
    assert "ACCOUNT" not in render_table(plain, now)
