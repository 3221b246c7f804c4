"""moto in server mode: boto3 talks real HTTP to a moto_server subprocess.

Started with INITIAL_NO_AUTH_ACTION_COUNT so that, after an admin user and key are
bootstrapped, moto checks every request's signature and IAM permissions: a test can
then show that handed-out credentials really work (and that wrong ones don't).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from tests.support.processes import free_port

REGION = "us-east-1"
# create_user + put_user_policy + create_access_key, then every call is checked.
BOOTSTRAP_CALLS = 3


@dataclass
class MotoServer:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen

    def env(self) -> dict[str, str]:
        """What the bot needs in its environment to reach this moto as the admin."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            # AWS_REGION alone, as most platforms set it: the bot must honour it
            # (bot/aws/region.py); botocore by itself reads only AWS_DEFAULT_REGION.
            "AWS_REGION": REGION,
        }

    def session(self, key_id: str | None = None, secret: str | None = None) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=key_id or self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            region_name=REGION,
        )

    def client(self, service: str, key_id: str | None = None, secret: str | None = None):
        return self.session(key_id, secret).client(
            service,
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def unique(prefix: str) -> str:
    """Names unique within the shared server (tests share one moto per session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def launch_moto_server(log_path: Path, bootstrap_calls: int) -> tuple[subprocess.Popen, str]:
    """A moto_server process that accepts `bootstrap_calls` unsigned calls, then checks
    signatures; AWS's managed policies loaded. Its process and endpoint, once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": str(bootstrap_calls),
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }
    env.pop("MOTO_ACCOUNT_ID", None)  # it would win over the x-moto-account-id header
    moto_server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):  # noqa: S310
                return process, endpoint
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not start; see {log_path}") from None
            time.sleep(0.2)


def start_moto(log_path: Path) -> MotoServer:
    process, endpoint = launch_moto_server(log_path, BOOTSTRAP_CALLS)
    # Bootstrap an administrator while moto still accepts unsigned calls.
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",  # noqa: S106 - moto ignores it during bootstrap
    )
    iam.create_user(UserName="moto-admin")
    iam.put_user_policy(
        UserName="moto-admin",
        PolicyName="admin",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="moto-admin")["AccessKey"]
    return MotoServer(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)
