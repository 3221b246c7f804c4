"""Generated console passwords against IAM password policies."""

from __future__ import annotations

import pytest

from bot.aws.passwords import (
    CLASSES,
    MAX_LENGTH,
    SYMBOLS,
    PasswordPolicy,
    generate_password,
    meets_policy,
)

CUSTOM = {
    "MinimumPasswordLength": 64,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
}


@pytest.mark.parametrize(
    ("aws_policy", "min_length"),
    [
        (None, 20),
        ({"MinimumPasswordLength": 6}, 20),
        ({"MinimumPasswordLength": 30, "RequireSymbols": True}, 30),
        (CUSTOM, 64),
        ({"MinimumPasswordLength": 128, "RequireNumbers": True}, 128),
    ],
)
def test_generated_password_meets_policy(aws_policy, min_length) -> None:
    policy = PasswordPolicy.from_aws(aws_policy)
    passwords = {generate_password(policy) for _ in range(50)}
    assert len(passwords) == 50  # random, not constant
    for password in passwords:
        assert min_length <= len(password) <= MAX_LENGTH
        assert meets_policy(password, policy)
        assert all(any(c in cls for c in password) for cls in CLASSES)
        assert set(password) <= set("".join(CLASSES))


@pytest.mark.parametrize(
    ("password", "aws_policy", "ok"),
    [
        ("abcDEF12", None, True),  # default: 8 chars, three of four classes
        ("abcdefgh", None, False),
        ("abcDEFgh", None, False),
        ("abcDE1!", None, False),  # too short
        ("abcdefghij", {"MinimumPasswordLength": 10}, True),  # custom, no classes required
        ("abcdefghij", {"MinimumPasswordLength": 10, "RequireSymbols": True}, False),
        ("abcdefghi!", {"MinimumPasswordLength": 10, "RequireSymbols": True}, True),
        ("ABCDEFGHI1", {"MinimumPasswordLength": 10, "RequireLowercaseCharacters": True}, False),
        ("x" * 129, None, False),
    ],
)
def test_meets_policy(password, aws_policy, ok) -> None:
    assert meets_policy(password, PasswordPolicy.from_aws(aws_policy)) is ok


def test_symbols_are_ones_iam_accepts() -> None:
    assert set(SYMBOLS) <= set("!@#$%^&*()_+-=[]{}|'")


def test_no_password_starts_a_spreadsheet_formula() -> None:
    # The password goes into credentials.csv; a cell starting with = + - @ is a formula.
    # Before this rule about 5% of passwords started with one.
    policy = PasswordPolicy.from_aws(None)
    starts = {generate_password(policy)[0] for _ in range(5000)}
    assert not starts & set("=+-@")
    assert len(starts) > 40  # still random in first place
