"""One request's whole story for `aws-access-bot requests show ID`: what was asked, by
whom, in which account, who approved or denied it and why, and every audit event.

Read-only and pure over the RequestStore port; the CLI prints `render_history` or, with
--json, `history_json`. Audit details never hold secrets (docs/architecture.md), so
they are shown as stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.requests import RequestView
from bot.domain.storage import AuditRecord, RequestStore


@dataclass(frozen=True)
class RequestHistory:
    request: RequestView
    events: tuple[AuditRecord, ...]


def request_history(store: RequestStore, request_id: int) -> RequestHistory | None:
    view = store.get(request_id)
    if view is None:
        return None
    return RequestHistory(view, tuple(store.audit_of(request_id)))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum
        return value.value
    return value


def history_dict(history: RequestHistory) -> dict[str, Any]:
    r = history.request
    return {
        "id": r.id,
        "status": r.status.value,
        "requester": r.requester_id,
        "profile": r.profile,
        "account": r.account,
        "iam_user_name": r.iam_user_name,
        "console": r.console,
        "programmatic": r.programmatic,
        "reason": r.reason,
        "created_at": _plain(r.created_at),
        "approvals_required": r.approvals_required,
        "approvers": list(r.approvers),
        "decided_by": r.decided_by,
        "decided_at": _plain(r.decided_at),
        "deny_reason": r.deny_reason,
        "groups": list(r.groups),
        "policies": list(r.policies),
        "permissions_boundary": r.permissions_boundary or None,
        "max_duration_seconds": _plain(r.max_duration),
        "provisioned_at": _plain(r.provisioned_at),
        "last_error": r.last_error,
        "reminders_sent": r.reminder_count,
        "events": [
            {
                "id": e.id,
                "at": _plain(e.created_at),
                "actor": e.actor,
                "kind": e.kind,
                "detail": _plain(e.detail),
            }
            for e in history.events
        ],
    }


def history_json(history: RequestHistory) -> str:
    return json.dumps(history_dict(history), indent=2, ensure_ascii=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "until revoked"
    seconds = int(value.total_seconds())
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


def render_history(history: RequestHistory) -> str:
    """Plain text: the request's fields, then one line per audit event, oldest first."""
    data = history_dict(history)
    r = history.request
    access = " + ".join(
        name for name, on in (("console", r.console), ("programmatic", r.programmatic)) if on
    )
    fields = [
        ("status", data["status"]),
        ("requester", r.requester_id),
        ("account", r.account),
        ("profile", r.profile),
        ("IAM user", r.iam_user_name),
        ("access", access or "-"),
        ("reason", r.reason or "-"),
        ("created", _when(r.created_at)),
        (
            "approvals",
            f"{len(r.approvers)} of {r.approvals_required}"
            + (f" ({', '.join(r.approvers)})" if r.approvers else ""),
        ),
        ("decided", f"{_when(r.decided_at)} by {r.decided_by}" if r.decided_by else "-"),
        ("deny reason", r.deny_reason or "-"),
        ("groups", ", ".join(r.groups) or "-"),
        ("policies", ", ".join(r.policies) or "-"),
        ("boundary", r.permissions_boundary or "-"),
        ("max duration", _duration(r.max_duration)),
        ("provisioned", _when(r.provisioned_at)),
        ("last error", r.last_error or "-"),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"request #{r.id}"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in fields]
    lines.append("history:")
    if not history.events:
        lines.append("  (no audit events)")
    for event in history.events:
        detail = ", ".join(f"{k}={_plain(v)}" for k, v in sorted(event.detail.items()))
        lines.append(
            f"  {_when(event.created_at)}  {event.kind:<20} {event.actor}"
            + (f"  {detail}" if detail else "")
        )
    return "\n".join(lines)
