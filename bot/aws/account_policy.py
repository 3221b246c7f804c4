"""The IAM documents of flow 7, pure: config in, policy out.

- `account_policy`: what the bot needs in one account (`iam-policy --account NAME`):
  the least-privilege policy of bot/aws/policy.py for that account's profiles, scoped
  to its id; in the account whose credentials the bot runs with (an account without a
  `role_arn`), also sts:AssumeRole on the other accounts' roles.
- `trust_policy`: the trust policy of an account's role (`iam-policy --account NAME
  --trust`): the bot's principal may assume it, with the account's external id when set.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.aws.policy import ANY_ACCOUNT, bot_policy
from bot.domain.config import Account, BotConfig


def account_scope(config: BotConfig, name: str) -> BotConfig:
    """`config` with only the profiles of account `name`."""
    return replace(config, profiles=tuple(p for p in config.profiles if p.account == name))


def assume_roles_statement(config: BotConfig) -> dict[str, Any] | None:
    roles = sorted({a.role_arn for a in config.accounts if a.role_arn})
    if not roles:
        return None
    return {
        "Sid": "AssumeAccountRoles",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": roles,
    }


def account_policy(config: BotConfig, account: Account, account_id: str = ANY_ACCOUNT) -> dict:
    policy = bot_policy(account_scope(config, account.name), account.id or account_id)
    if not account.role_arn and (assume := assume_roles_statement(config)) is not None:
        policy["Statement"].append(assume)
    return policy


def trust_policy(principal: str, external_id: str = "") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "AwsAccessBot",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
