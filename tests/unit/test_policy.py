import pytest

from bot.domain.policy import Verdict, decide_approval, may_decide

OWNERS = ("U_A", "U_B", "U_C")

CASES = [
    # actor, requester, existing approvers, required -> verdict, approvals after, reason
    ("U_X", "U_R", [], 1, Verdict.NOT_OWNER, 0, "only the account owners can approve"),
    ("U_X", "U_R", ["U_A"], 2, Verdict.NOT_OWNER, 1, "only the account owners can approve"),
    ("U_A", "U_A", [], 1, Verdict.SELF_APPROVAL, 0, "you cannot approve your own request"),
    ("U_A", "U_A", ["U_B"], 2, Verdict.SELF_APPROVAL, 1, "you cannot approve your own request"),
    ("U_A", "U_R", [], 1, Verdict.APPROVED, 1, "approved"),
    ("U_A", "U_R", [], 2, Verdict.RECORDED, 1, "1 of 2 approvals"),
    ("U_B", "U_R", ["U_A"], 2, Verdict.APPROVED, 2, "approved"),
    ("U_B", "U_R", ["U_A"], 3, Verdict.RECORDED, 2, "2 of 3 approvals"),
    (
        "U_A",
        "U_R",
        ["U_A"],
        2,
        Verdict.DUPLICATE,
        1,
        "you already approved this request (1 of 2 approvals)",
    ),
    # Duplicate rows (should not happen, but the set makes them count once).
    ("U_B", "U_R", ["U_A", "U_A"], 2, Verdict.APPROVED, 2, "approved"),
    ("U_C", "U_R", ["U_A", "U_B"], 3, Verdict.APPROVED, 3, "approved"),
]


@pytest.mark.parametrize(
    ("actor", "requester", "existing", "required", "verdict", "count", "reason"), CASES
)
def test_decide_approval(actor, requester, existing, required, verdict, count, reason) -> None:
    decision = decide_approval(
        actor=actor,
        requester=requester,
        owners=OWNERS,
        existing_approvers=existing,
        required=required,
    )
    assert decision.verdict is verdict
    assert decision.approvals == count
    assert decision.required == required
    assert decision.reason == reason
    assert decision.counts == (verdict in (Verdict.RECORDED, Verdict.APPROVED))


@pytest.mark.parametrize(
    ("actor", "requester", "expected"),
    [
        ("U_A", "U_R", None),
        ("U_X", "U_R", "only the account owners can approve"),
        ("U_A", "U_A", "you cannot decide your own request"),
    ],
)
def test_may_decide(actor, requester, expected) -> None:
    assert may_decide(actor, requester, OWNERS) == expected
