"""AES-256-GCM sealing of one credentials payload under a single-use key.

The key never touches the server after sealing: it travels only in the link's URL
fragment, and the browser decrypts with WebCrypto. What the server keeps (ciphertext,
nonce, and a SHA-256 "key check" that lets the browser prove it holds the key before
the link is used up) reveals nothing about the credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain.credentials import Credentials, IssuedLink, SealedBox, SealedLink

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's 96-bit nonce
LINK_ID_BYTES = 24  # 192 bits of entropy; 32 URL-safe characters
# Domain separation: the key check is not a hash that could be reused elsewhere.
KEY_CHECK_LABEL = b"aws-access-bot link key check v1\x00"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _aesgcm(key: bytes) -> AESGCM:
    # Imported at first use: OpenSSL's bindings are 8.6 MB of the process, and a bot
    # that has not provisioned or revealed anything since it started needs none of it
    # (bench/README.md, "Memory").
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def new_link_id() -> str:
    return secrets.token_urlsafe(LINK_ID_BYTES)


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def seal(plaintext: bytes, key: bytes, aad: bytes) -> SealedBox:
    """Encrypt under a fresh random nonce; `aad` binds the box to its link id."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return SealedBox(_aesgcm(key).encrypt(nonce, plaintext, aad), nonce)


def open_box(box: SealedBox, key: bytes, aad: bytes) -> bytes:
    """Decrypt; raises cryptography.exceptions.InvalidTag on any tampering or wrong key."""
    return _aesgcm(key).decrypt(box.nonce, box.ciphertext, aad)


def key_check(key: bytes) -> bytes:
    """SHA-256 of a 256-bit random key: proves possession, cannot be inverted."""
    return hashlib.sha256(KEY_CHECK_LABEL + key).digest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Decode unpadded base64url; ValueError on anything else."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


# The browser reads these names (bot/web/static/credentials.js).
def credentials_payload(credentials: Credentials) -> bytes:
    return json.dumps(
        {
            "user_name": credentials.user_name,
            "password": credentials.password,
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
            "console_url": credentials.console_url,
        },
        separators=(",", ":"),
    ).encode()


def credentials_from_payload(payload: bytes) -> Credentials:
    data = json.loads(payload)
    return Credentials(
        user_name=data["user_name"],
        console_url=data["console_url"],
        password=data.get("password"),
        access_key_id=data.get("access_key_id"),
        secret_access_key=data.get("secret_access_key"),
    )


def seal_link(
    credentials: Credentials, *, public_url: str, expires_at: datetime
) -> tuple[SealedLink, IssuedLink]:
    """Seal credentials under a fresh key: what the database keeps (ciphertext and the
    key check) and the link for the requester's DM (the key only in its fragment)."""
    link_id = new_link_id()
    key = new_key()
    box = seal(credentials_payload(credentials), key, aad=link_id.encode("ascii"))
    url = f"{public_url.rstrip('/')}/credentials/{link_id}#{b64url(key)}"
    return (
        SealedLink(link_id, box, key_check(key), expires_at),
        IssuedLink(link_id=link_id, url=url, expires_at=expires_at),
    )
