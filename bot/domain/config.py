"""The validated config file, as plain frozen values (bot/settings.py reads the TOML).

They live in the domain so rules and use cases can take them without importing the
loader; nothing here reads files or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

# The account a request belongs to when the config has no [[accounts]]: [slack]'s
# owners and approval channel, and the bot's own AWS credentials.
DEFAULT_ACCOUNT = "default"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    groups: tuple[str, ...]
    policies: tuple[str, ...]
    console: bool
    programmatic: bool
    approvals_required: int
    # The account the profile's users are made in, and how long its access lasts
    # (None: until revoked). Both are frozen into each request at submit.
    account: str = DEFAULT_ACCOUNT
    max_duration: timedelta | None = None


@dataclass(frozen=True)
class SlackConfig:
    approval_channel: str
    owners: tuple[str, ...]


# The bot's IAM policy is scoped to its path (bot/aws/policy.py): never "/", which holds
# every user the account has.
DEFAULT_IAM_PATH = "/aws-access-bot/"


@dataclass(frozen=True)
class AwsConfig:
    iam_path: str = DEFAULT_IAM_PATH
    permissions_boundary: str = ""


@dataclass(frozen=True)
class Reminders:
    every: timedelta = timedelta(hours=4)
    remind_after: timedelta = timedelta(hours=1)
    expire_after: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Links:
    ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ProvisioningConfig:
    # How long a worker owns a request it is provisioning; a process that died holding
    # it is resumed by the recovery sweep once it runs out.
    lease: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class BotConfig:
    """The TOML file, validated."""

    slack: SlackConfig
    aws: AwsConfig
    reminders: Reminders
    links: Links
    profiles: tuple[Profile, ...]
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def owners_of(self, account: str) -> tuple[str, ...]:
        """Who may decide requests for `account` (today: [slack] owners for every account)."""
        return self.slack.owners

    def approval_channel_of(self, account: str) -> str:
        """Where `account`'s requests are posted."""
        return self.slack.approval_channel

    def is_owner(self, user_id: str) -> bool:
        """True when `user_id` owns at least one account."""
        return user_id in self.slack.owners
