"""Audit events as OCSF records (docs/audit.md, "OCSF mapping").

Every event is an OCSF *Account Change* (class 3001, category 3 "Identity & Access
Management"): the account changed is the IAM user of the request, in the request's
AWS account. Decisions carry the base event's `authorizations` (Authorization Result)
field. What OCSF has no field for -- the request number, the bot's own event kind,
its detail, the frozen rules and the chain's hashes -- is kept whole under `unmapped`,
so an OCSF record says everything the audit row says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain.audit import ChainedEvent, audit_time

OCSF_VERSION = "1.1.0"
PRODUCT = {"name": "aws-access-bot", "vendor_name": "aws-access-bot"}

CLASS_UID = 3001
CLASS_NAME = "Account Change"
CATEGORY_UID = 3
CATEGORY_NAME = "Identity & Access Management"

# Account Change activities (OCSF 1.1.0).
CREATE, PASSWORD_RESET, DISABLE, DELETE, OTHER = 1, 4, 5, 6, 99
_ACTIVITY_NAMES = {
    CREATE: "Create",
    PASSWORD_RESET: "Password Reset",
    DISABLE: "Disable",
    DELETE: "Delete",
    OTHER: "Other",
}
_ACTIVITY_OF_KIND = {
    "provisioned": CREATE,
    "credentials_reissued": PASSWORD_RESET,
    "rolled_back": DELETE,
    "key_deactivated": DISABLE,
    "key_deleted": DELETE,
}
# Decisions about access: (OCSF authorization decision) for the `authorizations` field.
_DECISIONS = {
    "approval": "Approve",
    "approved": "Approved",
    "denied": "Denied",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "extended": "Extended",
    "review_kept": "Kept",
    "review_revoked": "Revoked",
    "revoke_refused": "Refused",
}
_FAILURE = re.compile(r"(_failed|_refused|_given_up)$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class StoredEvent:
    """An audit row: its id, the chained event, and the hash stored with it."""

    id: int
    event: ChainedEvent
    hash: str


def activity_of(event: ChainedEvent) -> int:
    if event.kind in ("revoked", "review_revoked"):
        return DELETE if event.detail.get("mode") == "delete" else DISABLE
    return _ACTIVITY_OF_KIND.get(event.kind, OTHER)


def activity_name(event: ChainedEvent, activity: int) -> str:
    if event.kind == "provisioning_started" and event.detail.get("previous") == "failed":
        return "Retried"  # an owner's Retry (flow 3)
    if activity == OTHER:
        return event.kind.replace("_", " ").capitalize()
    return _ACTIVITY_NAMES[activity]


def to_ocsf(stored: StoredEvent) -> dict[str, Any]:
    event = stored.event
    activity = activity_of(event)
    name = activity_name(event, activity)
    failed = bool(_FAILURE.search(event.kind))
    actor_is_person = bool(_SLACK_USER.match(event.actor))
    record: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "activity_id": activity,
        "activity_name": name,
        "type_uid": CLASS_UID * 100 + activity,
        "type_name": f"{CLASS_NAME}: {name}",
        "severity_id": 1,
        "severity": "Informational",
        "status_id": 2 if failed else 1,
        "status": "Failure" if failed else "Success",
        "time": int(event.time.timestamp() * 1000),
        "time_dt": audit_time(event.time),
        "message": message_of(event),
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": str(stored.id),
            "sequence": event.seq,
            "log_name": "audit_events",
            "event_code": event.kind,
            **(
                {"correlation_uid": f"request-{event.request_id}"}
                if event.request_id is not None
                else {}
            ),
        },
        "actor": {
            "user": {
                "uid": event.actor,
                "type_id": 1 if actor_is_person else 3,
                "type": "User" if actor_is_person else "System",
            }
        },
        "unmapped": {
            "request_id": event.request_id,
            "kind": event.kind,
            "detail": event.detail,
            "rules": event.rules,
            "hash": stored.hash,
            "prev_hash": event.prev,
        },
    }
    if event.account is not None:
        record["cloud"] = {"provider": "AWS", "account": {"name": event.account}}
    if event.iam_user is not None:
        user: dict[str, Any] = {"name": event.iam_user, "type_id": 1, "type": "User"}
        if event.account is not None:
            user["account"] = {"name": event.account, "type_id": 10, "type": "AWS Account"}
        record["user"] = user
    if event.kind in _DECISIONS:
        record["authorizations"] = [{"decision": _DECISIONS[event.kind]}]
    if reason := event.detail.get("reason"):
        record["status_detail"] = str(reason)
    return record


def message_of(event: ChainedEvent) -> str:
    about = f" request #{event.request_id}" if event.request_id is not None else ""
    user = f" ({event.iam_user})" if event.iam_user else ""
    return f"{event.kind.replace('_', ' ')}{about}{user} by {event.actor}"
