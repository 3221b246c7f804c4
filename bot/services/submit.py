"""Flow 1: validate the request form, store it, then announce it.

`submit` is one transaction (the row and its audit event, or nothing); the IAM look-up
happens before it so no write lock is held during a network call. `announce` runs after
Slack got its ack: the notifier posts, and the approval message's id is stored so later
decisions update it in place. A failed announcement leaves the stored request intact.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.iam_names import user_name_problem
from bot.domain.ports import Clock, IamDirectory, Notifier
from bot.domain.requests import MessageRef, RequestView
from bot.domain.states import OPEN_STATUSES
from bot.settings import BotConfig
from bot.store.db import transaction
from bot.store.models import AccessRequest
from bot.store.repository import Repository
from bot.store.views import request_view

log = logging.getLogger(__name__)

MAX_REASON = 1000

# Error keys are the form's field names; the modal uses them as its block ids.
PROFILE = "profile"
IAM_USER_NAME = "iam_user_name"
ACCESS = "access"
REASON = "reason"


@dataclass(frozen=True)
class RequestForm:
    requester_id: str
    profile: str
    iam_user_name: str
    console: bool
    programmatic: bool
    reason: str


@dataclass(frozen=True)
class SubmitResult:
    """Either inline errors (field name -> sentence) or the stored request."""

    errors: dict[str, str] = field(default_factory=dict)
    request: RequestView | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class _Refused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


class SubmitRequest:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: BotConfig,
        clock: Clock,
        directory: IamDirectory,
        notifier: Notifier,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.directory = directory
        self.notifier = notifier

    def submit(self, form: RequestForm) -> SubmitResult:
        form = _cleaned(form)
        errors = self._form_errors(form)
        if errors:
            return SubmitResult(errors=errors)
        if problem := self._iam_problem(form):
            return SubmitResult(errors={IAM_USER_NAME: problem})
        try:
            with transaction(self.sessions) as session:
                return SubmitResult(request=self._store(session, form))
        except _Refused as refused:
            return SubmitResult(errors=refused.errors)

    def announce(self, request: RequestView) -> MessageRef | None:
        """Post the approval message and DM the requester; remember where the message is."""
        ref = self.notifier.request_submitted(request)
        if ref is None:
            log.warning("request #%s stored but its approval message was not posted", request.id)
            return None
        with transaction(self.sessions) as session:
            Repository(session).set_fields(
                request.id, approval_channel=ref.channel, approval_ts=ref.ts
            )
        return ref

    # --- rules ---------------------------------------------------------------

    def _form_errors(self, form: RequestForm) -> dict[str, str]:
        errors: dict[str, str] = {}
        profile = self.config.profile(form.profile)
        if profile is None:
            errors[PROFILE] = "Choose one of the access profiles offered here."
        if problem := user_name_problem(form.iam_user_name):
            errors[IAM_USER_NAME] = problem
        if not (form.console or form.programmatic):
            errors[ACCESS] = "Choose console and/or programmatic access."
        elif profile is not None:
            refused = [
                kind
                for kind, wanted, allowed in (
                    ("console", form.console, profile.console),
                    ("programmatic", form.programmatic, profile.programmatic),
                )
                if wanted and not allowed
            ]
            if refused:
                errors[ACCESS] = (
                    f"The {profile.name} profile does not grant {' or '.join(refused)} access."
                )
        if not form.reason:
            errors[REASON] = "Tell the owners why you need this access."
        elif len(form.reason) > MAX_REASON:
            errors[REASON] = f"Keep the reason under {MAX_REASON} characters."
        return errors

    def _iam_problem(self, form: RequestForm) -> str | None:
        try:
            taken = self.directory.name_taken(form.iam_user_name, form.requester_id)
        except Exception as exc:  # AWS unreachable or refusing: say so, store nothing
            log.warning(
                "IAM name check failed for a request by %s: %s",
                form.requester_id,
                type(exc).__name__,
            )
            return "Could not check this name in IAM just now. Please try again in a minute."
        if taken:
            return (
                f"An IAM user named {form.iam_user_name} already exists (IAM ignores case). "
                "Choose another name."
            )
        return None

    def _store(self, session: Session, form: RequestForm) -> RequestView:
        _serialise(session, form.requester_id, form.iam_user_name)
        repo = Repository(session)
        if open_row := repo.open_request_for(form.requester_id, form.profile):
            raise _Refused(
                {
                    PROFILE: f"You already have request #{open_row.id} for {form.profile} "
                    f"({open_row.status}). Wait for it to be decided, or cancel it first."
                }
            )
        if other := _open_request_naming(session, form.iam_user_name, form.requester_id):
            raise _Refused(
                {
                    IAM_USER_NAME: f"Request #{other} already asks for an IAM user with this "
                    "name. Choose another name."
                }
            )
        now = self.clock.now()
        row = repo.add_request(
            requester_id=form.requester_id,
            profile=form.profile,
            iam_user_name=form.iam_user_name,
            console=form.console,
            programmatic=form.programmatic,
            reason=form.reason,
            now=now,
        )
        repo.record(
            row.id,
            actor=form.requester_id,
            kind="requested",
            now=now,
            profile=form.profile,
            iam_user_name=form.iam_user_name,
            console=form.console,
            programmatic=form.programmatic,
        )
        return request_view(repo, row, self.config)


def _cleaned(form: RequestForm) -> RequestForm:
    return RequestForm(
        requester_id=form.requester_id,
        profile=(form.profile or "").strip(),
        iam_user_name=(form.iam_user_name or "").strip(),
        console=form.console,
        programmatic=form.programmatic,
        reason=(form.reason or "").strip(),
    )


def _serialise(session: Session, requester_id: str, user_name: str) -> None:
    # "One open request per requester and profile / per IAM name" is check-then-insert.
    # SQLite runs write transactions one at a time (BEGIN IMMEDIATE); on PostgreSQL two
    # submits would both pass the check, so they queue on advisory locks (taken in a
    # fixed order so two transactions cannot deadlock).
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {
            zlib.crc32(f"aws-access-bot:requester:{requester_id}".encode()),
            zlib.crc32(f"aws-access-bot:iam-name:{user_name.lower()}".encode()),
        }
    )
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _open_request_naming(session: Session, user_name: str, requester_id: str) -> int | None:
    """Another requester's open request for the same IAM name (IAM ignores case)."""
    return session.scalars(
        select(AccessRequest.id)
        .where(
            func.lower(AccessRequest.iam_user_name) == user_name.lower(),
            AccessRequest.requester_id != requester_id,
            AccessRequest.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .limit(1)
    ).first()
