"""Asks the authorization table (bot/domain/policy.py) about a stored request, with the
owners of the request's own account and the current config's view of its profile."""

from __future__ import annotations

from bot.domain.config import BotConfig
from bot.domain.policy import Action, Permission, authorize, role_of
from bot.domain.requests import RequestView
from bot.domain.rules import under_current_config
from bot.domain.storage import LockKind, LockRefusal


def current(request: RequestView, config: BotConfig) -> RequestView:
    """The request as the current config sees it (approvals needed, profile present)."""
    return under_current_config(request, config)


def permission(config: BotConfig, action: Action, actor: str, request: RequestView) -> Permission:
    role = role_of(actor, request.requester_id, config.owners_of(request.account))
    return authorize(
        action,
        role,
        request.status,
        profile_available=under_current_config(request, config).profile_available,
        rules_known=request.rules_frozen,
    )


def sentence(reason: str) -> str:
    """A refusal reason as a sentence to show the person refused."""
    text = reason[:1].upper() + reason[1:]
    return text if text.endswith(".") else text + "."


def state_sentence(request: RequestView) -> str:
    """What an actor is told when they click on a request that is no longer pending."""
    who = f" by <@{request.decided_by}>" if request.decided_by else ""
    return f"Request #{request.id} is already {request.status.value}{who}."


def lock_refusal_text(request_id: int, refusal: LockRefusal, wanted: str) -> str:
    """Why an owner's action could not take its lock, naming the work that holds it."""
    if refusal.request is None:
        return f"request #{request_id} does not exist"
    held = {
        LockKind.PROVISIONING: f"request #{request_id} is being provisioned",
        LockKind.ROLLBACK: f"request #{request_id} is being rolled back",
        LockKind.REISSUE: f"a re-issue of request #{request_id} is already running",
        LockKind.REVOKE: f"request #{request_id} is already being revoked",
    }
    if refusal.held_by is not None:
        return held[refusal.held_by]
    return f"request #{request_id} is {refusal.request.status.value}, not {wanted}"
