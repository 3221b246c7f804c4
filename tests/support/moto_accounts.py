"""A moto server with two AWS accounts (flow 7): the bot's own ("main", moto's default
123456789012, where the admin user of tests/support/moto.py lives) and "prod"
(111111111111), which the bot reaches only by assuming a role.

moto carries a call out in another account when it has the `x-moto-account-id` header,
but from then on an unsigned header is not how anyone gets in: the role is made inside
moto's unsigned bootstrap window (INITIAL_NO_AUTH_ACTION_COUNT), and after it every call
is signed and checked, so reaching prod takes a real AssumeRole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support.moto import REGION, MotoServer, launch_moto_server

MAIN_ID = "123456789012"
PROD_ID = "111111111111"
PROD_ROLE = f"arn:aws:iam::{PROD_ID}:role/aws-access-bot"
PROD_EXTERNAL_ID = "prod-external-id"
# main: create_user + put_user_policy + create_access_key; prod: create_role +
# put_role_policy. Every call after these is signed and checked.
BOOTSTRAP_CALLS = 5
ADMIN = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": PROD_EXTERNAL_ID}},
                }
            ],
        }
    )


@dataclass
class TwoAccounts:
    moto: MotoServer

    @property
    def endpoint(self) -> str:
        return self.moto.endpoint

    def base_session(self, key_id: str | None = None, secret: str | None = None) -> boto3.Session:
        """The bot's own credentials (main's admin unless a key is given)."""
        return self.moto.session(key_id, secret)

    def prod_session(self) -> boto3.Session:
        """The prod account as its admin would use it: through the role, signed."""
        sts = self.moto.client("sts")
        creds = sts.assume_role(
            RoleArn=PROD_ROLE, RoleSessionName="test-admin", ExternalId=PROD_EXTERNAL_ID
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    def client(self, session: boto3.Session, service: str) -> Any:
        return session.client(
            service,
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def main_iam(self) -> Any:
        return self.moto.client("iam")

    def prod_iam(self) -> Any:
        return self.client(self.prod_session(), "iam")


def start_two_accounts(log_path: Path) -> TwoAccounts:
    process, endpoint = launch_moto_server(log_path, BOOTSTRAP_CALLS)

    def unsigned_iam(account: str | None = None) -> Any:
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",  # noqa: S106 - moto ignores it during bootstrap
        )
        if account is not None:

            def in_account(request: Any, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account

            iam.meta.events.register("before-sign.iam.*", in_account)
        return iam

    main = unsigned_iam()
    main.create_user(UserName="moto-admin")
    main.put_user_policy(UserName="moto-admin", PolicyName="admin", PolicyDocument=ADMIN)
    key = main.create_access_key(UserName="moto-admin")["AccessKey"]
    prod = unsigned_iam(PROD_ID)
    prod.create_role(
        RoleName="aws-access-bot",
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MAIN_ID}:user/moto-admin"),
    )
    prod.put_role_policy(RoleName="aws-access-bot", PolicyName="admin", PolicyDocument=ADMIN)
    moto = MotoServer(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)
    return TwoAccounts(moto)


def accounts_toml(*, main_owner: str, prod_owner: str, extra_profiles: str = "") -> str:
    """A config with both accounts: main (the bot's own credentials, [slack]'s owners and
    channel) and prod (its role, its owner, its channel)."""
    return f"""
[slack]
approval_channel = "C0MAIN"
owners = ["{main_owner}"]

[aws]
iam_path = "/onboarding/"

[[accounts]]
name = "main"
id = "{MAIN_ID}"

[[accounts]]
name = "prod"
id = "{PROD_ID}"
role_arn = "{PROD_ROLE}"
external_id = "{PROD_EXTERNAL_ID}"
owners = ["{prod_owner}"]
approval_channel = "C0PROD"

[[profiles]]
name = "developer"
description = "Dev work in main"
groups = ["developers"]
account = "main"

[[profiles]]
name = "deploy"
description = "Deploys in prod"
groups = ["prod-deployers"]
account = "prod"
{extra_profiles}"""
