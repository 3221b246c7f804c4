"""boto3 clients for the bot: standard credential chain, AWS_ENDPOINT_URL honoured by
boto3 itself, botocore's `standard` retry mode. Built on demand, never at import."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from bot.aws.iam import IamProvisioner, StsFactory
from bot.domain.config import AwsConfig

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


def iam_client(session: boto3.Session | None = None) -> Any:
    return (session or boto3.Session()).client("iam", config=RETRIES)


def sts_client(session: boto3.Session | None = None) -> Any:
    return (session or boto3.Session()).client("sts", config=RETRIES)


def sts_factory(session: boto3.Session | None = None) -> StsFactory:
    """STS clients that sign with a given key (to check a freshly created key works).
    No botocore retries: the provisioner's own backoff decides how long to wait.

    The clients come from the one base session with explicit credentials: a new
    boto3.Session per key re-read botocore's data files on every provisioning, which
    made the STS check cost more CPU than all the IAM calls (bench/README.md)."""
    base = session or boto3.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 1})

    def sts_for(access_key_id: str, secret_access_key: str) -> Any:
        return base.client(
            "sts",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=None,
            region_name=base.region_name,
            config=config,
        )

    return sts_for


def build_provisioner(config: AwsConfig, session: boto3.Session | None = None) -> IamProvisioner:
    session = session or boto3.Session()
    return IamProvisioner(iam_client(session), sts_factory(session), config)
