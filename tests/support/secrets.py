"""Looking for leaked secrets: every form a secret could be stored or logged in, and every
row of every table as text to look in."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from sqlalchemy import Engine, inspect, select, table, text

from bot import crypto


def encodings(secret: str) -> set[str]:
    """The secret raw, inside JSON, base64 (both alphabets), url-quoted and hex."""
    raw = secret.encode()
    return {
        secret,
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        crypto.b64url(raw),
        raw.hex(),
        quote(secret, safe=""),
        quote_plus(secret),
    }


def find_secrets(haystack: str | bytes, secrets: dict[str, str]) -> list[str]:
    """Which secrets (in which form) occur in `haystack`; empty when none does."""
    found = []
    for what, secret in secrets.items():
        for form in encodings(secret):
            needle: str | bytes = form.encode() if isinstance(haystack, bytes) else form
            if needle in haystack:
                found.append(f"{what} as {form!r}")
    return found


def all_rows(engine: Engine) -> str:
    """Every row of every table, as text."""
    dump = []
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(name)]
            query = select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
            dump += [" ".join(str(value) for value in row) for row in conn.execute(query)]
    return "\n".join(dump)
