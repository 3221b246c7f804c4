"""The authorization table, cell by cell: every role x action x state.

The expectations are written out here independently of bot/domain/policy.py: which
(role, action) pairs are ever allowed, and in which states. Every other cell must be
refused with a reason a person can read.
"""

from __future__ import annotations

import itertools

import pytest

from bot.domain.policy import (
    Action,
    Refusal,
    Role,
    Verdict,
    authorize,
    count_approval,
    may_revoke_members,
    role_of,
)
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status

S = Status
R = Role
A = Action

# (role, action) -> the states in which it is allowed. Absent pairs are never allowed.
ALLOWED = {
    (R.OWNER, A.APPROVE): {S.PENDING},
    (R.OWNER, A.DENY): {S.PENDING},
    (R.REQUESTER, A.CANCEL): {S.PENDING},
    (R.OWNER, A.RETRY): {S.FAILED},
    (R.OWNER, A.ROLL_BACK): {S.FAILED, S.PROVISIONED},
    (R.OWNER, A.REISSUE): {S.PROVISIONED},
    (R.OWNER, A.REVOKE): {S.PROVISIONED, S.REVOKING},
    (R.REQUESTER, A.REVOKE): {S.PROVISIONED, S.REVOKING},
    (R.OWNER, A.EXTEND): {S.PROVISIONED},
    (R.REQUESTER, A.ROTATE_KEY): {S.PROVISIONED},
    (R.OWNER, A.REVIEW_KEEP): {S.PROVISIONED},
    (R.OWNER, A.REVIEW_REVOKE): {S.PROVISIONED},
    (R.OWNER, A.VIEW): set(Status),
    (R.REQUESTER, A.VIEW): set(Status),
}

CELLS = list(itertools.product(Role, Action, Status))


def test_the_table_has_every_cell() -> None:
    assert len(CELLS) == 3 * 12 * len(Status)


@pytest.mark.parametrize(("role", "action", "status"), CELLS)
def test_cell(role: Role, action: Action, status: Status) -> None:
    permission = authorize(action, role, status)
    states = ALLOWED.get((role, action))
    if states is not None and status in states:
        assert permission.allowed
        assert permission.reason == "" and permission.refusal is None
        return
    assert not permission.allowed
    assert permission.reason  # always says why
    if states is None:
        # Refused for who they are, whatever the state.
        assert permission.refusal is Refusal.ROLE
    else:
        assert permission.refusal is Refusal.STATE
        assert permission.reason.startswith(f"it is {status.value}")


@pytest.mark.parametrize(
    ("role", "action", "reason"),
    [
        (R.REQUESTER, A.APPROVE, "you cannot approve your own request"),
        (R.OTHER, A.APPROVE, "only the account owners can approve"),
        (R.REQUESTER, A.DENY, "you cannot decide your own request (cancel it instead)"),
        (R.OWNER, A.CANCEL, "only the requester can cancel a request"),
        (R.OTHER, A.RETRY, "only the account owners can retry or roll back provisioning"),
        (R.OTHER, A.REISSUE, "only the AWS account owners can re-issue credentials"),
        (R.OTHER, A.REVOKE, "only the account owners can revoke access"),
        (R.OTHER, A.VIEW, "only the requester and the account owners can see this request"),
        (
            R.OWNER,
            A.ROTATE_KEY,
            "only the requester can rotate their access key (owners can re-issue)",
        ),
        (R.OTHER, A.ROTATE_KEY, "only the requester can rotate their access key"),
        (R.REQUESTER, A.REVIEW_KEEP, "you cannot review your own access"),
        (R.REQUESTER, A.REVIEW_REVOKE, "you cannot review your own access"),
        (R.OTHER, A.REVIEW_KEEP, "only the account owners can review access"),
        (R.OTHER, A.REVIEW_REVOKE, "only the account owners can review access"),
    ],
)
def test_role_refusals_say_why(role: Role, action: Action, reason: str) -> None:
    assert authorize(action, role, S.PENDING).reason == reason


def test_a_request_whose_profile_is_gone_cannot_be_approved_but_can_be_denied() -> None:
    refused = authorize(A.APPROVE, R.OWNER, S.PENDING, profile_available=False)
    assert not refused.allowed
    assert refused.refusal is Refusal.PROFILE and refused.reason == PROFILE_GONE
    assert authorize(A.DENY, R.OWNER, S.PENDING, profile_available=False).allowed
    assert authorize(A.CANCEL, R.REQUESTER, S.PENDING, profile_available=False).allowed
    # Role and state still come first.
    other = authorize(A.APPROVE, R.OTHER, S.PENDING, profile_available=False)
    assert other.refusal is Refusal.ROLE
    decided = authorize(A.APPROVE, R.OWNER, S.DENIED, profile_available=False)
    assert decided.refusal is Refusal.STATE


def test_unknown_rules_refuse_a_retry_but_not_a_roll_back() -> None:
    assert authorize(A.RETRY, R.OWNER, S.FAILED, rules_known=False).refusal is Refusal.PROFILE
    assert authorize(A.ROLL_BACK, R.OWNER, S.FAILED, rules_known=False).allowed


@pytest.mark.parametrize(
    ("actor", "requester", "owners", "role"),
    [
        ("U_A", "U_R", ("U_A", "U_B"), R.OWNER),
        ("U_X", "U_R", ("U_A", "U_B"), R.OTHER),
        ("U_R", "U_R", ("U_A",), R.REQUESTER),
        # An owner asking for access is the requester of that request: nobody decides
        # their own request.
        ("U_A", "U_A", ("U_A", "U_B"), R.REQUESTER),
    ],
)
def test_role_of(actor: str, requester: str, owners: tuple[str, ...], role: Role) -> None:
    assert role_of(actor, requester, owners) is role


@pytest.mark.parametrize(
    ("actor", "existing", "required", "verdict", "count"),
    [
        ("U_A", [], 1, Verdict.APPROVED, 1),
        ("U_A", [], 2, Verdict.RECORDED, 1),
        ("U_B", ["U_A"], 2, Verdict.APPROVED, 2),
        ("U_B", ["U_A"], 3, Verdict.RECORDED, 2),
        ("U_A", ["U_A"], 2, Verdict.DUPLICATE, 1),
        # Duplicate rows (should not happen, but the set makes them count once).
        ("U_B", ["U_A", "U_A"], 2, Verdict.APPROVED, 2),
        ("U_C", ["U_A", "U_B"], 3, Verdict.APPROVED, 3),
    ],
)
def test_count_approval(actor, existing, required, verdict, count) -> None:
    counted = count_approval(actor, existing, required)
    assert counted.verdict is verdict
    assert counted.approvals == count
    assert counted.required == required


@pytest.mark.parametrize(
    ("is_owner", "allowed", "reason"),
    [
        (True, True, ""),
        (False, False, "only the AWS account owners can use /revoke-aws-access"),
    ],
)
def test_only_owners_may_use_the_revoke_command(is_owner, allowed, reason) -> None:
    """`/revoke-aws-access @member` (flow 6); each grant is then checked with
    RULES[Action.REVOKE] above."""
    permission = may_revoke_members(is_owner)
    assert (permission.allowed, permission.reason) == (allowed, reason)
    assert permission.refusal is (None if allowed else Refusal.ROLE)
