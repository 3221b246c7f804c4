"""Console passwords that satisfy the account's IAM password policy.

Pure: the policy comes in as data (from GetAccountPasswordPolicy), randomness from
`secrets`. We always include every character class IAM knows and a generous length, so
the password satisfies any policy an account can set, not just the one we read.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

# The symbols IAM accepts in passwords (the console's own generator uses these).
SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS)
DEFAULT_LENGTH = 20  # well above AWS's default minimum of 8
MAX_LENGTH = 128  # IAM's upper limit
# A cell starting with one of these is a formula to spreadsheet tools, and the password
# lands in credentials.csv: never start with one.
FORMULA_STARTS = frozenset("=+-@")


@dataclass(frozen=True)
class PasswordPolicy:
    minimum_length: int = 8
    require_uppercase: bool = False
    require_lowercase: bool = False
    require_numbers: bool = False
    require_symbols: bool = False
    # AWS's default policy (no policy set) asks for three of the four classes.
    three_of_four: bool = True

    @classmethod
    def from_aws(cls, policy: dict[str, Any] | None) -> PasswordPolicy:
        """GetAccountPasswordPolicy's `PasswordPolicy`, or None for AWS's default policy
        (8 characters, at least three of the four classes)."""
        if not policy:
            return cls()
        return cls(
            minimum_length=int(policy.get("MinimumPasswordLength", 8)),
            require_uppercase=bool(policy.get("RequireUppercaseCharacters")),
            require_lowercase=bool(policy.get("RequireLowercaseCharacters")),
            require_numbers=bool(policy.get("RequireNumbers")),
            require_symbols=bool(policy.get("RequireSymbols")),
            three_of_four=False,
        )


def generate_password(policy: PasswordPolicy, *, choice=secrets.choice) -> str:
    """A random password with at least one character of every class, at least
    `max(policy.minimum_length, DEFAULT_LENGTH)` long."""
    length = min(MAX_LENGTH, max(policy.minimum_length, DEFAULT_LENGTH))
    alphabet = "".join(CLASSES)
    chars = [choice(cls) for cls in CLASSES]
    chars += [choice(alphabet) for _ in range(length - len(chars))]
    # Shuffle with the same CSPRNG so the class positions are not predictable.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    if chars[0] in FORMULA_STARTS:
        # Swap in the first letter or digit (there is always one: every class is present).
        k = next(i for i, c in enumerate(chars) if c.isalnum())
        chars[0], chars[k] = chars[k], chars[0]
    return "".join(chars)


def meets_policy(password: str, policy: PasswordPolicy) -> bool:
    """True when `password` satisfies `policy` (AWS default: three of four classes)."""
    if len(password) < policy.minimum_length or len(password) > MAX_LENGTH:
        return False
    present = [any(c in cls for c in password) for cls in CLASSES]
    required = (
        policy.require_uppercase,
        policy.require_lowercase,
        policy.require_numbers,
        policy.require_symbols,
    )
    if policy.three_of_four and sum(present) < 3:
        return False
    return all(p for p, r in zip(present, required, strict=True) if r)
