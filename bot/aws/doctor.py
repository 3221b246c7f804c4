"""`aws-access-bot check`, AWS part: can the bot reach AWS, and does every group,
policy and the permissions boundary the config names exist?"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.checks import CheckResult
from bot.domain.config import BotConfig


def _problem(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".rstrip(": ")
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def check_aws(iam: Any, sts: Any, config: BotConfig) -> list[CheckResult]:
    """One result per check; `ok=False` lines are the problems to print."""
    try:
        identity = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        # Without working credentials every other check would fail the same way.
        return [CheckResult(False, f"AWS: sts:GetCallerIdentity failed ({_problem(exc)})")]
    results = [CheckResult(True, f"AWS: credentials work ({identity.get('Arn', '?')})")]

    groups = sorted({g for p in config.profiles for g in p.groups})
    policies = sorted({a for p in config.profiles for a in p.policies})
    users = {
        item: ", ".join(p.name for p in config.profiles if item in p.groups + p.policies)
        for item in groups + policies
    }
    for group in groups:
        try:
            iam.get_group(GroupName=group, MaxItems=1)
            results.append(CheckResult(True, f"AWS: group {group} exists"))
        except (ClientError, BotoCoreError) as exc:
            results.append(
                CheckResult(
                    False,
                    f"AWS: group {group} (profile {users[group]}) is not usable: {_problem(exc)}",
                )
            )
    for arn in policies:
        results.append(_policy_check(iam, arn, f"policy {arn} (profile {users[arn]})"))
    if config.aws.permissions_boundary:
        results.append(
            _policy_check(
                iam,
                config.aws.permissions_boundary,
                f"permissions boundary {config.aws.permissions_boundary}",
            )
        )
    return results


def _policy_check(iam: Any, arn: str, what: str) -> CheckResult:
    try:
        iam.get_policy(PolicyArn=arn)
    except (ClientError, BotoCoreError) as exc:
        return CheckResult(False, f"AWS: {what} is not usable: {_problem(exc)}")
    return CheckResult(True, f"AWS: {what} exists")
