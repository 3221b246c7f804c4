"""Working in each AWS account (flow 7): one boto3 Session per account, and the
adapters that pick the right one for a request.

An account with a `role_arn` gets a Session whose credentials come from STS AssumeRole
(with its `external_id` when set), made by the bot's own credentials: botocore's
refreshable credentials ask again before they expire (15 minutes ahead, on the injected
clock), so a long-running bot never signs with an expired session. An account without
a `role_arn` (and the default account, when there are no `[[accounts]]`) uses the bot's
own Session, which must belong to the account's id: that is checked once, before the
first user is made there, so a wrong id never means users in the wrong account.

Every IAM and STS call for a request goes through the Session of the request's account
(frozen at submit): provisioning, re-issue, roll back, revoke, key checks and the
request form's name check. Failures are one line each (AccountAccessError), never a
secret: access denied on AssumeRole (the trust policy, or a wrong external id), a role
or credentials in another account, STS unreachable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.calls import STEP_BACKOFF, Backoff, call_aws, error_of, network_error
from bot.aws.clients import NO_RETRIES, RETRIES, sts_factory
from bot.aws.directory import Boto3IamDirectory
from bot.aws.errors import AccountAccessError
from bot.aws.iam import IamProvisioner
from bot.domain.config import DEFAULT_ACCOUNT, Account, BotConfig
from bot.domain.credentials import Credentials
from bot.domain.requests import RequestView

log = logging.getLogger(__name__)

__all__ = [
    "AccountAccessError",
    "AccountDirectory",
    "AccountProvisioners",
    "AccountSessions",
    "caller_account",
]

SESSION_NAME = "aws-access-bot"
# sessions()'s name for the bot's own Session.
OWN = "(own credentials)"
# AWS's default maximum session duration for a role is one hour.
SESSION_SECONDS = 3600


def _utc_now() -> datetime:
    return datetime.now(UTC)


def caller_account(arn: str) -> str:
    """The account id in an ARN (arn:aws:sts::111111111111:assumed-role/...)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def role_of_caller(arn: str) -> str:
    """The principal to trust for a caller ARN: an assumed role's session ARN becomes its
    role's ARN (a trust policy names roles, not sessions); users stay as they are."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return arn


def denied_hint(account: Account, index: str, caller: str | None) -> str:
    who = caller or "the bot's principal"
    if account.external_id:
        return (
            f"the role's trust policy does not let {who} assume it, or "
            f"{index}.external_id does not match its sts:ExternalId condition"
        )
    return (
        f"the role's trust policy does not let {who} assume it (print one with "
        f"`aws-access-bot iam-policy --account {account.name} --trust`), or it requires an "
        f"external id ({index}.external_id is empty)"
    )


class AccountSessions:
    """One boto3 Session per account, made on first use and kept (thread-safe), and
    its clients, made once each. `base` is the bot's own Session (standard credential
    chain): it assumes the roles and serves the accounts without one. `now` is the clock
    the credentials' expiry is measured on."""

    def __init__(
        self,
        config: BotConfig,
        base: boto3.Session,
        *,
        now: Callable[[], datetime] = _utc_now,
        session_name: str = SESSION_NAME,
        duration: int = SESSION_SECONDS,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.base = base
        self.now = now
        self.session_name = session_name
        self.duration = duration
        # Extra arguments for every client (tests: endpoint_url of a moto server).
        self.client_kwargs = dict(client_kwargs or {})
        self._lock = threading.RLock()
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._verified: set[str] = set()
        self._base_identity: dict[str, str] | None = None
        self._assumed_arn: dict[str, str] = {}
        self._sts_lock = threading.Lock()
        self._own_sts: Any = None
        # How many AssumeRole calls each account needed (a refresh is one more).
        self.assumed: dict[str, int] = {}

    # --- sessions and clients --------------------------------------------------

    def account(self, name: str) -> Account:
        found = self.config.account(name)
        if found is None:
            raise AccountAccessError(
                account=name,
                code="UnknownAccount",
                message=f"account {name}: not in the config's [[accounts]] any more",
                permanent=True,
            )
        return found

    def session(self, name: str) -> boto3.Session:
        """The account's one Session (the bot's own for an account without a role)."""
        account = self.account(name)
        if not account.role_arn:
            return self.base
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                session = self._sessions[name] = self._assumed_session(account)
            return session

    def sessions(self) -> dict[str, boto3.Session]:
        """The Sessions made so far: the bot's own (OWN, every account without a role
        shares it), then one per account with a role."""
        with self._lock:
            return {OWN: self.base, **self._sessions}

    def client(self, name: str, service: str, *, retries: bool = True) -> Any:
        key = (name if self.account(name).role_arn else "", f"{service}:{retries}")
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self.session(name).client(
                    service, config=RETRIES if retries else NO_RETRIES, **self.client_kwargs
                )
            return client

    def prepare(self) -> None:
        """Make the IAM client of the accounts served with the bot's own credentials now,
        at start-up (no AWS call): the form's name check runs inside Slack's 3-second
        ack, and the first one after a start should not also load botocore's IAM model.
        Accounts with a role are left for their first use (making one calls AssumeRole)."""
        for account in self.config.all_accounts():
            if not account.role_arn:
                self.iam(account.name)
                return  # they all share one client

    def iam(self, name: str, *, retries: bool = True) -> Any:
        """The IAM client for account `name` (what every IAM adapter is handed)."""
        return self.client(name, "iam", retries=retries)

    def sts(self, name: str) -> Any:
        return self.client(name, "sts")

    def sts_for_keys(self) -> Callable[[str, str], Any]:
        """STS clients signing with a given key (checks a freshly made key works): from
        the bot's own Session whatever the account, since the key says who it is."""
        return sts_factory(self.base, **self.client_kwargs)

    def own_sts(self) -> Any:
        """The bot's own STS client (AssumeRole, its identity). Its own lock: AssumeRole
        runs inside botocore's refresh lock, which must never wait for `_lock`."""
        with self._sts_lock:
            if self._own_sts is None:
                self._own_sts = self.base.client("sts", config=RETRIES, **self.client_kwargs)
            return self._own_sts

    # --- checks ------------------------------------------------------------------

    def identity(self, name: str) -> dict[str, str]:
        """Who the bot is in account `name` (AssumeRole first when it has a role), and
        that this is account `name`'s id; AccountAccessError in one line otherwise."""
        account = self.account(name)
        if account.role_arn:
            # AssumeRole on first use (or when the session is about to expire).
            frozen = self.session(name).get_credentials().get_frozen_credentials()
            arn = self._assumed_arn.get(name, "")
            return {"Account": caller_account(arn), "Arn": arn, "UserId": frozen.access_key}
        identity = self.base_identity()
        if account.id and identity["Account"] != account.id:
            raise AccountAccessError(
                account=name,
                code="WrongAccount",
                message=(
                    f"account {name}: the bot's own credentials ({identity['Arn']}) are in "
                    f"account {identity['Account']}, not {account.id}: set its role_arn, or "
                    f"run the bot with credentials of {account.id}"
                ),
            )
        return identity

    def verify(self, name: str) -> None:
        """`identity` once per account: before the first user is made in it. The default
        account (no `[[accounts]]`) has no id to check: nothing is asked, as before."""
        if name in self._verified:
            return
        account = self.account(name)
        if not account.role_arn and not account.id:
            return
        self.identity(name)
        with self._lock:
            self._verified.add(name)

    def base_identity(self) -> dict[str, str]:
        """sts:GetCallerIdentity of the bot's own credentials (asked once)."""
        if self._base_identity is None:
            sts = self.own_sts()
            try:
                answer = sts.get_caller_identity()
            except ClientError as exc:
                code, message = error_of(exc)
                raise AccountAccessError(
                    account=DEFAULT_ACCOUNT,
                    code=code,
                    message=f"sts:GetCallerIdentity with the bot's own credentials failed: "
                    f"{code}: {message}".rstrip(": "),
                ) from None
            except BotoCoreError as exc:
                raise AccountAccessError(
                    account=DEFAULT_ACCOUNT,
                    code=type(exc).__name__,
                    message=f"sts:GetCallerIdentity with the bot's own credentials failed: "
                    f"{_boto_sentence(exc)}",
                ) from None
            self._base_identity = {k: answer[k] for k in ("Account", "Arn", "UserId")}
        return self._base_identity

    # --- AssumeRole ----------------------------------------------------------------

    def _assumed_session(self, account: Account) -> boto3.Session:
        credentials = DeferredRefreshableCredentials(
            refresh_using=lambda: self._assume(account),
            method="sts-assume-role",
            time_fetcher=self.now,
        )
        core = botocore.session.get_session()
        core._credentials = credentials  # the documented way to hand a session credentials
        return boto3.Session(botocore_session=core, region_name=self.base.region_name)

    def _assume(self, account: Account) -> dict[str, str]:
        """One AssumeRole; botocore calls it on first use and before expiry."""
        params: dict[str, Any] = {
            "RoleArn": account.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration,
        }
        if account.external_id:
            params["ExternalId"] = account.external_id
        sts = self.own_sts()
        try:
            answer = sts.assume_role(**params)
        except (ClientError, BotoCoreError) as exc:
            raise self._assume_error(account, exc) from None
        arn = answer["AssumedRoleUser"]["Arn"]
        if account.id and caller_account(arn) != account.id:
            raise AccountAccessError(
                account=account.name,
                code="WrongAccount",
                message=(
                    f"account {account.name}: assuming {account.role_arn} gave {arn}, in "
                    f"account {caller_account(arn)}, not {account.id}"
                ),
                permanent=True,
            )
        with self._lock:
            self._assumed_arn[account.name] = arn
            self.assumed[account.name] = self.assumed.get(account.name, 0) + 1
        creds = answer["Credentials"]
        # Measured on our clock: the lifetime we asked for (AWS grants exactly that or
        # refuses the call), so an injected clock drives the refresh.
        expiry = self.now() + timedelta(seconds=self.duration)
        log.info(
            "assumed role for account",
            extra={"account": account.name, "role_arn": account.role_arn, "expires": expiry},
        )
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }

    def _assume_error(self, account: Account, exc: Exception) -> AccountAccessError:
        index = f"accounts[{self._index(account)}]"
        if isinstance(exc, ClientError):
            code, message = error_of(exc)
            if code == "AccessDenied":
                caller = self._caller_or_none()
                text = (
                    f"account {account.name}: AccessDenied on sts:AssumeRole of "
                    f"{account.role_arn}: {denied_hint(account, index, caller)}"
                )
            else:
                text = (
                    f"account {account.name}: sts:AssumeRole of {account.role_arn} failed: "
                    f"{code}: {message}".rstrip(": ")
                )
            return AccountAccessError(account=account.name, code=code, message=text)
        assert isinstance(exc, BotoCoreError)
        return AccountAccessError(
            account=account.name,
            code=type(exc).__name__,
            message=(
                f"account {account.name}: could not assume {account.role_arn}: "
                f"{_boto_sentence(exc)}"
            ),
        )

    def _caller_or_none(self) -> str | None:
        try:
            return self.base_identity()["Arn"]
        except AccountAccessError:
            return None

    def _index(self, account: Account) -> int:
        return next((i for i, a in enumerate(self.config.accounts) if a.name == account.name), 0)


