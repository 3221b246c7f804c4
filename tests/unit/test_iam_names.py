import pytest

from bot.domain.iam_names import same_user_name, suggest_user_name, user_name_problem


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("alice", None),
        ("a.b+c=d,e@f_g-h", None),
        ("x" * 64, None),
        ("", "Enter an IAM user name."),
        ("x" * 65, "IAM user names are at most 64 characters (this one has 65)."),
        ("bad name", "IAM user names may contain only letters, digits and + = , . @ _ -"),
        ("émile", "IAM user names may contain only letters, digits and + = , . @ _ -"),
        ("a/b", "IAM user names may contain only letters, digits and + = , . @ _ -"),
        # Valid for IAM, but a formula once the name is a credentials.csv cell.
        ("=cmd", "IAM user names made by this bot may not start with = + - or @"),
        ("+a", "IAM user names made by this bot may not start with = + - or @"),
        ("-a", "IAM user names made by this bot may not start with = + - or @"),
        ("@a", "IAM user names made by this bot may not start with = + - or @"),
        ("a=b", None),
    ],
)
def test_user_name_problem(name: str, problem: str | None) -> None:
    assert user_name_problem(name) == problem


@pytest.mark.parametrize(
    ("email", "suggestion"),
    [
        ("alice@example.com", "alice"),
        ("jean.o'neil@example.com", "jean.oneil"),
        ("émile.zola@example.com", "mile.zola"),
        (None, ""),
        ("", ""),
        ("x" * 80 + "@example.com", "x" * 64),
        ("-dash@example.com", "dash"),
    ],
)
def test_suggest_user_name(email, suggestion) -> None:
    assert suggest_user_name(email) == suggestion


def test_names_compare_case_insensitively() -> None:
    assert same_user_name("Alice", "alice")
    assert not same_user_name("alice", "alicia")
