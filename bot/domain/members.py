"""Slack deactivation (flow 6): the ports the deactivation use case needs
(bot/services/deactivation.py). Pure; the Slack side is bot/slack/members.py, the SQL
bot/store/deactivations.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class MemberDirectory(Protocol):
    def deactivated(self, user_id: str) -> bool | None:
        """True when Slack says the member is deactivated (users.info `deleted`), False
        when active, None when Slack could not be asked (nothing is done then)."""
        ...


class DeactivationStore(Protocol):
    def members_with_unseen_grants(self, *, limit: int) -> list[str]:
        """Requesters holding provisioned grants not yet acted on for a deactivation
        (the reconcile sweep asks Slack about each)."""
        ...

    def claim_deactivation(
        self, request_id: int, *, actor: str, now: datetime, action: str
    ) -> bool:
        """Mark a provisioned grant as acted on for its requester's deactivation
        (audited `deactivation_seen` with `action`); False when it already was, or it is
        no longer provisioned."""
        ...

    def release_deactivation(self, request_id: int) -> None:
        """Undo the claim of a grant whose revoke raised, so the reconcile sweep takes
        it again."""
        ...
