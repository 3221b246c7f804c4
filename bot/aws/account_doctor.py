"""`aws-access-bot check`, per account (flow 7): for every `[[accounts]]` entry, can
the bot work there (its role assumed, or its own credentials), is it the account the
config says (the identity's account is the id), and do the groups, policies and
permissions boundary of that account's profiles exist there? One line per problem."""

from __future__ import annotations

from dataclasses import replace

from bot.aws import doctor as aws_doctor
from bot.aws.accounts import AccountSessions, account_config
from bot.aws.errors import AccountAccessError
from bot.domain.checks import CheckResult
from bot.domain.config import BotConfig


def check_accounts(sessions: AccountSessions, config: BotConfig) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in config.accounts:
        try:
            identity = sessions.identity(account.name)
        except AccountAccessError as exc:
            results.append(CheckResult(False, f"AWS: {exc.message}"))
            continue
        except Exception as exc:  # an unexpected SDK error is a failed check, not a crash
            results.append(
                CheckResult(False, f"AWS: account {account.name}: {type(exc).__name__}: {exc}")
            )
            continue
        how = f"assumed {account.role_arn}" if account.role_arn else "the bot's own credentials"
        results.append(
            CheckResult(
                True,
                f"AWS: account {account.name} ({account.id}): {how}, "
                f"identity {identity['Arn']} is in account {identity['Account']}",
            )
        )
        prefix = f"AWS: account {account.name}: "
        try:
            found = aws_doctor.check_aws(
                sessions.iam(account.name),
                sessions.sts(account.name),
                account_config(config, account.name),
            )
        except AccountAccessError as exc:  # the role's session failed to refresh
            results.append(CheckResult(False, f"AWS: {exc.message}"))
            continue
        # The first line is GetCallerIdentity again: already said above when it worked.
        if found and found[0].ok:
            found = found[1:]
        results.extend(replace(r, line=prefix + r.line.removeprefix("AWS: ")) for r in found)
    return results
