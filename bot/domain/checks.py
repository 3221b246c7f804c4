"""Results of `aws-access-bot check`: one line per check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    line: str  # one human line, e.g. "AWS: group developers exists"
    warning: bool = False  # ok, but worth a look (e.g. http PUBLIC_URL on loopback)
