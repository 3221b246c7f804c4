"""The free-text rule (bot/domain/text.py): which characters a reason may hold."""

from __future__ import annotations

import pytest

from bot.domain.text import (
    cleaned,
    is_refused,
    normalize_newlines,
    refused_characters,
    text_problem,
)

# text, refused characters, cleaned text
CASES = [
    ("need logs", [], "need logs"),
    ("line one\nline two\tindented", [], "line one\nline two\tindented"),
    ("windows\r\nline\rend", [], "windows\nline\nend"),
    ("café — ünïcødé 日本語 🚀", [], "café — ünïcødé 日本語 🚀"),
    ("zero\u200bwidth and rtl\u202e", [], "zero\u200bwidth and rtl\u202e"),  # format, not control
    ("nul\x00here", ["U+0000"], "nulhere"),
    ("\x00\x00only", ["U+0000"], "only"),
    ("bell\x07 esc\x1b[31m del\x7f", ["U+0007", "U+001B", "U+007F"], "bell esc[31m del"),
    ("c1\x85 csi\x9b", ["U+0085", "U+009B"], "c1 csi"),
    ("vt\x0b ff\x0c", ["U+000B", "U+000C"], "vt ff"),
    ("lone \ud800 surrogate", ["U+D800"], "lone  surrogate"),
    ("", [], ""),
]


@pytest.mark.parametrize(("text", "refused", "clean"), CASES)
def test_refused_characters_and_cleaning(text: str, refused: list[str], clean: str) -> None:
    assert refused_characters(text) == refused
    assert cleaned(text) == clean
    assert refused_characters(cleaned(text)) == []
    problem = text_problem(text, "The reason")
    if refused:
        assert problem is not None and problem.startswith("The reason contains control")
        assert refused[0] in problem
    else:
        assert problem is None


def test_kept_and_refused_single_characters() -> None:
    assert not is_refused("\n") and not is_refused("\t") and not is_refused(" ")
    assert all(is_refused(chr(c)) for c in range(0x20) if chr(c) not in "\n\t")
    assert is_refused("\x7f") and all(is_refused(chr(c)) for c in range(0x80, 0xA0))
    assert not is_refused("\xa0")  # no-break space is text


def test_problem_lists_at_most_three_characters() -> None:
    problem = text_problem("\x01\x02\x03\x04\x05")
    assert problem is not None
    assert "U+0001, U+0002, U+0003, ..." in problem and "U+0004" not in problem


def test_newlines_are_normalised_before_anything() -> None:
    assert normalize_newlines("a\r\nb\rc\n") == "a\nb\nc\n"
    assert refused_characters("a\r\nb") == []
