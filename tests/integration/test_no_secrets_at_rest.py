"""After a full provision -> seal -> DM -> reveal flow, neither the password nor the secret
key (nor the link key) is anywhere in the database file, any table row, or any log record."""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from sqlalchemy import inspect, select, table, text

from bot import crypto
from bot.domain.events import CredentialsIssued, Event
from bot.domain.requests import MessageRef
from bot.services.provision import ProvisioningService
from bot.services.vault import CredentialLinks
from bot.slack.notifier import SlackNotifier
from bot.store import build_stores
from bot.web.credentials import credential_routes
from bot.web.router import Router
from tests.support.fakes import ScriptedProvisioner
from tests.support.notifier import RecordingNotifier
from tests.support.requests import approved
from tests.support.slack_api import SlackApiStub
from tests.support.vault import APPROVAL_MESSAGE, REQUESTER, bot_config, sample_credentials
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


def encodings(secret: str) -> set[str]:
    """The secret as it would look stored raw, inside JSON, base64 or hex."""
    raw = secret.encode()
    return {
        secret,
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        crypto.b64url(raw),
        raw.hex(),
    }


def all_rows(engine) -> str:
    dump = []
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(name)]
            query = select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
            for row in conn.execute(query):
                dump.append(" ".join(str(value) for value in row))
    return "\n".join(dump)


def test_full_flow_leaves_no_secret_in_database_or_logs(
    engine, sessions, db_url, clock, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    stub = SlackApiStub()
    stub.start()
    try:
        stores = build_stores(sessions)
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
        provisioning = ProvisioningService(
            stores.provisioning,
            stores.requests,
            ScriptedProvisioner(credentials),
            notifier,
            clock,
            CONFIG,
            public_url=PUBLIC_URL,
        )
        assert provisioning.process(request.id) is not None  # sealed, and the link DMed
        [issued] = notifier.recorded.of(CredentialsIssued)
        link = issued.link
        assert any(link.link_id in json.dumps(c) for c in stub.calls_to("chat.postMessage"))
        links = CredentialLinks(
            stores.links,
            stores.requests,
            stores.provisioning,
            notifier,
            CONFIG,
            public_url=PUBLIC_URL,
            clock=clock,
        )
        key = crypto.from_b64url(urlsplit(link.url).fragment)

        router = Router()
        credential_routes(router, links, clock)
        with serve_wsgi(router) as base:
            body = json.dumps({"proof": crypto.b64url(crypto.key_check(key))}).encode()
            reveal = urllib.request.Request(
                f"{base}/credentials/{link.link_id}/reveal",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(reveal, timeout=10) as response:
                sealed = json.loads(response.read())
        box = crypto.SealedBox(
            crypto.from_b64url(sealed["ciphertext"]), crypto.from_b64url(sealed["nonce"])
        )
        opened = crypto.open_box(box, key, link.link_id.encode())
        assert crypto.credentials_from_payload(opened) == credentials  # the flow worked
        assert notifier.recorded.kinds() == ["CredentialsIssued", "CredentialsOpened"]
    finally:
        stub.stop()

    secrets = {
        "password": credentials.password,
        "secret key": credentials.secret_access_key,
        "link key": crypto.b64url(key),
    }
    rows = all_rows(engine)
    # The scan sees real rows: the request, its audit trail, the used-up link.
    assert "credentials_revealed" in rows and "dora" in rows and link.link_id in rows
    for what, secret in secrets.items():
        for form in encodings(secret):
            assert form not in rows, f"{what} in a table row"
    assert key.hex() not in rows and repr(key) not in rows

    if db_url.startswith("sqlite"):
        engine.dispose()  # checkpoint the WAL so the main file holds everything
        db_file = Path(db_url.removeprefix("sqlite:///"))
        files = [p for p in db_file.parent.iterdir() if p.name.startswith(db_file.name)]
        for path in files:
            data = path.read_bytes()
            for what, secret in secrets.items():
                for form in encodings(secret):
                    assert form.encode() not in data, f"{what} in {path.name}"
            assert key not in data, f"raw link key in {path.name}"

    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "conversations.open" in logged  # DEBUG records were captured
    for what in ("password", "secret key"):
        for form in encodings(secrets[what]):
            assert form not in logged, f"{what} in the logs"
