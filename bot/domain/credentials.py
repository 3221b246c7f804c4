"""The credentials handed to a requester. They exist only in memory until encrypted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    user_name: str
    console_url: str
    # Secrets: excluded from repr so a log line or traceback cannot show them.
    password: str | None = field(default=None, repr=False)
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
