"""The one error of working in an account (bot/aws/accounts.py), kept apart so
bot/aws/calls.py can classify it without importing the account machinery."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError


class AccountAccessError(BotoCoreError):
    """The bot cannot work in an account: AssumeRole refused or unreachable, or the
    credentials belong to another account. `message` is one line naming the account and
    what to fix, safe to show (no secret). Raised from inside botocore too (the refresh of
    an assumed role's credentials), hence a BotoCoreError."""

    fmt = "{message}"

    def __init__(self, *, account: str, code: str, message: str, permanent: bool = False) -> None:
        super().__init__(account=account, code=code, message=message, permanent=permanent)
        self.account = account
        self.code = code
        self.message = message
        self.permanent = permanent
