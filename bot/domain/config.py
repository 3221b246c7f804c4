"""The validated config file, as plain frozen values (bot/settings.py reads the TOML).

They live in the domain so rules and use cases can take them without importing the
loader; nothing here reads files or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.domain.revocation import OnDeactivation, RevokeMode

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
class Account:
    """One AWS account the bot works in (`[[accounts]]`, flow 7). Empty `owners` or
    `approval_channel` mean [slack]'s; an empty `role_arn` means the bot's own
    credentials, which must belong to `id`. The default account (no `[[accounts]]`)
    has no id: it is whatever account the bot's own credentials are in."""

    name: str
    id: str = ""
    role_arn: str = ""
    # Not secret (AWS says so), but kept out of repr all the same: it is a shared value.
    external_id: str = field(default="", repr=False)
    owners: tuple[str, ...] = ()
    approval_channel: str = ""


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
class AuditConfig:
    # Also write each audit event, once committed, as one JSON line on the "bot.audit"
    # logger for a log shipper (docs/audit.md).
    log: bool = False


@dataclass(frozen=True)
class ProvisioningConfig:
    # How long a worker owns a request it is provisioning; a process that died holding
    # it is resumed by the recovery sweep once it runs out.
    lease: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class OffboardingConfig:
    """`[offboarding]` (flow 6): what revoking does, what a Slack deactivation does, and
    how old a bot-made access key may get before its owner is nudged to rotate it."""

    mode: RevokeMode = RevokeMode.DISABLE
    on_deactivation: OnDeactivation = OnDeactivation.REVOKE
    key_max_age: timedelta = timedelta(days=90)
    # After "Rotate my key", the old key stays active until the new one is used, or
    # this long at most (bot/domain/rotation.py).
    rotation_grace: timedelta = timedelta(days=7)


class Unreviewed(StrEnum):
    """`[reviews] unreviewed`: what happens to a grant nobody decided by the deadline."""

    KEEP = "keep"
    REVOKE = "revoke"


@dataclass(frozen=True)
class ReviewsConfig:
    """`[reviews]` (access reviews, bot/domain/reviews.py): a review of each account's
    active grants opens every `every`; undecided grants are handled per `unreviewed`
    once `deadline` has passed. Absent from the config: no reviews."""

    every: timedelta
    deadline: timedelta = timedelta(days=14)
    unreviewed: Unreviewed = Unreviewed.KEEP


@dataclass(frozen=True)
class BotConfig:
    """The TOML file, validated."""

    slack: SlackConfig
    aws: AwsConfig
    reminders: Reminders
    links: Links
    profiles: tuple[Profile, ...]
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    # `[[accounts]]`; empty: the one default account ([slack] and the bot's credentials).
    accounts: tuple[Account, ...] = ()
    offboarding: OffboardingConfig = field(default_factory=OffboardingConfig)
    # `[reviews]`; None: access reviews are off.
    reviews: ReviewsConfig | None = None

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def account(self, name: str) -> Account | None:
        """The account called `name`; the default account is always known (requests
        stored before `[[accounts]]` existed keep working with [slack] and the bot's
        own credentials). None for an account that left the config."""
        found = next((a for a in self.accounts if a.name == name), None)
        if found is None and name == DEFAULT_ACCOUNT:
            return Account(DEFAULT_ACCOUNT)
        return found

    def all_accounts(self) -> tuple[Account, ...]:
        """Every account the bot works in: `[[accounts]]`, or the default one."""
        return self.accounts or (Account(DEFAULT_ACCOUNT),)

    def owners_of(self, account: str) -> tuple[str, ...]:
        """Who may decide requests for `account`: its own owners, else [slack]'s (an
        account that left the config too, so its waiting requests can be denied)."""
        found = self.account(account)
        return (found.owners if found else ()) or self.slack.owners

    def approval_channel_of(self, account: str) -> str:
        """Where `account`'s requests are posted: its own channel, else [slack]'s."""
        found = self.account(account)
        return (found.approval_channel if found else "") or self.slack.approval_channel

    def accounts_owned_by(self, user_id: str) -> tuple[str, ...]:
        """The names of the accounts whose requests `user_id` may decide (with the
        default account for a [slack] owner: requests made before `[[accounts]]`)."""
        names = [a.name for a in self.all_accounts() if user_id in self.owners_of(a.name)]
        if user_id in self.slack.owners and DEFAULT_ACCOUNT not in names:
            names.append(DEFAULT_ACCOUNT)
        return tuple(names)

    def channels(self) -> tuple[str, ...]:
        """Every approval channel, each once, in config order."""
        return tuple(dict.fromkeys(self.approval_channel_of(a.name) for a in self.all_accounts()))

    def is_owner(self, user_id: str) -> bool:
        """True when `user_id` owns at least one account."""
        return bool(self.accounts_owned_by(user_id))
