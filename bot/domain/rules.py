"""A request's rules, frozen when it is submitted (docs/architecture.md, "Frozen rules").

A config edit after submit must never loosen what a waiting request needs: the request
keeps its own copy of the account, groups, policies, access types, boundary, duration
and approvals required. Only "approvals required" may tighten: the larger of the frozen
and the current value counts. A request whose profile left the config cannot be
approved (it can still be denied or cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from bot.domain.config import BotConfig, Profile
from bot.domain.requests import RequestView


@dataclass(frozen=True)
class FrozenRules:
    account: str
    groups: tuple[str, ...]
    policies: tuple[str, ...]
    console: bool
    programmatic: bool
    permissions_boundary: str
    max_duration: timedelta | None
    approvals_required: int


def freeze(
    profile: Profile, config: BotConfig, *, console: bool, programmatic: bool
) -> FrozenRules:
    """The rules a request for `profile` gets at submit (access types as asked for)."""
    return FrozenRules(
        account=profile.account,
        groups=profile.groups,
        policies=profile.policies,
        console=console,
        programmatic=programmatic,
        permissions_boundary=config.aws.permissions_boundary,
        max_duration=profile.max_duration,
        approvals_required=profile.approvals_required,
    )


def approvals_needed(frozen: int, profile: Profile | None) -> int:
    """The larger of the frozen and the current requirement: an edit only tightens."""
    return max(frozen, profile.approvals_required) if profile is not None else frozen


def under_current_config(request: RequestView, config: BotConfig) -> RequestView:
    """`request` as the current config sees it: approvals needed tightened, and whether
    its profile still exists. Everything else stays as frozen."""
    profile = config.profile(request.profile)
    return replace(
        request,
        approvals_required=approvals_needed(request.approvals_required, profile),
        profile_available=profile is not None and request.rules_frozen,
    )


PROFILE_GONE = (
    "its profile is no longer in the bot's config, so it can be denied or cancelled "
    "but not approved"
)
