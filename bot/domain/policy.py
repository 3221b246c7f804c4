"""Who may do what to a request: one authorization table (docs/architecture.md).

Every listener and use case asks `authorize()`; nothing else decides permissions.
A person's role toward a request is *requester* (they asked for it: that wins even
when they also own the account, so nobody decides their own request), *owner* (owns
the request's account) or *other*. Each action lists the roles that may take it and
the states it may be taken in; every other cell is refused with a reason that can be
shown to the person who clicked.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.revocation import REVOCABLE
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status


class Role(StrEnum):
    REQUESTER = "requester"
    OWNER = "owner"
    OTHER = "other"


class Action(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    RETRY = "retry"
    ROLL_BACK = "roll back"
    REISSUE = "re-issue"
    REVOKE = "revoke"
    EXTEND = "extend"
    VIEW = "view"
    ROTATE_KEY = "rotate key"
    # Access reviews (bot/domain/reviews.py): an owner keeps or revokes a grant.
    REVIEW_KEEP = "keep (review)"
    REVIEW_REVOKE = "revoke (review)"


class Refusal(StrEnum):
    ROLE = "role"  # this person may never do this to this request
    STATE = "state"  # not in the request's current state
    PROFILE = "profile"  # the request's profile left the config: approve refused


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""  # a sentence fragment for the person refused ("" when allowed)
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    states: frozenset[Status]
    # Why each role that is not allowed is refused.
    refusals: dict[Role, str]


_ALL_STATES = frozenset(Status)
_OWNER = frozenset({Role.OWNER})
S = Status

_REVIEW = Rule(
    _OWNER,
    frozenset({S.PROVISIONED}),
    {
        Role.REQUESTER: "you cannot review your own access",
        Role.OTHER: "only the account owners can review access",
    },
)

RULES: dict[Action, Rule] = {
    Action.APPROVE: Rule(
        _OWNER,
        frozenset({S.PENDING}),
        {
            Role.REQUESTER: "you cannot approve your own request",
            Role.OTHER: "only the account owners can approve",
        },
    ),
    Action.DENY: Rule(
        _OWNER,
        frozenset({S.PENDING}),
        {
            Role.REQUESTER: "you cannot decide your own request (cancel it instead)",
            Role.OTHER: "only the account owners can deny",
        },
    ),
    Action.CANCEL: Rule(
        frozenset({Role.REQUESTER}),
        frozenset({S.PENDING}),
        {
            Role.OWNER: "only the requester can cancel a request",
            Role.OTHER: "only the requester can cancel a request",
        },
    ),
    Action.RETRY: Rule(
        _OWNER,
        frozenset({S.FAILED}),
        {
            Role.REQUESTER: "you cannot retry provisioning of your own request",
            Role.OTHER: "only the account owners can retry or roll back provisioning",
        },
    ),
    Action.ROLL_BACK: Rule(
        _OWNER,
        frozenset({S.FAILED, S.PROVISIONED}),
        {
            Role.REQUESTER: "you cannot roll back your own request",
            Role.OTHER: "only the account owners can retry or roll back provisioning",
        },
    ),
    Action.REISSUE: Rule(
        _OWNER,
        frozenset({S.PROVISIONED}),
        {
            Role.REQUESTER: "you cannot re-issue the credentials of your own request",
            Role.OTHER: "only the AWS account owners can re-issue credentials",
        },
    ),
    # Giving up one's own access is always fine; a stuck revoke may be resumed.
    Action.REVOKE: Rule(
        frozenset({Role.OWNER, Role.REQUESTER}),
        frozenset(REVOCABLE),
        {Role.OTHER: "only the account owners can revoke access"},
    ),
    Action.EXTEND: Rule(
        _OWNER,
        frozenset({S.PROVISIONED}),
        {
            Role.REQUESTER: "you cannot extend your own access (ask with Request extension)",
            Role.OTHER: "only the account owners can extend access",
        },
    ),
    # The requester rotates their own access key (flow 6, key rotation): the new key's
    # one-time link is theirs alone. Owners re-issue instead.
    Action.ROTATE_KEY: Rule(
        frozenset({Role.REQUESTER}),
        frozenset({S.PROVISIONED}),
        {
            Role.OWNER: "only the requester can rotate their access key (owners can re-issue)",
            Role.OTHER: "only the requester can rotate their access key",
        },
    ),
    # Reviewing a grant (keep or revoke) is for the account's owners, never for the
    # member who holds it.
    Action.REVIEW_KEEP: _REVIEW,
    Action.REVIEW_REVOKE: _REVIEW,
    Action.VIEW: Rule(
        frozenset({Role.OWNER, Role.REQUESTER}),
        _ALL_STATES,
        {Role.OTHER: "only the requester and the account owners can see this request"},
    ),
}


# `/revoke-aws-access @member` names a member, not a request: only someone who owns an
# account may use it (each grant is then checked with RULES[Action.REVOKE]).
REVOKE_COMMAND_REFUSAL = "only the AWS account owners can use /revoke-aws-access"


def may_revoke_members(is_owner: bool) -> Permission:
    """May this person use the owners' revoke command at all?"""
    if is_owner:
        return Permission(True)
    return Permission(False, REVOKE_COMMAND_REFUSAL, Refusal.ROLE)


RULES_UNKNOWN = (
    "its rules were never recorded and its profile is no longer in the config: roll it back "
    "and ask the requester to request access again"
)


def role_of(actor: str, requester_id: str, owners: Collection[str]) -> Role:
    if actor == requester_id:
        return Role.REQUESTER
    return Role.OWNER if actor in owners else Role.OTHER


def authorize(
    action: Action,
    role: Role,
    status: Status,
    *,
    profile_available: bool = True,
    rules_known: bool = True,
) -> Permission:
    """May `role` take `action` on a request in `status`? Role first, then state, then
    the request's rules: approving needs its profile to still exist, and approving or
    retrying needs its rules to be known (a row stored before rules were frozen whose
    profile had already been removed has none)."""
    rule = RULES[action]
    if role not in rule.roles:
        return Permission(False, rule.refusals[role], Refusal.ROLE)
    if status not in rule.states:
        allowed = " or ".join(sorted(s.value for s in rule.states))
        return Permission(
            False, f"it is {status.value}: only {allowed} requests can be", Refusal.STATE
        )
    if action is Action.APPROVE and not profile_available:
        return Permission(False, PROFILE_GONE, Refusal.PROFILE)
    if action is Action.RETRY and not rules_known:
        return Permission(False, RULES_UNKNOWN, Refusal.PROFILE)
    return Permission(True)


# --- counting approvals -----------------------------------------------------------


class Verdict(StrEnum):
    DUPLICATE = "duplicate"  # this owner already approved; counts once
    RECORDED = "recorded"  # counted, more approvals needed
    APPROVED = "approved"  # this approval completes the request


@dataclass(frozen=True)
class ApprovalCount:
    verdict: Verdict
    approvals: int  # distinct approvals after this click
    required: int


def count_approval(actor: str, existing_approvers: Collection[str], required: int) -> ApprovalCount:
    """What an authorized owner's Approve adds, given who approved before."""
    approvers = set(existing_approvers)
    if actor in approvers:
        return ApprovalCount(Verdict.DUPLICATE, len(approvers), required)
    count = len(approvers) + 1
    verdict = Verdict.APPROVED if count >= required else Verdict.RECORDED
    return ApprovalCount(verdict, count, required)
