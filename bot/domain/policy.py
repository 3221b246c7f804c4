"""Who may decide a request, and when approvals add up to a decision."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    NOT_OWNER = "not_owner"  # refused: only owners decide
    SELF_APPROVAL = "self_approval"  # refused: nobody approves their own request
    DUPLICATE = "duplicate"  # this owner already approved; counts once
    RECORDED = "recorded"  # counted, more approvals needed
    APPROVED = "approved"  # this approval completes the request


@dataclass(frozen=True)
class ApprovalDecision:
    verdict: Verdict
    reason: str
    approvals: int  # distinct approvals after this click
    required: int

    @property
    def counts(self) -> bool:
        """True when the click adds an approval."""
        return self.verdict in (Verdict.RECORDED, Verdict.APPROVED)


def decide_approval(
    *,
    actor: str,
    requester: str,
    owners: Collection[str],
    existing_approvers: Collection[str],
    required: int,
) -> ApprovalDecision:
    """Decide what an Approve click by `actor` means, given who approved before."""
    approvers = set(existing_approvers)
    if actor not in owners:
        return ApprovalDecision(
            Verdict.NOT_OWNER,
            "only the account owners can approve",
            len(approvers),
            required,
        )
    if actor == requester:
        return ApprovalDecision(
            Verdict.SELF_APPROVAL,
            "you cannot approve your own request",
            len(approvers),
            required,
        )
    if actor in approvers:
        return ApprovalDecision(
            Verdict.DUPLICATE,
            f"you already approved this request ({len(approvers)} of {required} approvals)",
            len(approvers),
            required,
        )
    count = len(approvers) + 1
    if count >= required:
        return ApprovalDecision(Verdict.APPROVED, "approved", count, required)
    return ApprovalDecision(Verdict.RECORDED, f"{count} of {required} approvals", count, required)


def may_decide(actor: str, requester: str, owners: Collection[str]) -> str | None:
    """Why `actor` may not deny/retry/roll back a request, or None when they may."""
    if actor not in owners:
        return "only the account owners can approve"
    if actor == requester:
        return "you cannot decide your own request"
    return None
