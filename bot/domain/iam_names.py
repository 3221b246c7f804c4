"""IAM user-name rules (`[\\w+=,.@-]{1,64}`), as IAM checks them."""

from __future__ import annotations

import re

_VALID = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_INVALID_CHAR = re.compile(r"[^\w+=,.@-]", re.ASCII)
FORMULA_STARTS = frozenset("=+-@")


def is_valid_user_name(name: str) -> bool:
    return bool(_VALID.fullmatch(name))


def user_name_problem(name: str) -> str | None:
    """A sentence saying what is wrong with `name`, or None when IAM accepts it."""
    if not name:
        return "Enter an IAM user name."
    if len(name) > 64:
        return f"IAM user names are at most 64 characters (this one has {len(name)})."
    if not is_valid_user_name(name):
        return "IAM user names may contain only letters, digits and + = , . @ _ -"
    if name[0] in FORMULA_STARTS:
        # The name lands in credentials.csv, where such a cell is read as a formula.
        return "IAM user names made by this bot may not start with = + - or @"
    return None


def suggest_user_name(email: str | None) -> str:
    """The e-mail's local part, cleaned to IAM's alphabet ('' when nothing usable)."""
    if not email:
        return ""
    local = email.split("@", 1)[0]
    return _INVALID_CHAR.sub("", local).lstrip("=+-@")[:64]


def same_user_name(a: str, b: str) -> bool:
    """IAM user names are unique case-insensitively."""
    return a.casefold() == b.casefold()