def _boto_sentence(exc: BotoCoreError) -> str:
    from bot.aws.calls import is_network_error, safe_message

    if is_network_error(exc):
        return network_error(exc)[1]
    return safe_message(exc)


class AccountProvisioners:
    """The Provisioner port over every account: each request is provisioned, re-keyed
    and rolled back by the IamProvisioner of its own (frozen) account, made once per
    account over that account's Session. Not being able to work in the account (the
    role cannot be assumed, the credentials are another account's) is a transient
    ProvisioningError, retried with backoff, then shown to the owners with Retry."""

    def __init__(
        self,
        sessions: AccountSessions,
        config: BotConfig,
        *,
        sleep: Callable[[float], None] | None = None,
        backoff: Backoff = STEP_BACKOFF,
        build: Callable[[str], IamProvisioner] | None = None,
        **provisioner_kwargs: Any,
    ) -> None:
        import time

        self.sessions = sessions
        self.config = config
        self.sleep = sleep or time.sleep
        self.backoff = backoff
        self._build = build or self._default_build
        self._kwargs = provisioner_kwargs
        self._lock = threading.Lock()
        self._provisioners: dict[str, IamProvisioner] = {}

    def _default_build(self, name: str) -> IamProvisioner:
        return IamProvisioner(
            self.sessions.iam(name),
            self.sessions.sts_for_keys(),
            self.config.aws,
            iam_once=self.sessions.iam(name, retries=False),
            **({"sleep": self.sleep} | self._kwargs),
        )

    def for_account(self, name: str) -> IamProvisioner:
        """The account's provisioner, after checking the bot can work there."""
        call_aws("assume_role", lambda: self.sessions.verify(name), self.backoff, self.sleep)
        with self._lock:
            provisioner = self._provisioners.get(name)
            if provisioner is None:
                provisioner = self._provisioners[name] = self._build(name)
            return provisioner

    def provision(self, request: RequestView) -> Credentials:
        return self.for_account(request.account).provision(request)

    def rotate_credentials(self, request: RequestView) -> Credentials:
        return self.for_account(request.account).rotate_credentials(request)

    def roll_back(self, request: RequestView) -> None:
        self.for_account(request.account).roll_back(request)


