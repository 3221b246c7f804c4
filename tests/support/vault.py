"""Helpers for the credential-link tests: a provisioned request with its sealed link
(made through the store's operations, as the provisioning use case leaves it), sample
credentials, the CredentialLinks use case over a test's stores, and opening a link as
the requester's browser would (in process, or over HTTP)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from bot import crypto
from bot.domain.credentials import Credentials, IssuedLink, Reveal, RevealStatus
from bot.domain.ports import Clock, Notifier, Provisioner
from bot.domain.requests import MessageRef, RequestView
from bot.services.vault import CredentialLinks
from bot.settings import BotConfig
from bot.store import Stores, build_stores
from tests.support import requests
from tests.support.configs import bot_config

OWNER = "U0OWNER1"
REQUESTER = "U0REQUESTER"
PUBLIC_URL = requests.PUBLIC_URL
# Where the Slack flow posted the approval message and the requester's link DM.
APPROVAL_MESSAGE = MessageRef("C0APPROVALS", "1700000000.000001")
REQUESTER_DM = MessageRef("D0REQUESTER", "1700000000.000002")


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


def credential_links(
    stores: Stores,
    notifier: Notifier,
    clock: Clock,
    *,
    config: BotConfig | None = None,
    public_url: str = PUBLIC_URL,
    provisioner: Provisioner | None = None,
) -> CredentialLinks:
    """The credential-link use case over `stores` (reveal, purge; re-issue when given a
    `provisioner`), telling `notifier`."""
    return CredentialLinks(
        stores.links,
        stores.requests,
        stores.provisioning,
        notifier,
        config or bot_config(),
        public_url=public_url,
        provisioner=provisioner,
        clock=clock,
    )


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


def http_status(url: str) -> int:
    """A link previewer: a plain GET (urllib drops the fragment, as browsers do)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def reveal_over_http(url: str) -> tuple[int, Credentials | None]:
    """What the page's script does with a link's `url`: POST the key check to
    <url>/reveal, decrypt the answer with the key from the fragment. The HTTP status,
    and the credentials when it was 200."""
    parts = urlsplit(url)
    key = crypto.from_b64url(parts.fragment)
    link_id = parts.path.rsplit("/", 1)[-1]
    body = json.dumps({"proof": crypto.b64url(crypto.key_check(key))}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{parts.scheme}://{parts.netloc}{parts.path}/reveal",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            sealed = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    box = crypto.SealedBox(
        crypto.from_b64url(sealed["ciphertext"]), crypto.from_b64url(sealed["nonce"])
    )
    return 200, crypto.credentials_from_payload(crypto.open_box(box, key, link_id.encode()))
