"""Flow 1: validate the request form, store it with its frozen rules, then announce it.

`submit` runs inside the form's 3-second ack, so its IAM look-up is bounded
(`IamDirectory.name_taken_quick`: a couple of GetUser calls, whatever the account's
size), then one store operation (the row with its rules and its audit event, or
nothing); no write lock is held during a network call. `announce` runs after Slack got
its ack: the full name check (every IAM user, ignoring case), then the notifier posts
and the approval message's id is stored so later decisions update it in place. When the
full check finds the name taken, the request is cancelled before anyone sees it and the
requester is told by DM (`IamNameTaken`). A failed announcement leaves the stored
request intact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.config import DEFAULT_ACCOUNT, BotConfig
from bot.domain.events import IamNameTaken, RequestSubmitted
from bot.domain.iam_names import user_name_problem
from bot.domain.ports import Clock, IamDirectory, Notifier
from bot.domain.requests import MessageRef, RequestView
from bot.domain.rules import freeze
from bot.domain.states import Status
from bot.domain.storage import AlreadyRequested, NameClaimed, NewRequest, RequestStore
from bot.domain.text import normalize_newlines, text_problem
from bot.domain.time_bound import duration_problem, requested_duration
from bot.services.authority import current

log = logging.getLogger(__name__)

MAX_REASON = 1000
# Who the audit log says cancelled a request whose IAM name the full check found taken.
NAME_CHECK_ACTOR = "iam-name-check"

# Error keys are the form's field names; the modal uses them as its block ids.
PROFILE = "profile"
IAM_USER_NAME = "iam_user_name"
ACCESS = "access"
REASON = "reason"
DURATION = "duration"


@dataclass(frozen=True)
class RequestForm:
    requester_id: str
    profile: str
    iam_user_name: str
    console: bool
    programmatic: bool
    reason: str
    # Time-bound access (bot/domain/time_bound.py): the duration typed ("" = the
    # profile's max_duration), and the grant a Request extension form extends.
    duration: str = ""
    extends_request_id: int | None = None


@dataclass(frozen=True)
class SubmitResult:
    """Either inline errors (field name -> sentence) or the stored request."""

    errors: dict[str, str] = field(default_factory=dict)
    request: RequestView | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class SubmitRequest:
    def __init__(
        self,
        store: RequestStore,
        config: BotConfig,
        clock: Clock,
        directory: IamDirectory,
        notifier: Notifier,
    ) -> None:
        self.store = store
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
        profile = self.config.profile(form.profile)
        assert profile is not None  # _form_errors checked it
        if problem := self._extension_problem(form):
            return SubmitResult(errors={PROFILE: problem})
        new = NewRequest(
            requester_id=form.requester_id,
            profile=form.profile,
            iam_user_name=form.iam_user_name,
            reason=form.reason,
            rules=freeze(
                profile, self.config, console=form.console, programmatic=form.programmatic
            ),
            duration=requested_duration(form.duration, profile.max_duration),
            extends_request_id=form.extends_request_id,
        )
        try:
            stored = self.store.submit(new, self.clock.now())
        except AlreadyRequested as open_request:
            return SubmitResult(
                errors={
                    PROFILE: f"You already have request #{open_request.request_id} for "
                    f"{form.profile} ({open_request.status.value}). Wait for it to be "
                    "decided, or cancel it first."
                }
            )
        except NameClaimed as other:
            return SubmitResult(
                errors={
                    IAM_USER_NAME: f"Request #{other.request_id} already asks for an IAM user "
                    "with this name. Choose another name."
                }
            )
        if form.extends_request_id is not None:
            self.store.record(
                form.extends_request_id,
                actor=form.requester_id,
                kind="extension_requested",
                now=self.clock.now(),
                extension_request_id=stored.id,
            )
        return SubmitResult(request=current(stored, self.config))

    def announce(self, request: RequestView) -> MessageRef | None:
        """Post the approval message and DM the requester; remember where the message is.
        First the full IAM name check: a name taken in another case never reaches the
        owners (the request is cancelled and the requester told)."""
        if self._taken_after_all(request):
            cancelled = self.store.cancel(request.id, NAME_CHECK_ACTOR, self.clock.now())
            if cancelled is not None:
                self.notifier.notify(IamNameTaken(current(cancelled, self.config)))
                return None
        ref = self.notifier.notify(RequestSubmitted(request))
        if ref is None:
            log.warning("request #%s stored but its approval message was not posted", request.id)
            return None
        self.store.set_approval_message(request.id, ref)
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
        if profile is not None and profile.max_duration is not None:
            if problem := duration_problem(form.duration, profile.max_duration):
                errors[DURATION] = problem
        elif profile is not None and form.duration.strip():
            errors[DURATION] = (
                f"Access of the {profile.name} profile lasts until revoked: leave this empty."
            )
        if not form.reason:
            errors[REASON] = "Tell the owners why you need this access."
        elif problem := text_problem(form.reason, "The reason"):
            # NUL would fail in PostgreSQL after the ack; say so in the form instead.
            errors[REASON] = problem
        elif len(form.reason) > MAX_REASON:
            errors[REASON] = f"Keep the reason under {MAX_REASON} characters."
        return errors

    def _extension_problem(self, form: RequestForm) -> str | None:
        """An extension (Request extension) is of the requester's own active time-bound
        grant, for the same profile and IAM user (bot/domain/time_bound.py)."""
        if form.extends_request_id is None:
            return None
        grant = self.store.get(form.extends_request_id)
        if (
            grant is None
            or grant.requester_id != form.requester_id
            or grant.status is not Status.PROVISIONED
            or grant.access_expires_at is None
        ):
            return (
                f"Request #{form.extends_request_id} is no longer active, so it cannot be "
                "extended: close this form and request access anew."
            )
        if grant.profile != form.profile or grant.iam_user_name.casefold() != (
            form.iam_user_name.casefold()
        ):
            return (
                f"An extension of request #{grant.id} keeps its profile ({grant.profile}) and "
                f"IAM user ({grant.iam_user_name})."
            )
        return None

    def _taken_after_all(self, request: RequestView) -> bool:
        try:
            return self.directory.name_taken(
                request.iam_user_name, request.requester_id, account=request.account
            )
        except Exception as exc:  # the quick check passed; provisioning will say if not
            log.warning(
                "full IAM name check failed for request #%s: %s", request.id, type(exc).__name__
            )
            return False

    def _iam_problem(self, form: RequestForm) -> str | None:
        try:
            profile = self.config.profile(form.profile)
            taken = self.directory.name_taken_quick(
                form.iam_user_name,
                form.requester_id,
                # Looked up in the account the profile's users are made in (flow 7).
                account=profile.account if profile is not None else DEFAULT_ACCOUNT,
            )
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


def _cleaned(form: RequestForm) -> RequestForm:
    return RequestForm(
        requester_id=form.requester_id,
        profile=(form.profile or "").strip(),
        iam_user_name=(form.iam_user_name or "").strip(),
        console=form.console,
        programmatic=form.programmatic,
        reason=normalize_newlines(form.reason or "").strip(),
        duration=(form.duration or "").strip(),
        extends_request_id=form.extends_request_id,
    )