class AccountDirectory:
    """The IamDirectory port over every account: a name is looked up in the account the
    request is for (`account`, the profile's)."""

    def __init__(self, sessions: AccountSessions) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()
        self._directories: dict[str, Boto3IamDirectory] = {}

    def in_account(self, account: str) -> Boto3IamDirectory:
        with self._lock:
            directory = self._directories.get(account)
            if directory is None:
                directory = self._directories[account] = Boto3IamDirectory(
                    self.sessions.iam(account)
                )
            return directory

    def name_taken(self, user_name: str, requester_id: str, account: str = DEFAULT_ACCOUNT) -> bool:
        return self.in_account(account).name_taken(user_name, requester_id)

    def name_taken_quick(
        self, user_name: str, requester_id: str, account: str = DEFAULT_ACCOUNT
    ) -> bool:
        directory = self.in_account(account)
        quick = getattr(directory, "name_taken_quick", None)
        return (quick or directory.name_taken)(user_name, requester_id)


def account_config(config: BotConfig, name: str) -> BotConfig:
    """`config` with only the profiles of account `name` (what that account needs)."""
    return replace(config, profiles=tuple(p for p in config.profiles if p.account == name))


def bot_principal(session: boto3.Session) -> str:
    """The ARN to trust for the bot's own credentials (its role for an assumed role)."""
    return role_of_caller(session.client("sts", config=RETRIES).get_caller_identity()["Arn"])
