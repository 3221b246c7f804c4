"""`aws-access-bot check`, AWS part: can the bot reach AWS, does every group, policy
and the permissions boundary the config names exist, and is `aws.iam_path` the bot's
own? (Its IAM policy lets it re-key and delete every user under that path.)"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.iam import REQUEST_TAG
from bot.domain.checks import CheckResult
from bot.domain.config import BotConfig

# Users named in the warning; the count is always complete.
NAMED = 3


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
    results.append(_path_check(iam, config.aws.iam_path))
    return results


def _path_check(iam: Any, path: str) -> CheckResult:
    """A warning (not a failure) when users the bot did not create (no request tag)
    live under its path: the bot's policy reaches them too."""
    try:
        users = [
            user["UserName"]
            for page in iam.get_paginator("list_users").paginate(PathPrefix=path)
            for user in page["Users"]
        ]
        foreign = [name for name in users if not _made_by_the_bot(iam, name)]
    except (ClientError, BotoCoreError) as exc:
        return CheckResult(
            True, f"AWS: could not list the IAM users under {path}: {_problem(exc)}", warning=True
        )
    if not foreign:
        return CheckResult(True, f"AWS: every IAM user under {path} was made by the bot")
    named = ", ".join(foreign[:NAMED]) + (", ..." if len(foreign) > NAMED else "")
    return CheckResult(
        True,
        f"AWS: {len(foreign)} IAM user{'s' if len(foreign) != 1 else ''} under {path} "
        f"{'were' if len(foreign) != 1 else 'was'} not created by the bot ({named}); its "
        "policy lets it re-key and delete them: move them, or give the bot a path of its own "
        "(aws.iam_path)",
        warning=True,
    )


def _made_by_the_bot(iam: Any, name: str) -> bool:
    for page in iam.get_paginator("list_user_tags").paginate(UserName=name):
        if any(tag["Key"] == REQUEST_TAG for tag in page["Tags"]):
            return True
    return False


def _policy_check(iam: Any, arn: str, what: str) -> CheckResult:
    try:
        iam.get_policy(PolicyArn=arn)
    except (ClientError, BotoCoreError) as exc:
        return CheckResult(False, f"AWS: {what} is not usable: {_problem(exc)}")
    return CheckResult(True, f"AWS: {what} exists")
