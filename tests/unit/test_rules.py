"""Frozen rules: what a request keeps from its profile, and how the current config may
tighten (never loosen) it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.config import AwsConfig, BotConfig, Links, Profile, Reminders, SlackConfig
from bot.domain.requests import RequestView
from bot.domain.rules import approvals_needed, freeze, under_current_config
from bot.domain.states import Status

ADMIN = Profile(
    name="admin",
    description="",
    groups=("admins",),
    policies=("arn:aws:iam::aws:policy/AdministratorAccess",),
    console=True,
    programmatic=True,
    approvals_required=2,
    account="prod",
    max_duration=timedelta(hours=8),
)


def config(*profiles: Profile, boundary: str = "") -> BotConfig:
    return BotConfig(
        slack=SlackConfig("C0APPROVALS", ("U0A", "U0B")),
        aws=AwsConfig(iam_path="/bot/", permissions_boundary=boundary),
        reminders=Reminders(),
        links=Links(),
        profiles=profiles,
    )


def request(**values) -> RequestView:
    base = RequestView(
        id=1,
        requester_id="U0R",
        profile="admin",
        iam_user_name="ann",
        console=True,
        programmatic=False,
        reason="why",
        status=Status.PENDING,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        approvals_required=2,
    )
    return replace(base, **values)


def test_freeze_copies_the_profile_and_the_access_asked_for() -> None:
    boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
    rules = freeze(ADMIN, config(ADMIN, boundary=boundary), console=True, programmatic=False)
    assert rules.account == "prod"
    assert rules.groups == ("admins",)
    assert rules.policies == ADMIN.policies
    assert (rules.console, rules.programmatic) == (True, False)
    assert rules.permissions_boundary == boundary
    assert rules.max_duration == timedelta(hours=8)
    assert rules.approvals_required == 2


@pytest.mark.parametrize(
    ("frozen", "current", "needed"),
    [(2, 1, 2), (1, 3, 3), (2, 2, 2), (2, None, 2)],
)
def test_approvals_needed_only_tightens(frozen: int, current: int | None, needed: int) -> None:
    profile = None if current is None else replace(ADMIN, approvals_required=current)
    assert approvals_needed(frozen, profile) == needed


def test_lowering_the_config_does_not_lower_a_waiting_request() -> None:
    lowered = config(replace(ADMIN, approvals_required=1))
    seen = under_current_config(request(), lowered)
    assert seen.approvals_required == 2
    assert seen.profile_available


def test_raising_the_config_raises_a_waiting_request() -> None:
    raised = config(replace(ADMIN, approvals_required=3))
    assert under_current_config(request(), raised).approvals_required == 3


def test_a_removed_profile_keeps_the_frozen_count_and_is_not_available() -> None:
    seen = under_current_config(request(), config())
    assert seen.approvals_required == 2
    assert not seen.profile_available


def test_an_unfrozen_request_is_never_available() -> None:
    assert not under_current_config(request(rules_frozen=False), config(ADMIN)).profile_available
