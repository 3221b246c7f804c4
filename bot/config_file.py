"""The config file (TOML) -> a validated BotConfig (bot/domain/config.py).

Every problem names its key and what was expected, and all of them are reported at
once, so a broken config fails start-up with one useful line per problem.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.domain.config import (
    Account,
    AuditConfig,
    AwsConfig,
    BotConfig,
    Links,
    OffboardingConfig,
    Profile,
    ProvisioningConfig,
    Reminders,
    ReviewsConfig,
    SlackConfig,
    Unreviewed,
)
from bot.domain.revocation import OnDeactivation, RevokeMode

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_POLICY_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")
_GROUP_NAME = re.compile(r"^[\w+=,.@-]{1,128}$", re.ASCII)
_IAM_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$", re.ASCII)
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)


class SettingsError(Exception):
    """One or more settings are missing or malformed; each line names one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `4h`, `7d` -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(text)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


# --- config file -----------------------------------------------------------------


class _Reader:
    """Walks the TOML document, collecting problems with the key path they concern."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key} {message}")

    def table(self, doc: Any, key: str, allowed: tuple[str, ...], required: bool) -> dict:
        if key and key not in doc:
            if required:
                self.problem(f"[{key}]", "is missing")
            return {}
        table = doc[key] if key else doc
        if not isinstance(table, dict):
            self.problem(key, "must be a table")
            return {}
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                self.problem(
                    where, f"is not a known setting (expected one of: {', '.join(allowed)})"
                )
        return table

    def string(self, table: dict, path: str, name: str, default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            self.problem(f"{path}.{name}", "is missing")
            return ""
        if not isinstance(value, str):
            self.problem(f"{path}.{name}", f"must be a string (got {value!r})")
            return ""
        return value

    def boolean(self, table: dict, path: str, name: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{name}", f"must be true or false (got {value!r})")
            return default
        return value

    def strings(self, table: dict, path: str, name: str, default: list | None = None) -> list[str]:
        value = table.get(name, default)
        if value is None:
            self.problem(f"{path}.{name}", "is missing")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{path}.{name}", f"must be a list of strings (got {value!r})")
            return []
        return value

    def duration(self, table: dict, path: str, name: str, default: timedelta) -> timedelta:
        if name not in table:
            return default
        value = table[name]
        try:
            return parse_duration(value)
        except (ValueError, AttributeError):
            self.problem(
                f"{path}.{name}",
                f"must be a duration like 30s, 15m, 4h or 7d (got {value!r})",
            )
            return default

    def tables(self, doc: dict, key: str) -> list[dict] | None:
        """`[[key]]`: one or more tables; None (the problem said) when it is not."""
        raw = doc.get(key)
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw) or not raw:
            self.problem(key, f"must be one or more [[{key}]] tables")
            return None
        return raw

    def name(self, table: dict, path: str) -> str:
        """`name`, a profile's or an account's: lowercase letters, digits, - or _."""
        name = self.string(table, path, "name")
        if _bad_name(name):
            self.problem(
                f"{path}.name",
                f"must be lowercase letters, digits, - or _ (at most 32) (got {name!r})",
            )
        return name


def _bad_name(name: str) -> bool:
    return bool(name) and not _PROFILE_NAME.match(name)


_TOP = ("slack", "aws", "reminders", "links", "provisioning", "profiles", "audit", "accounts")
_TOP += ("offboarding",)
_TOP += ("reviews",)
_REVIEWS = ("every", "deadline", "unreviewed")
_OFFBOARDING = ("mode", "on_deactivation", "key_max_age", "rotation_grace")
_SLACK = ("approval_channel", "owners")
_AWS = ("iam_path", "permissions_boundary")
_REMINDERS = ("every", "remind_after", "expire_after")
_LINKS = ("ttl",)
_PROVISIONING = ("lease",)
_AUDIT = ("log",)
_ACCOUNT = ("name", "id", "role_arn", "external_id", "owners", "approval_channel")
_PROFILE = (
    "name",
    "description",
    "groups",
    "policies",
    "console",
    "programmatic",
    "approvals_required",
    "account",
    "max_duration",
)


def parse_config(doc: dict, source: str) -> BotConfig:
    """Validate a parsed TOML document; raise SettingsError listing every problem."""
    r = _Reader(source)
    r.table(doc, "", _TOP, True)

    slack = r.table(doc, "slack", _SLACK, True)
    channel, owners = "", []
    if "slack" in doc:
        channel = r.string(slack, "slack", "approval_channel")
        owners = r.strings(slack, "slack", "owners")
        if slack.get("owners") == []:
            r.problem("slack.owners", "must list at least one Slack user id")
    if channel and not _CHANNEL_ID.match(channel):
        r.problem(
            "slack.approval_channel",
            f"must be a Slack channel id like C0123ABCD, not a name (got {channel!r})",
        )
    for i, owner in enumerate(owners):
        if not _USER_ID.match(owner):
            r.problem(
                f"slack.owners[{i}]", f"must be a Slack user id like U0123ABCD (got {owner!r})"
            )
    if len(set(owners)) != len(owners):
        r.problem("slack.owners", "lists the same user more than once")

    aws = r.table(doc, "aws", _AWS, False)
    iam_path = r.string(aws, "aws", "iam_path", AwsConfig.iam_path)
    if iam_path == "/":
        r.problem(
            "aws.iam_path",
            'must not be "/": the bot\'s IAM policy is scoped to this path, and "/" would let '
            "it create access keys for and delete every IAM user, admins included "
            f"(use a path of its own, e.g. {AwsConfig.iam_path})",
        )
    elif isinstance(aws.get("iam_path", ""), str) and (  # "" too: it would mean every user
        not _IAM_PATH.match(iam_path) or len(iam_path) > 512
    ):
        r.problem("aws.iam_path", f"must start and end with / like /onboarding/ (got {iam_path!r})")
    boundary = r.string(aws, "aws", "permissions_boundary", "")
    if boundary and not _POLICY_ARN.match(boundary):
        r.problem(
            "aws.permissions_boundary",
            f"must be empty or a policy ARN like arn:aws:iam::aws:policy/PowerUserAccess "
            f"(got {boundary!r})",
        )

    rem = r.table(doc, "reminders", _REMINDERS, False)
    reminders = Reminders(
        every=r.duration(rem, "reminders", "every", Reminders.every),
        remind_after=r.duration(rem, "reminders", "remind_after", Reminders.remind_after),
        expire_after=r.duration(rem, "reminders", "expire_after", Reminders.expire_after),
    )
    if reminders.expire_after <= reminders.remind_after:
        r.problem(
            "reminders.expire_after",
            f"must be longer than reminders.remind_after "
            f"(got {format_duration(reminders.expire_after)} <= "
            f"{format_duration(reminders.remind_after)})",
        )
    lnk = r.table(doc, "links", _LINKS, False)
    links = Links(ttl=r.duration(lnk, "links", "ttl", Links.ttl))
    prov = r.table(doc, "provisioning", _PROVISIONING, False)
    provisioning = ProvisioningConfig(
        lease=r.duration(prov, "provisioning", "lease", ProvisioningConfig.lease)
    )

    aud = r.table(doc, "audit", _AUDIT, False)
    audit = AuditConfig(log=r.boolean(aud, "audit", "log", AuditConfig.log))

    offboarding = _parse_offboarding(r, doc)
    reviews = _parse_reviews(r, doc)
    accounts = _parse_accounts(r, doc)
    profiles = _parse_profiles(r, doc, owners, accounts)
    if r.problems:
        raise SettingsError(r.problems)
    return BotConfig(
        slack=SlackConfig(approval_channel=channel, owners=tuple(owners)),
        aws=AwsConfig(iam_path=iam_path, permissions_boundary=boundary),
        reminders=reminders,
        links=links,
        profiles=tuple(profiles),
        provisioning=provisioning,
        audit=audit,
        accounts=tuple(accounts),
        offboarding=offboarding,
        reviews=reviews,
    )


def _parse_offboarding(r: _Reader, doc: dict) -> OffboardingConfig:
    """`[offboarding]` (flow 6): optional; each problem on a line of its own."""
    table = r.table(doc, "offboarding", _OFFBOARDING, False)
    default = OffboardingConfig()
    mode, on_deactivation = default.mode, default.on_deactivation
    raw_mode = table.get("mode", mode.value)
    if raw_mode in tuple(RevokeMode):
        mode = RevokeMode(raw_mode)
    else:
        r.problem("offboarding.mode", f'must be "disable" or "delete" (got {raw_mode!r})')
    raw_on = table.get("on_deactivation", on_deactivation.value)
    if raw_on in tuple(OnDeactivation):
        on_deactivation = OnDeactivation(raw_on)
    else:
        r.problem("offboarding.on_deactivation", f'must be "revoke" or "notify" (got {raw_on!r})')
    key_max_age = r.duration(table, "offboarding", "key_max_age", default.key_max_age)
    grace = r.duration(table, "offboarding", "rotation_grace", default.rotation_grace)
    return OffboardingConfig(
        mode=mode,
        on_deactivation=on_deactivation,
        key_max_age=key_max_age,
        rotation_grace=grace,
    )


def _parse_reviews(r: _Reader, doc: dict) -> ReviewsConfig | None:
    """`[reviews]` (access reviews): optional; without `every`, reviews are off. Each
    problem on a line of its own."""
    table = r.table(doc, "reviews", _REVIEWS, False)
    default = ReviewsConfig(every=timedelta(days=90))
    every = r.duration(table, "reviews", "every", timedelta(0))
    deadline = r.duration(table, "reviews", "deadline", default.deadline)
    raw = table.get("unreviewed", default.unreviewed.value)
    unreviewed = default.unreviewed
    if raw in tuple(Unreviewed):
        unreviewed = Unreviewed(raw)
    else:
        r.problem("reviews.unreviewed", f'must be "keep" or "revoke" (got {raw!r})')
    if "every" not in table:
        for key in ("deadline", "unreviewed"):
            if key in table:
                r.problem(
                    f"reviews.{key}",
                    "is set but reviews.every is missing (reviews are off without it)",
                )
        return None
    if every and deadline >= every:
        r.problem(
            "reviews.deadline",
            f"must be shorter than reviews.every (got {format_duration(deadline)} >= "
            f"{format_duration(every)})",
        )
    if not every:
        return None
    return ReviewsConfig(every=every, deadline=deadline, unreviewed=unreviewed)


def _parse_accounts(r: _Reader, doc: dict) -> list[Account]:
    """`[[accounts]]` (flow 7): optional; each problem on a line of its own."""
    if doc.get("accounts") is None:
        return []
    raw = r.tables(doc, "accounts")
    if raw is None:
        return []
    accounts: list[Account] = []
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    for i, table in enumerate(raw):
        path = f"accounts[{i}]"
        r.table({path: table}, path, _ACCOUNT, True)
        name = r.name(table, path)
        if name in names and not _bad_name(name):  # a bad name was said once already
            r.problem(f"{path}.name", f"repeats the name of accounts[{names[name]}] ({name!r})")
        names.setdefault(name, i)
        account_id = table.get("id")
        if account_id is None:
            r.problem(f"{path}.id", "is missing (the 12-digit AWS account id, in quotes)")
            account_id = ""
        elif not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id):
            r.problem(
                f"{path}.id",
                f'must be a 12-digit AWS account id in quotes, like "111111111111" '
                f"(got {account_id!r})",
            )
            account_id = ""
        elif account_id in ids:
            r.problem(f"{path}.id", f"repeats the id of accounts[{ids[account_id]}] ({account_id})")
        if account_id:
            ids.setdefault(account_id, i)
        role_arn = r.string(table, path, "role_arn", "")
        if role_arn:
            match = _ROLE_ARN.match(role_arn)
            if not match:
                r.problem(
                    f"{path}.role_arn",
                    "must be empty (the bot's own credentials) or a role ARN like "
                    f"arn:aws:iam::111111111111:role/aws-access-bot (got {role_arn!r})",
                )
            elif account_id and match.group(1) != account_id:
                r.problem(
                    f"{path}.role_arn",
                    f"is a role in account {match.group(1)}, not in this account "
                    f"({account_id}): the bot must assume a role in the account it works in",
                )
        external_id = r.string(table, path, "external_id", "")
        if external_id and not _EXTERNAL_ID.match(external_id):
            r.problem(
                f"{path}.external_id",
                "must be 2 to 1224 letters, digits or +=,.@:/- characters",
            )
        elif external_id and not role_arn:
            r.problem(f"{path}.external_id", "is set but role_arn is empty (nothing to assume)")
        owners = r.strings(table, path, "owners", [])  # empty: [slack]'s
        for j, owner in enumerate(owners):
            if not _USER_ID.match(owner):
                r.problem(
                    f"{path}.owners[{j}]",
                    f"must be a Slack user id like U0123ABCD (got {owner!r})",
                )
        if len(set(owners)) != len(owners):
            r.problem(f"{path}.owners", "lists the same user more than once")
        channel = r.string(table, path, "approval_channel", "")
        if channel and not _CHANNEL_ID.match(channel):
            r.problem(
                f"{path}.approval_channel",
                f"must be a Slack channel id like C0123ABCD, not a name (got {channel!r})",
            )
        accounts.append(
            Account(
                name=name,
                id=account_id,
                role_arn=role_arn,
                external_id=external_id,
                owners=tuple(owners),
                approval_channel=channel,
            )
        )
    return accounts


def _profile_account(r: _Reader, table: dict, path: str, accounts: list[Account]) -> Account | None:
    """The account a profile names: required once `[[accounts]]` exist, refused before."""
    name = table.get("account")
    if not accounts:
        if name is not None:
            r.problem(
                f"{path}.account",
                f"names account {name!r} but the config has no [[accounts]] "
                "(add one, or leave account out)",
            )
        return None
    if name is None:
        known = ", ".join(dict.fromkeys(a.name for a in accounts))
        r.problem(
            f"{path}.account",
            f"is missing: with [[accounts]] every profile names its account (one of: {known})",
        )
        return None
    found = next((a for a in accounts if a.name == name), None)
    if found is None:
        known = ", ".join(dict.fromkeys(a.name for a in accounts))
        r.problem(f"{path}.account", f"names no [[accounts]] entry (got {name!r}; known: {known})")
    return found


def _parse_profiles(
    r: _Reader, doc: dict, owners: list[str], accounts: list[Account] | None = None
) -> list[Profile]:
    if doc.get("profiles") is None:
        r.problem("[[profiles]]", "is missing: define at least one access profile")
        return []
    raw = r.tables(doc, "profiles")
    if raw is None:
        return []
    profiles: list[Profile] = []
    seen: set[str] = set()
    for i, table in enumerate(raw):
        path = f"profiles[{i}]"
        r.table({path: table}, path, _PROFILE, True)
        name = r.name(table, path)
        if name in seen:
            r.problem(f"{path}.name", f"repeats the profile name {name!r}")
        seen.add(name)
        groups = r.strings(table, path, "groups", [])
        for j, group in enumerate(groups):
            if not _GROUP_NAME.match(group):
                r.problem(f"{path}.groups[{j}]", f"is not a valid IAM group name (got {group!r})")
        account = _profile_account(r, table, path, accounts or [])
        policies = r.strings(table, path, "policies", [])
        for j, arn in enumerate(policies):
            if not (match := _POLICY_ARN.match(arn)):
                r.problem(
                    f"{path}.policies[{j}]",
                    f"must be a managed policy ARN like arn:aws:iam::aws:policy/ReadOnlyAccess "
                    f"(got {arn!r})",
                )
            elif account and account.id and match.group(1) not in ("aws", account.id):
                r.problem(
                    f"{path}.policies[{j}]",
                    f"is a policy of account {match.group(1)}, but the profile's account "
                    f"{account.name} is {account.id} (IAM attaches only its own or AWS's)",
                )
        console = r.boolean(table, path, "console", True)
        programmatic = r.boolean(table, path, "programmatic", True)
        if not console and not programmatic:
            r.problem(f"{path}", "must allow console or programmatic access (both are false)")
        required = table.get("approvals_required", 1)
        if not isinstance(required, int) or isinstance(required, bool):
            r.problem(f"{path}.approvals_required", f"must be a whole number (got {required!r})")
            required = 1
        elif required < 1:
            r.problem(f"{path}.approvals_required", f"must be >= 1 (got {required})")
        elif account is not None and account.owners and required > len(account.owners):
            r.problem(
                f"{path}.approvals_required",
                f"must be <= the number of owners of account {account.name}, "
                f"{len(account.owners)} (got {required})",
            )
        elif (account is None or not account.owners) and owners and required > len(owners):
            r.problem(
                f"{path}.approvals_required",
                f"must be <= the number of slack.owners, {len(owners)} (got {required})",
            )
        max_duration = _profile_max_duration(r, table, path)
        profiles.append(
            Profile(
                name=name,
                description=r.string(table, path, "description", ""),
                groups=tuple(groups),
                policies=tuple(policies),
                console=console,
                programmatic=programmatic,
                approvals_required=required,
                **({"account": account.name} if account is not None else {}),
                max_duration=max_duration,
            )
        )
    return profiles


# Time-bound access (flow 6): any positive duration (seconds too, for demos and tests),
# at most a year.
MAX_DURATION_LIMIT = timedelta(days=366)


def _profile_max_duration(r: _Reader, table: dict, path: str) -> timedelta | None:
    """`max_duration` of a profile: absent means access lasts until revoked."""
    if "max_duration" not in table:
        return None
    value = table["max_duration"]
    try:
        duration = parse_duration(value)
    except (ValueError, AttributeError):
        r.problem(
            f"{path}.max_duration",
            f"must be a duration like 30s, 15m, 4h or 30d (got {value!r})",
        )
        return None
    if duration > MAX_DURATION_LIMIT:
        r.problem(
            f"{path}.max_duration",
            f"must be at most {format_duration(MAX_DURATION_LIMIT)} (got {value!r})",
        )
        return None
    return duration


def load_config(path: str | Path) -> BotConfig:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(
            [
                f"BOT_CONFIG: config file {source} does not exist "
                "(copy config/bot.example.toml there and edit it)"
            ]
        ) from None
    except OSError as exc:
        raise SettingsError([f"BOT_CONFIG: cannot read {source}: {exc.strerror}"]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{source}: is not valid TOML: {exc}"]) from None
    return parse_config(doc, source)
