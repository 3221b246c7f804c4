"""Turn ORM rows into domain snapshots (so no session-bound object leaves a transaction)."""

from __future__ import annotations

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store.models import AccessRequest
from bot.store.repository import Repository


def request_view(repo: Repository, row: AccessRequest, config: BotConfig | None) -> RequestView:
    profile = config.profile(row.profile) if config else None
    return RequestView(
        id=row.id,
        requester_id=row.requester_id,
        profile=row.profile,
        iam_user_name=row.iam_user_name,
        console=row.console,
        programmatic=row.programmatic,
        reason=row.reason,
        status=Status(row.status),
        created_at=row.created_at,
        approvers=tuple(repo.approvers(row.id)),
        approvals_required=profile.approvals_required if profile else 1,
        groups=profile.groups if profile else (),
        policies=profile.policies if profile else (),
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        deny_reason=row.deny_reason,
        last_error=row.last_error,
        reminder_count=row.reminder_count,
        approval_channel=row.approval_channel,
        approval_ts=row.approval_ts,
        requester_dm_channel=row.requester_dm_channel,
        requester_dm_ts=row.requester_dm_ts,
    )
