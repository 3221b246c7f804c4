"""Helpers for the credential-link tests: a provisioned request with its sealed link
(made through the store's operations, as the provisioning use case leaves it), sample
credentials, and opening a link as the requester's browser would."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from bot import crypto
from bot.domain.credentials import Credentials, IssuedLink, Reveal, RevealStatus
from bot.domain.requests import MessageRef, RequestView
from bot.settings import BotConfig, parse_config
from bot.store import Stores, build_stores
from tests.conftest import MINIMAL_CONFIG
from tests.support import requests

OWNER = "U0OWNER1"
REQUESTER = "U0REQUESTER"
PUBLIC_URL = requests.PUBLIC_URL
# Where the Slack flow posted the approval message and the requester's link DM.
APPROVAL_MESSAGE = MessageRef("C0APPROVALS", "1700000000.000001")
REQUESTER_DM = MessageRef("D0REQUESTER", "1700000000.000002")


def bot_config() -> BotConfig:
    return parse_config(tomllib.loads(MINIMAL_CONFIG), "test")


def sample_credentials(user_name: str = "alice", n: int = 0) -> Credentials:
    return Credentials(
        user_name=user_name,
        console_url="https://123456789012.signin.aws.amazon.com/console",
        password=f'Pw-{n}-q7#Vx,"z!',  # comma and quote: the CSV must quote them
        access_key_id=f"AKIATESTKEY{n:09d}",
        secret_access_key=f"secret/{n}/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    )


@dataclass(frozen=True)
class Issued:
    """A provisioned request and the one-time link its credentials were sealed into."""

    request: RequestView
    link: IssuedLink
    credentials: Credentials


def issue(
    stores: Stores | sessionmaker[Session],
    now: datetime,
    credentials: Credentials | None = None,
    *,
    user_name: str | None = None,
    config: BotConfig | None = None,
    public_url: str = PUBLIC_URL,
) -> Issued:
    """A request that went the whole way to `provisioned`: submitted by REQUESTER,
    approved, its credentials sealed into a link, its Slack messages remembered."""
    if not isinstance(stores, Stores):
        stores = build_stores(stores)
    config = config or bot_config()
    credentials = credentials or sample_credentials(user_name or "alice")
    request = requests.approved(
        stores,
        config,
        now=now,
        requester_id=REQUESTER,
        iam_user_name=user_name or credentials.user_name,
        approval_message=APPROVAL_MESSAGE,
    )
    view, link = requests.provision(
        stores,
        config,
        request.id,
        credentials,
        now=now,
        public_url=public_url,
        dm=REQUESTER_DM,
    )
    return Issued(view, link, credentials)


def provisioned_request(
    stores: Stores | sessionmaker[Session], now: datetime, user_name: str = "alice"
) -> int:
    """The id of a provisioned request (with a link holding sample credentials)."""
    return issue(stores, now, user_name=user_name).request.id


# --- the browser's side --------------------------------------------------------------


def key_of(link: IssuedLink) -> bytes:
    """The link's key: only ever in the URL fragment."""
    return crypto.from_b64url(urlsplit(link.url).fragment)


def proof_of(link: IssuedLink) -> bytes:
    return crypto.key_check(key_of(link))


def decrypt(reveal: Reveal, link: IssuedLink) -> Credentials:
    assert reveal.status is RevealStatus.REVEALED and reveal.box is not None, reveal.status
    plain = crypto.open_box(reveal.box, key_of(link), link.link_id.encode())
    return crypto.credentials_from_payload(plain)


def open_link(stores: Stores, link: IssuedLink, now: datetime) -> Credentials:
    """Use the link up (as the browser's reveal does) and decrypt what it held."""
    reveal = stores.links.take_link(link.link_id, now, proof=proof_of(link), client="test")
    return decrypt(reveal, link)
