"""Flow 4 in a real browser: headless Chromium opens the link from the DM, reveals,
and the credentials it shows work against AWS (moto, signatures checked)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from slack_sdk import WebClient

from bot import crypto
from bot.domain.credentials import Credentials
from bot.domain.events import CredentialsIssued
from bot.slack.notifier import SlackNotifier
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.web.credentials import credential_routes
from bot.web.router import Router
from tests.support.browser import HAVE_CHROMIUM, NO_CHROMIUM
from tests.support.configs import bot_config
from tests.support.moto import unique
from tests.support.slack_api import SlackApiStub
from tests.support.vault import credential_links, http_status, issue
from tests.support.wsgi import serve_wsgi

CSV_HEADER = ["User name", "Password", "Access key ID", "Secret access key", "Console login link"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM),
]


@pytest.fixture
def app(tmp_path, clock, slack_stub):
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    stores = build_stores(make_sessionmaker(engine))
    client = WebClient(token="xoxb-test", base_url=slack_stub.base_url)
    notifier = SlackNotifier(client, bot_config())
    router = Router()
    credential_routes(router, credential_links(stores, notifier, clock), clock)
    with serve_wsgi(router) as base:
        yield stores, notifier, base  # links are sealed for `base`: the page is served there
    engine.dispose()


def iam_user_with_keys(moto_server) -> Credentials:
    """What the provisioner hands the vault: a real IAM user, password and key in moto."""
    iam = moto_server.client("iam")
    name = unique("browser")
    iam.create_user(UserName=name, Path="/onboarding/")
    password = 'Pw,1"-' + unique("x")
    iam.create_login_profile(UserName=name, Password=password, PasswordResetRequired=True)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    account = moto_server.client("sts").get_caller_identity()["Account"]
    return Credentials(
        user_name=name,
        console_url=f"https://{account}.signin.aws.amazon.com/console",
        password=password,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
    )


def dm_link(slack: SlackApiStub) -> str:
    [dm] = slack.calls_to("chat.postMessage")
    text = " ".join(b["text"]["text"] for b in dm["blocks"] if b["type"] == "section")
    return re.search(r"<(http[^|>]+)\|", text).group(1)


def test_open_reveal_use_download_and_reload(
    browser, app, slack_stub, moto_server, clock, tmp_path
) -> None:
    stores, notifier, base = app
    credentials = iam_user_with_keys(moto_server)
    issued = issue(stores, clock.now(), credentials, public_url=base)
    link = issued.link
    notifier.notify(CredentialsIssued(issued.request, link))
    url = dm_link(slack_stub)
    assert url == link.url and "#" in url

    assert http_status(url) == 200
    assert http_status(url) == 200

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    assert page.title() == "Your AWS credentials"
    reveal = page.locator("#reveal")
    assert reveal.is_enabled()
    assert credentials.password not in page.content()
    reveal.click()
    page.locator("#result").wait_for(state="visible")

    shown = {
        field: page.locator(f"#field-{field}").text_content()
        for field in ("user_name", "password", "access_key_id", "secret_access_key", "console_url")
    }
    assert shown == {
        "user_name": credentials.user_name,
        "password": credentials.password,
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
        "console_url": credentials.console_url,
    }
    assert "#" not in page.url  # the key left the address bar
    assert page.locator("button.copy").count() == 5

    # The shown key works: AWS says who it belongs to.
    sts = moto_server.client("sts", shown["access_key_id"], shown["secret_access_key"])
    identity = sts.get_caller_identity()
    assert identity["Arn"].endswith(f":user/onboarding/{credentials.user_name}")

    with page.expect_download() as download_info:
        page.locator("#download").click()
    download = download_info.value
    assert download.suggested_filename == "credentials.csv"
    saved = tmp_path / "credentials.csv"
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows == [
        CSV_HEADER,
        [
            credentials.user_name,
            credentials.password,
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.console_url,
        ],
    ]

    response = page.reload()
    assert response is not None and response.status == 410
    assert "already revealed" in page.content()
    assert credentials.password not in page.content()
    assert problems == [] or all("410" in p for p in problems), problems
    assert http_status(url) == 410
    replies = [c["text"] for c in slack_stub.calls_to("chat.postMessage") if c.get("thread_ts")]
    assert replies and all("was opened" in text for text in replies)
    context.close()


def test_a_link_without_its_key_cannot_be_used_up(browser, app, moto_server, clock) -> None:
    stores, _, base = app
    credentials = Credentials(
        "alice", "https://x.signin.aws.amazon.com/console", "pw", "AKIA1", "s"
    )
    link = issue(stores, clock.now(), credentials, public_url=base).link
    page = browser.new_page()
    for damaged in (link.url.split("#")[0], link.url[:-3]):
        page.goto(damaged)
        assert page.locator("#reveal").is_disabled()
        assert "incomplete" in page.locator("#status").text_content()
    page.close()
    assert http_status(link.url) == 200  # still available for the real link


def test_a_wrong_key_is_refused_and_the_whole_link_still_reveals(browser, app, clock) -> None:
    """The page always sends the key check and the server insists on it: a fragment of
    the right length but the wrong key gets 403 and does not use the link up."""
    stores, _, base = app
    credentials = Credentials(
        "alice", "https://x.signin.aws.amazon.com/console", "pw", "AKIA1", "s"
    )
    link = issue(stores, clock.now(), credentials, public_url=base).link
    page = browser.new_page()
    page.goto(link.url.split("#")[0] + "#" + crypto.b64url(crypto.new_key()))
    page.locator("#reveal").click()
    page.locator("#status.error").wait_for()  # (the page's CSP forbids wait_for_function)
    assert "damaged" in page.locator("#status").text_content()
    assert page.locator("#result").is_hidden()
    page.close()
    assert http_status(link.url) == 200  # not used up

    page = browser.new_page()
    page.goto(link.url)
    page.locator("#reveal").click()
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#field-user_name").text_content() == "alice"
    page.close()
    assert http_status(link.url) == 410
