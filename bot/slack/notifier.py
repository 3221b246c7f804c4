"""The Slack side of the Notifier port: each domain event (bot/domain/events.py) becomes
posts, DMs, thread replies and in-place updates, rendered by the surfaces.

Rate limits and connection errors are retried by the WebClient's retry handlers. After
that, a message that must reach someone (the approval post, its updates, the
requester's outcome DM, the credentials DM) raises DeliveryFailed naming every such
part that failed, once the other parts were tried; the outbox (bot/services/
deliveries.py) records it and retries (docs/architecture.md, "Deliveries (outbox)").
Anything else (reminders, the summary, notes in a thread) is logged and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import singledispatchmethod
from typing import Any

from slack_sdk import WebClient

from bot.domain.config import BotConfig
from bot.domain.errors import DeliveryFailed, DeliveryKind
from bot.domain.events import (
    AccessExtended,
    AccessRevoked,
    CredentialsExpired,
    CredentialsIssued,
    CredentialsOpened,
    DeliveryGivenUp,
    ExpiryWarning,
    IamNameTaken,
    KeyRotated,
    KeyRotationDue,
    MemberDeactivated,
    PendingSummary,
    ProvisioningFailed,
    ReminderDue,
    ReminderEscalated,
    RequestApproved,
    RequestCancelled,
    RequestChanged,
    RequestDenied,
    RequesterOutcome,
    RequestExpired,
    RequestSubmitted,
    RevokeFailed,
    RevokeRefusedNotice,
    RolledBack,
)
from bot.domain.requests import MessageRef, RequestView
from bot.domain.states import Status
from bot.slack.calls import post_message, slack_call, update_message
from bot.slack.surfaces import approval_message, channel, dms, key_rotation, revoke_messages
from bot.slack.surfaces import time_bound as time_bound_messages

log = logging.getLogger(__name__)

# Messages with links Slack must not preview: the credentials link (its URL carries
# the decryption key) and the owners' permalinks.
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}

POST = DeliveryKind.APPROVAL_POST
UPDATE = DeliveryKind.APPROVAL_UPDATE
OUTCOME = DeliveryKind.REQUESTER_OUTCOME
LINK = DeliveryKind.CREDENTIALS


class SlackNotifier:
    def __init__(self, client: WebClient, config: BotConfig) -> None:
        self.client = client
        self.config = config
        # A user's DM channel id never changes: open it once, not before every DM.
        self._dm_channels: dict[str, str] = {}

    @singledispatchmethod
    def notify(self, event: object) -> MessageRef | None:
        """Tell people what happened. Returns the approval message for RequestSubmitted,
        the requester's DM for CredentialsIssued, the post for reminders and summaries."""
        log.error("no Slack rendering for event %s", type(event).__name__)
        return None

    # --- requests and decisions (flows 1-2) ----------------------------------------

    @notify.register(RequestSubmitted)
    def _submitted(self, event: RequestSubmitted) -> MessageRef | None:
        request = event.request
        text, blocks = approval_message.build(request)
        channel_id = self.config.approval_channel_of(request.account)
        # No post, no DM: the outbox's retry sends both, so the requester hears once.
        ref = self._post(channel_id, text, blocks, must_deliver=POST)
        self._dm(request.requester_id, dms.submitted_text(request))
        return ref

    @notify.register(RequestChanged)
    @notify.register(RequestCancelled)
    @notify.register(RolledBack)
    def _changed(self, event: RequestChanged | RequestCancelled | RolledBack) -> None:
        self._update_approval(event.request, must=True)

    @notify.register(IamNameTaken)
    def _name_taken(self, event: IamNameTaken) -> None:
        # Never announced, so no approval message to update: the requester alone hears.
        self._dm(event.request.requester_id, dms.name_taken_text(event.request))

    @notify.register(RequestApproved)
    def _approved(self, event: RequestApproved) -> None:
        request = event.request
        _every(
            lambda: self._update_approval(request, must=True),
            lambda: self._dm(
                request.requester_id, dms.approved_text(request, event.by), must_deliver=OUTCOME
            ),
        )

    @notify.register(RequestDenied)
    def _denied(self, event: RequestDenied) -> None:
        request = event.request
        _every(
            lambda: self._update_approval(request, must=True),
            lambda: self._dm(
                request.requester_id, dms.denied_text(request, event.by), must_deliver=OUTCOME
            ),
        )

    @notify.register(RequestExpired)
    def _expired(self, event: RequestExpired) -> None:
        request, after = event.request, event.expired_after
        _every(
            lambda: self._update_approval(request, must=True, expired_after=after),
            lambda: self._dm(
                request.requester_id, *dms.expired_message(request, after), must_deliver=OUTCOME
            ),
        )

    @notify.register(RequesterOutcome)
    def _outcome(self, event: RequesterOutcome) -> None:
        """The outbox's retry of the requester's DM, for where the request stands now."""
        request = event.request
        message = dms.outcome_message(request, event.expired_after)
        if message is not None:
            self._dm(request.requester_id, *message, must_deliver=OUTCOME)

    # --- provisioning (flow 3) -------------------------------------------------------

    @notify.register(ProvisioningFailed)
    def _provisioning_failed(self, event: ProvisioningFailed) -> None:
        request = event.request

        def tell_owners() -> None:
            # A reply notifies the owners (an in-place update notifies nobody).
            if (approval := _approval_ref(request)) is not None:
                self._reply(approval, approval_message.provisioning_failed_text(request))

        _every(
            lambda: self._update_approval(request, must=True),
            tell_owners,
            lambda: self._dm(request.requester_id, dms.delayed_text(request), must_deliver=OUTCOME),
        )

    # --- credentials link (flow 4) -----------------------------------------------------

    @notify.register(CredentialsIssued)
    def _credentials_issued(self, event: CredentialsIssued) -> MessageRef | None:
        request = event.request
        # The URL goes into this DM and nowhere else: no log line mentions it, and
        # Slack must not unfurl it.
        text, blocks = dms.credentials_link_message(request, event.link)
        try:
            dm = self._dm(request.requester_id, text, blocks, must_deliver=LINK, **NO_UNFURL)
        except DeliveryFailed:
            # The owners' message must not say the requester got a link: it says the
            # link is on its way (the outbox re-issues it) until a DM is accepted.
            self._update_approval(replace(request, requester_dm_channel=None, requester_dm_ts=None))
            raise
        if dm is not None:
            request = replace(request, requester_dm_channel=dm.channel, requester_dm_ts=dm.ts)
        if event.reissued_by is not None:
            self._to_owners(request, channel.reissued_text(request, event.reissued_by))
        return _every(lambda: self._update_approval(request, must=True), result=dm)

    @notify.register(CredentialsOpened)
    def _credentials_opened(self, event: CredentialsOpened) -> None:
        request = event.request
        text = dms.credentials_opened_text(request, event.at)
        if request.requester_dm_channel and request.requester_dm_ts:
            link_dm = MessageRef(request.requester_dm_channel, request.requester_dm_ts)
            self._reply(link_dm, text, unfurl_links=False)
        else:
            self._dm(request.requester_id, text, unfurl_links=False)
        if (approval := _approval_ref(request)) is not None:
            self._reply(approval, text, unfurl_links=False)

    @notify.register(CredentialsExpired)
    def _credentials_expired(self, event: CredentialsExpired) -> None:
        request = event.request
        self._to_owners(request, *channel.link_expired_message(request))
        self._dm(request.requester_id, dms.link_expired_text(request))

    # --- taking access back (flow 6) ---------------------------------------------------

    @notify.register(AccessRevoked)
    def _revoked(self, event: AccessRevoked) -> None:
        request = event.request
        _every(
            lambda: self._update_approval(request, must=True),
            # The owners hear in the account's approval channel, automatic revokes too.
            lambda: self._to_owners(request, revoke_messages.owners_revoked_text(request)),
            lambda: self._dm(
                request.requester_id,
                revoke_messages.requester_revoked_text(request),
                must_deliver=OUTCOME,
            ),
        )

    @notify.register(RevokeFailed)
    def _revoke_failed(self, event: RevokeFailed) -> None:
        request = event.request
        _every(
            lambda: self._update_approval(request, must=True),
            lambda: self._to_owners(request, revoke_messages.owners_failed_text(request)),
        )

    # --- time-bound access and deactivation (flow 6) -----------------------------------

    @notify.register(ExpiryWarning)
    def _expiry_warning(self, event: ExpiryWarning) -> None:
        text, blocks = time_bound_messages.warning_message(event.request, event.now)
        self._dm(event.request.requester_id, text, blocks)

    @notify.register(AccessExtended)
    def _extended(self, event: AccessExtended) -> None:
        request = event.request
        text = time_bound_messages.extended_text(request, event.by, event.extension_id)
        _every(
            lambda: self._update_approval(request, must=True),
            lambda: self._to_owners(request, text),
            lambda: self._dm(request.requester_id, text),
        )

    @notify.register(MemberDeactivated)
    def _member_deactivated(self, event: MemberDeactivated) -> None:
        by_channel: dict[str, list[RequestView]] = {}
        for grant in event.grants:
            by_channel.setdefault(self.config.approval_channel_of(grant.account), []).append(grant)
        for channel_id, grants in by_channel.items():
            self._post(channel_id, *time_bound_messages.deactivation_message(event.member, grants))

    @notify.register(RevokeRefusedNotice)
    def _revoke_refused(self, event: RevokeRefusedNotice) -> None:
        text = revoke_messages.owners_refused_text(event.request, event.message)
        self._to_owners(event.request, text)

    # --- reminders and lifecycle (flow 5) ----------------------------------------------

    @notify.register(ReminderDue)
    def _reminder(self, event: ReminderDue) -> MessageRef | None:
        request = event.request
        text, blocks = channel.reminder_message(request, event.owners, event.number, event.now)
        return self._to_owners(request, text, blocks)

    @notify.register(ReminderEscalated)
    def _escalated(self, event: ReminderEscalated) -> None:
        approval = _approval_ref(event.request)
        permalink = self._permalink(approval) if approval else None
        text, blocks = channel.escalation_message(event.request, event.number, event.now, permalink)
        for owner in event.owners:
            self._dm(owner, text, blocks, **NO_UNFURL)

    @notify.register(DeliveryGivenUp)
    def _given_up(self, event: DeliveryGivenUp) -> MessageRef | None:
        text = approval_message.undelivered_text(
            event.request, event.kind, event.attempts, event.error
        )
        return self._to_owners(event.request, text)

    @notify.register(PendingSummary)
    def _summary(self, event: PendingSummary) -> MessageRef | None:
        entries = [
            (request, self._permalink(ref) if (ref := _approval_ref(request)) else None)
            for request in event.requests
        ]
        text, blocks = channel.pending_summary_message(entries, event.total, event.now)
        return self._post(event.channel, text, blocks, **NO_UNFURL)

    # --- key rotation (flow 6) --------------------------------------------------------

    @notify.register(KeyRotationDue)
    def _key_rotation_due(self, event: KeyRotationDue) -> MessageRef | None:
        text, blocks = key_rotation.nudge_message(
            event.request, event.key_id, event.key_created_at, event.now, event.grace
        )
        return self._dm(event.request.requester_id, text, blocks)

    @notify.register(KeyRotated)
    def _key_rotated(self, event: KeyRotated) -> MessageRef | None:
        # The new key's link: this DM and nowhere else, never unfurled. None when Slack
        # did not take it: the rotation is then undone (bot/services/rotation.py).
        text, blocks = key_rotation.rotated_message(
            event.request, event.link, event.old_key_id, event.new_key_id, event.grace_ends
        )
        return self._dm(event.request.requester_id, text, blocks, **NO_UNFURL)

    # --- delivery --------------------------------------------------------------------

    def _update_approval(
        self, request: RequestView, *, must: bool = False, expired_after: timedelta | None = None
    ) -> None:
        """Re-render the approval message in place from the request (`must`: raise
        DeliveryFailed when Slack does not take it)."""
        approval = _approval_ref(request)
        if approval is None:
            log.info("request #%s has no approval message to update", request.id)
            return
        if request.status is Status.EXPIRED:
            after = expired_after or self.config.reminders.expire_after
            text, blocks = channel.expired_approval_message(request, after)
        else:
            text, blocks = approval_message.build(request)
        self._update(approval, text, blocks, must_deliver=UPDATE if must else None)

    def _to_owners(
        self, request: RequestView, text: str, blocks: list | None = None
    ) -> MessageRef | None:
        """A reply in the approval thread, or a channel post when there is no message."""
        approval = _approval_ref(request)
        if approval is None:
            return self._post(self.config.approval_channel_of(request.account), text, blocks)
        return self._reply(approval, text, blocks)

    def _post(
        self,
        channel_id: str,
        text: str,
        blocks: list | None = None,
        *,
        must_deliver: DeliveryKind | None = None,
        **kw: Any,
    ) -> MessageRef | None:
        return post_message(self.client, channel_id, text, blocks, must_deliver=must_deliver, **kw)

    def _dm(
        self,
        user_id: str,
        text: str,
        blocks: list | None = None,
        *,
        must_deliver: DeliveryKind | None = None,
        **kw: Any,
    ) -> MessageRef | None:
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            opened = slack_call(
                "conversations.open",
                self.client.conversations_open,
                must_deliver=must_deliver,
                users=user_id,
            )
            if not opened:
                return None
            channel_id = self._dm_channels.setdefault(user_id, opened["channel"]["id"])
        return self._post(channel_id, text, blocks, must_deliver=must_deliver, **kw)

    def _update(
        self,
        ref: MessageRef,
        text: str,
        blocks: list | None = None,
        *,
        must_deliver: DeliveryKind | None = None,
    ) -> bool:
        return update_message(self.client, ref, text, blocks, must_deliver=must_deliver)

    def _reply(
        self, ref: MessageRef, text: str, blocks: list | None = None, **kw: Any
    ) -> MessageRef | None:
        return self._post(ref.channel, text, blocks, thread_ts=ref.ts, **kw)

    def _permalink(self, ref: MessageRef) -> str | None:
        response = slack_call(
            "chat.getPermalink",
            self.client.chat_getPermalink,
            channel=ref.channel,
            message_ts=ref.ts,
        )
        return response.get("permalink") if response else None


def _every(*parts: Callable[[], object], result: Any = None) -> Any:
    """Run every part (one that fails does not stop the others), then raise one
    DeliveryFailed naming every part that failed, or return `result`."""
    failed: list[DeliveryFailed] = []
    for part in parts:
        try:
            part()
        except DeliveryFailed as exc:
            failed.append(exc)
    if not failed:
        return result
    waits = [f.retry_after for f in failed if f.retry_after is not None]
    raise DeliveryFailed(
        tuple(kind for f in failed for kind in f.kinds),
        error=failed[0].error,
        retry_after=max(waits) if waits else None,
        result=result,
    )


def _approval_ref(request: RequestView) -> MessageRef | None:
    if request.approval_channel and request.approval_ts:
        return MessageRef(request.approval_channel, request.approval_ts)
    return None
