"""Free text people type (a request's reason, a deny reason): which characters it may hold.

PostgreSQL refuses NUL in text columns and no encoder takes a lone surrogate, so such
text would fail after Slack got its ack; other control characters only garble messages
and logs. The request form refuses them inline (the person can fix the text); a deny
reason is cleaned instead, since refusing it would block the decision
(docs/architecture.md, "Where each rule lives").
"""

from __future__ import annotations

import unicodedata

# Line breaks and tabs are ordinary in a multi-line input; every other control
# character (C0, DEL, C1) and every surrogate is refused or removed.
KEPT = frozenset("\n\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})


def is_refused(char: str) -> bool:
    return char not in KEPT and unicodedata.category(char) in _REFUSED_CATEGORIES


def normalize_newlines(text: str) -> str:
    """CR LF and a lone CR become LF (a pasted Windows text is not an error)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def refused_characters(text: str) -> list[str]:
    """The refused characters in `text` (after newline normalisation), as U+XXXX, once
    each, in order of appearance."""
    seen: dict[str, None] = {}
    for char in normalize_newlines(text):
        if is_refused(char):
            seen.setdefault(f"U+{ord(char):04X}")
    return list(seen)


def text_problem(text: str, what: str = "The text") -> str | None:
    """A sentence for the form when `text` holds a refused character, else None."""
    refused = refused_characters(text)
    if not refused:
        return None
    shown = ", ".join(refused[:3]) + (", ..." if len(refused) > 3 else "")
    return (
        f"{what} contains control characters ({shown}), which cannot be stored. "
        "Remove them (paste it as plain text) and submit again."
    )


def cleaned(text: str) -> str:
    """`text` with newlines normalised and every refused character removed."""
    return "".join(char for char in normalize_newlines(text) if not is_refused(char))
