import itertools

import pytest

from bot.domain.errors import InvalidTransition
from bot.domain.states import Status, can_transition, check_transition

LEGAL = {
    (Status.PENDING, Status.APPROVED),
    (Status.PENDING, Status.DENIED),
    (Status.PENDING, Status.CANCELLED),
    (Status.PENDING, Status.EXPIRED),
    (Status.APPROVED, Status.PROVISIONING),
    (Status.PROVISIONING, Status.PROVISIONED),
    (Status.PROVISIONING, Status.FAILED),
    (Status.PROVISIONING, Status.EXTENDED),
    (Status.FAILED, Status.PROVISIONING),
    (Status.FAILED, Status.REVOKED),
    (Status.PROVISIONED, Status.REVOKED),
    (Status.PROVISIONED, Status.REVOKING),
    (Status.REVOKING, Status.REVOKED),
}
ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_transition(current: Status, new: Status) -> None:
    assert can_transition(current, new)
    check_transition(current, new)  # does not raise


@pytest.mark.parametrize(("current", "new"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_raises(current: Status, new: Status) -> None:
    assert not can_transition(current, new)
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, new)
    assert str(info.value) == f"a request cannot go from {current.value} to {new.value}"


def test_terminal_states_have_no_exit() -> None:
    for status in (
        Status.DENIED,
        Status.CANCELLED,
        Status.EXPIRED,
        Status.REVOKED,
        Status.EXTENDED,
    ):
        assert not any(can_transition(status, new) for new in Status)
