"""`aws-access-bot run --sandbox`: the whole flow against an in-process moto, so a team
can try the bot in a test workspace before giving it real AWS credentials.

moto's `mock_aws` intercepts every botocore request in the process, from any thread
(waitress workers, the provisioning worker, the scheduler) and from any boto3 session,
including the STS clients the provisioner builds to check a fresh key: nothing can
reach a real AWS endpoint. The IAM it serves lives in memory and is gone on exit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.domain.config import BotConfig

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "--sandbox needs the `sandbox` extra (moto): pip install 'aws-access-bot[sandbox]' "
    "(or `make sandbox`, which installs it and starts the sandbox)"
)
# moto's fixed account; customer-managed policies of other accounts cannot be faked.
SANDBOX_ACCOUNT = "123456789012"
SANDBOX_REGION = "us-east-1"
# Where a sandbox keeps its requests unless DATABASE_URL says otherwise: never in the
# real bot's database, where an approval after a switch would create a real user.
SANDBOX_DATABASE_URL = "sqlite:///aws-access-bot-sandbox.db"
# What a sandbox customer-managed policy grants: nothing (it only has to exist).
_PLACEHOLDER_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}'
)


class SandboxUnavailable(RuntimeError):
    """moto is not installed: the `sandbox` extra is missing."""


def sandbox_available() -> bool:
    try:
        import moto  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class SandboxAws:
    """A running sandbox: `session` is what build_runtime(aws_session=...) takes."""

    session: Any  # boto3.Session
    created: list[str]
    _mock: Any

    def stop(self) -> None:
        self._mock.stop()


def start_sandbox_aws(config: BotConfig) -> SandboxAws:
    """Start moto, then create what the profiles expect to exist (groups, policies)."""
    try:
        from moto import mock_aws
    except ImportError as exc:
        raise SandboxUnavailable(INSTALL_HINT) from exc
    import boto3

    # AWS-managed policies (arn:aws:iam::aws:policy/...) must exist for AttachUserPolicy.
    mock = mock_aws(config={"iam": {"load_aws_managed_policies": True}})
    mock.start()
    try:
        session = boto3.Session(
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - moto accepts any key
            region_name=SANDBOX_REGION,
        )
        if config.accounts:
            created = seed_accounts(session, config)
        else:
            created = seed_profiles(session.client("iam"), config)
    except BaseException:
        mock.stop()
        raise
    log.warning(
        "sandbox mode: AWS is an in-process moto (account %s); no real AWS account is touched",
        SANDBOX_ACCOUNT,
    )
    return SandboxAws(session, created, mock)


# What a sandbox account's role trusts and may do: anyone in the sandbox, anything.
_SANDBOX_TRUST = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}'
)
_SANDBOX_ADMIN = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
)


def iam_in_account(session: Any, account_id: str) -> Any:
    """An IAM client whose calls moto carries out in `account_id` (its
    `x-moto-account-id` header): how the sandbox makes the other accounts' roles."""
    iam = session.client("iam")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    iam.meta.events.register("before-sign.iam.*", add_header)
    return iam


def seed_accounts(session: Any, config: BotConfig) -> list[str]:
    """Every `[[accounts]]` entry in moto (flow 7): the role the bot assumes there, and
    the groups and policies of that account's profiles. An account without a role_arn
    is the sandbox's own account, 123456789012: another id there cannot work."""
    from bot.aws.accounts import account_config

    created: list[str] = []
    for account in config.accounts:
        scoped = account_config(config, account.name)
        if not account.role_arn:
            if account.id != SANDBOX_ACCOUNT:
                log.warning(
                    "sandbox: account %s (%s) has no role_arn, so it is the sandbox's own "
                    "account %s; its requests will fail the account check",
                    account.name,
                    account.id,
                    SANDBOX_ACCOUNT,
                )
            created += seed_profiles(session.client("iam"), scoped)
            continue
        iam = iam_in_account(session, account.id)
        role_path, _, role_name = account.role_arn.split(":role", 1)[1].rpartition("/")
        iam.create_role(
            RoleName=role_name,
            Path=(role_path + "/") if role_path else "/",
            AssumeRolePolicyDocument=_SANDBOX_TRUST,
        )
        iam.put_role_policy(RoleName=role_name, PolicyName="admin", PolicyDocument=_SANDBOX_ADMIN)
        created.append(f"account {account.name}: role {account.role_arn}")
        created += [
            f"account {account.name}: {what}"
            for what in seed_profiles(iam, scoped, account_id=account.id)
        ]
    return created


def seed_profiles(iam: Any, config: BotConfig, *, account_id: str = SANDBOX_ACCOUNT) -> list[str]:
    """Create every group and customer-managed policy the profiles (and the permissions
    boundary) name; returns what was created. AWS-managed policies come with moto."""
    created: list[str] = []
    for group in sorted({g for p in config.profiles for g in p.groups}):
        iam.create_group(GroupName=group)
        created.append(f"group {group}")
    arns = {arn for p in config.profiles for arn in p.policies}
    if config.aws.permissions_boundary:
        arns.add(config.aws.permissions_boundary)
    for arn in sorted(arns):
        account, path, name = _split_policy_arn(arn)
        if account == "aws":
            continue
        if account != account_id:
            log.warning(
                "sandbox: policy %s belongs to account %s, not the sandbox's %s; "
                "requests that attach it will fail",
                arn,
                account,
                account_id,
            )
            continue
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=_PLACEHOLDER_POLICY)
        created.append(f"policy {arn}")
    return created


def _split_policy_arn(arn: str) -> tuple[str, str, str]:
    """arn:aws:iam::<account>:policy<path><name> -> (account, path, name)."""
    parts = arn.split(":", 5)
    account, resource = parts[4], parts[5]
    full = resource.removeprefix("policy")
    path, _, name = full.rpartition("/")
    return account, (path + "/") if path else "/", name
