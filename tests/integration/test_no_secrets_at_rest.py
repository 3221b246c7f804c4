"""After a full provision -> seal -> DM -> reveal flow, neither the password nor the secret
key (nor the link key) is anywhere in the database file, any table row, or any log record."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from slack_sdk import WebClient

from bot import crypto
from bot.domain.events import CredentialsIssued, Event
from bot.domain.requests import MessageRef
from bot.slack.notifier import SlackNotifier
from bot.web.credentials import credential_routes
from bot.web.router import Router
from tests.support.configs import bot_config
from tests.support.fakes import ScriptedProvisioner
from tests.support.notifier import RecordingNotifier
from tests.support.requests import approved, provisioning_service
from tests.support.secrets import all_rows, find_secrets
from tests.support.slack_api import SlackApiStub
from tests.support.vault import (
    APPROVAL_MESSAGE,
    REQUESTER,
    credential_links,
    key_of,
    reveal_over_http,
    sample_credentials,
)
from tests.support.wsgi import serve_wsgi

CONFIG = bot_config()
PUBLIC_URL = "http://bot.test"


class Tee:
    """The real Slack notifier, with every event also kept for the test."""

    def __init__(self, slack: SlackNotifier) -> None:
        self.slack = slack
        self.recorded = RecordingNotifier()

    def notify(self, event: Event) -> MessageRef | None:
        self.recorded.notify(event)
        return self.slack.notify(event)


def test_full_flow_leaves_no_secret_in_database_or_logs(
    engine, stores, db_url, clock, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    with SlackApiStub() as stub:
        notifier = Tee(SlackNotifier(WebClient(token="xoxb-test", base_url=stub.base_url), CONFIG))
        credentials = sample_credentials("dora", n=7)
        request = approved(
            stores,
            CONFIG,
            now=clock.now(),
            requester_id=REQUESTER,
            iam_user_name="dora",
            approval_message=APPROVAL_MESSAGE,
        )
        provisioning = provisioning_service(
            stores, ScriptedProvisioner(credentials), notifier, clock, CONFIG, public_url=PUBLIC_URL
        )
        assert provisioning.process(request.id) is not None  # sealed, and the link DMed
        [issued] = notifier.recorded.of(CredentialsIssued)
        link = issued.link
        assert any(link.link_id in json.dumps(c) for c in stub.calls_to("chat.postMessage"))
        links = credential_links(stores, notifier, clock, config=CONFIG, public_url=PUBLIC_URL)
        key = key_of(link)

        router = Router()
        credential_routes(router, links, clock)
        with serve_wsgi(router) as base:
            # The link as its page is served here (it was sealed for PUBLIC_URL).
            status, revealed = reveal_over_http(link.url.replace(PUBLIC_URL, base, 1))
        assert (status, revealed) == (200, credentials)  # the flow worked
        assert notifier.recorded.kinds() == ["CredentialsIssued", "CredentialsOpened"]

    secrets = {
        "password": credentials.password,
        "secret key": credentials.secret_access_key,
        "link key": crypto.b64url(key),
    }
    rows = all_rows(engine)
    # The scan sees real rows: the request, its audit trail, the used-up link.
    assert "credentials_revealed" in rows and "dora" in rows and link.link_id in rows
    assert not find_secrets(rows, secrets), "in a table row"
    assert key.hex() not in rows and repr(key) not in rows

    if db_url.startswith("sqlite"):
        engine.dispose()  # checkpoint the WAL so the main file holds everything
        db_file = Path(db_url.removeprefix("sqlite:///"))
        files = [p for p in db_file.parent.iterdir() if p.name.startswith(db_file.name)]
        for path in files:
            data = path.read_bytes()
            assert not find_secrets(data, secrets), path.name
            assert key not in data, f"raw link key in {path.name}"

    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "conversations.open" in logged  # DEBUG records were captured
    credentials_only = {what: secrets[what] for what in ("password", "secret key")}
    assert not find_secrets(logged, credentials_only), "in the logs"
