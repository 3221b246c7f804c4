"""The AWS region the bot's clients use, and the one way to make its boto3 sessions.

botocore reads only `AWS_DEFAULT_REGION` (and the shared config file's `region`); most
other AWS tools, and many deployment platforms, set `AWS_REGION`. The bot honours both:
`AWS_DEFAULT_REGION` first, then `AWS_REGION`, then whatever botocore finds on its own
(`AWS_PROFILE`'s `region` in ~/.aws/config). Every boto3 session the bot makes comes from
`new_session`, so every client (the provisioner's, `check`'s, per-account ones) agrees.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3

REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION")


def region_from(env: Mapping[str, str] | None = None) -> str | None:
    """`AWS_DEFAULT_REGION`, else `AWS_REGION`, else None (botocore's own lookup)."""
    env = os.environ if env is None else env
    for name in REGION_VARIABLES:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def new_session(env: Mapping[str, str] | None = None, **kwargs: Any) -> boto3.Session:
    """A boto3 Session with the region of `region_from` (unless `region_name` is given).
    Other keyword arguments (credentials, profile_name) go to boto3.Session as they are."""
    if kwargs.get("region_name") is None:
        kwargs["region_name"] = region_from(env)
    return boto3.Session(**kwargs)


# Providers that ask the network (the instance metadata service, a container agent):
# not asked at start-up; the first AWS call asks them.
_NETWORK_PROVIDERS = frozenset({"iam-role", "container-role"})

NO_CREDENTIALS = (
    "no AWS credentials found (AWS_PROFILE, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, "
    "~/.aws): unless this host has an instance or task role, approved requests will fail "
    "to provision; `aws-access-bot check` tests them (or try `run --sandbox`)"
)


def local_credentials_found(session: boto3.Session | None = None) -> bool:
    """True when the credential chain finds credentials without asking the network: the
    environment, the shared files, a profile, a credential process, or a container
    credentials endpoint that is configured. (An EC2 instance role is only known by
    asking the metadata service, which start-up does not do.)"""
    session = session or new_session()
    if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return True
    try:
        resolver = session._session.get_component("credential_provider")
        for provider in resolver.providers:
            if getattr(provider, "METHOD", "") in _NETWORK_PROVIDERS:
                continue
            if provider.load() is not None:
                return True
    except Exception:  # a broken profile or config file: nothing usable
        return False
    return False
