"""The credentials handed to a requester. They exist only in memory until encrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
