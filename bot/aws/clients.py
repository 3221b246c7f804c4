"""boto3 clients for the bot: standard credential chain, AWS_ENDPOINT_URL honoured by
boto3 itself, botocore's `standard` retry mode. Built on demand, never at import.

The provisioner also gets an IAM client with retries off, for the calls that must not
be sent twice (CreateAccessKey, CreateLoginProfile: bot/aws/keys.py): botocore re-sends
a call whose answer was lost, and a lost CreateAccessKey answer would leave a key
nobody holds."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from bot.aws.iam import IamProvisioner, StsFactory
from bot.aws.region import new_session
from bot.domain.config import AwsConfig

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
# `total_max_attempts` counts the first try, so 1 is no retry at all. (`max_attempts`
# counts retries only: max_attempts 1 would still re-send a call once.)
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def iam_client(session: boto3.Session | None = None, *, retries: bool = True) -> Any:
    return (session or new_session()).client("iam", config=RETRIES if retries else NO_RETRIES)


def sts_client(session: boto3.Session | None = None) -> Any:
    return (session or new_session()).client("sts", config=RETRIES)


def sts_factory(session: boto3.Session | None = None, **client_kwargs: Any) -> StsFactory:
    """STS clients that sign with a given key (to check a freshly created key works).
    No botocore retries: the provisioner's own backoff decides how long to wait.
    `client_kwargs` go to every client (an account's endpoint, bot/aws/accounts.py).

    The clients come from the one base session with explicit credentials: a new
    boto3.Session per key re-read botocore's data files on every provisioning, which
    made the STS check cost more CPU than all the IAM calls (bench/README.md)."""
    base = session or new_session()

    def sts_for(access_key_id: str, secret_access_key: str) -> Any:
        return base.client(
            "sts",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=None,
            region_name=base.region_name,
            config=NO_RETRIES,
            **client_kwargs,
        )

    return sts_for


def build_provisioner(config: AwsConfig, session: boto3.Session | None = None) -> IamProvisioner:
    session = session or new_session()
    return IamProvisioner(
        iam_client(session),
        sts_factory(session),
        config,
        iam_once=iam_client(session, retries=False),
    )
