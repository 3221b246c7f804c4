"""The credentials handed to a requester. They exist only in memory until encrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Credentials:
    user_name: str
    console_url: str
    # Secrets: excluded from repr so a log line or traceback cannot show them.
    password: str | None = field(default=None, repr=False)
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link. `url` carries the decryption key in its fragment: it goes to the
    requester's DM and nowhere else (never a log line, the database or the audit log)."""

    link_id: str
    url: str = field(repr=False)
    expires_at: datetime = field(compare=False, default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class SealedBox:
    """AES-256-GCM output (bot/crypto.py). `ciphertext` ends with GCM's 16-byte tag,
    the layout WebCrypto's AES-GCM decrypt expects."""

    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)


@dataclass(frozen=True)
class SealedLink:
    """A one-time link as the database keeps it: ciphertext, never the key."""

    link_id: str
    box: SealedBox
    key_check: bytes = field(repr=False)  # SHA-256 of the fragment key (proof of holding it)
    expires_at: datetime = field(compare=False, default=None)  # type: ignore[assignment]


class LinkStatus(StrEnum):
    AVAILABLE = "available"
    REVEALED = "revealed"
    EXPIRED = "expired"  # past its TTL, purged, or replaced by a re-issue
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LinkState:
    status: LinkStatus
    expires_at: datetime | None = None
    revealed_at: datetime | None = None


class RevealStatus(StrEnum):
    REVEALED = "revealed"  # this caller got the ciphertext (the only one who ever will)
    GONE = "gone"  # revealed before, expired or replaced: see `state`
    UNKNOWN = "unknown"
    WRONG_KEY = "wrong_key"  # the key check did not match; the link is left as it was


@dataclass(frozen=True)
class Reveal:
    status: RevealStatus
    state: LinkState
    box: SealedBox | None = field(default=None, repr=False)
    request_id: int | None = None
