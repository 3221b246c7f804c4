"""Issue 12, item 3: unsigned junk on the real `aws-access-bot run` process (waitress).

Before the fix an unsigned 300 MB POST to /slack/events was read whole (waitress allows
1 GiB) and grew the bot by ~600 MB before a 500; bodies of 1-10 MB, a malformed
`payload=` or `X-Slack-Request-Timestamp: abc` got a 500 and an ERROR traceback. Now a
body over 1 MiB gets 413 without being read, the signature is checked before the body
is parsed, and every bad request gets 400/401/413 and exactly one WARNING line.

The bodies are streamed in 1 MiB chunks with http.client, so the test never holds them.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support import slack_payloads as payloads
from tests.support.configs import MINIMAL_CONFIG
from tests.support.processes import BotProcess, run_env, running_bot
from tests.support.slack_api import SlackApiStub, post_signed

SECRET = "hardening-signing-secret"  # noqa: S105 - a test value
MiB = 1024 * 1024
WARNING = re.compile(r"\bWARNING\b|\"level\": \"WARNING\"")


@dataclass
class Served:
    bot: BotProcess
    slack: SlackApiStub

    @property
    def host(self) -> tuple[str, int]:
        return "127.0.0.1", self.bot.port

    def warnings(self) -> list[str]:
        return [line for line in self.bot.text().splitlines() if WARNING.search(line)]

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.bot.proc.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hardening")
    config = tmp / "bot.toml"
    config.write_text(MINIMAL_CONFIG)
    with SlackApiStub() as slack:
        slack.add_user("U0ALICE", "alice@example.com")
        env = run_env(
            config,
            f"sqlite:///{tmp / 'run.db'}",
            slack_api_url=slack.base_url,
            signing_secret=SECRET,
        )
        with running_bot(["run", "--no-scheduler"], env, tmp) as bot:
            yield Served(bot, slack)
            assert bot.stop() == 0
        log = bot.text()
    assert "Traceback" not in log and " ERROR " not in log
    assert SECRET not in log


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: bytes, *, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(body, timestamp, secret),
    }


def post(served: Served, body: bytes, headers: dict[str, str], ctype: str = "") -> int:
    connection = http.client.HTTPConnection(*served.host, timeout=60)
    try:
        headers = {"Content-Type": ctype or "application/x-www-form-urlencoded", **headers}
        connection.request("POST", "/slack/events", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def stream(served: Served, size: int, *, chunked: bool = False) -> tuple[int, int]:
    """POST `size` unsigned bytes in 1 MiB chunks (never held whole); returns the status
    and how many bytes the bot let in before it answered."""
    chunk = b"x" * MiB
    connection = http.client.HTTPConnection(*served.host, timeout=120)
    sent = 0
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(size))
        connection.endheaders()
        try:
            while sent < size:
                piece = chunk[: min(MiB, size - sent)]
                if chunked:
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    connection.send(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot answered and hung up: it will not read the rest
        return connection.getresponse().status, sent
    finally:
        connection.close()


def refused(served: Served, action: Callable[[], Any], what: str, expected: int) -> Any:
    """Run `action` (a request: its status, or (status, ...)); it must answer `expected`
    and leave exactly one new WARNING line and no traceback in the bot's log."""
    before = len(served.warnings())
    result = action()
    status = result[0] if isinstance(result, tuple) else result
    assert status == expected, f"{what}: answered {status}, expected {expected}"
    new = served.warnings()[before:]
    assert len(new) == 1, f"{what}: expected one WARNING line, got {new}"
    assert "Traceback" not in served.bot.text(), what
    return result


def test_an_unsigned_300_mb_post_gets_413_without_being_read(served: Served) -> None:
    rss_before = served.rss_kib()
    for chunked in (False, True):
        _, sent = refused(
            served,
            lambda c=chunked: stream(served, 300 * MiB, chunked=c),
            f"300 MB (chunked={chunked})",
            413,
        )
        assert sent < 300 * MiB  # it stopped reading long before the end
    grown_mib = (served.rss_kib() - rss_before) / 1024
    assert grown_mib < 50, f"the bot grew by {grown_mib:.0f} MiB"


@pytest.mark.parametrize("size", [MiB + 1, 5 * MiB, 10 * MiB])
def test_bodies_over_1_mib_get_413(served: Served, size: int) -> None:
    refused(served, lambda: stream(served, size), f"{size} bytes", 413)


def test_a_1_mib_unsigned_body_is_read_and_refused_as_unsigned(served: Served) -> None:
    body = b"x" * MiB
    refused(served, lambda: post(served, body, {}), "1 MiB unsigned", 401)


def _form(payload: str) -> bytes:
    return f"payload={quote(payload)}".encode()


def unsigned(_body: bytes) -> dict[str, str]:
    return {}


def stale(body: bytes) -> dict[str, str]:
    return signed(body, age=3600)


def wrong_secret(body: bytes) -> dict[str, str]:
    return signed(body, secret="not-the-secret")


def timestamp(value: str | None) -> Callable[[bytes], dict[str, str]]:
    def headers(_body: bytes) -> dict[str, str]:
        sent = {"X-Slack-Signature": "v0=" + "0" * 64}
        return sent if value is None else {**sent, "X-Slack-Request-Timestamp": value}

    return headers


SLASH = payloads.slash_command("U0ALICE", "developer need logs").encode()
JSON = "application/json"
# (what, body, its headers (signed when the request is sent), content type, status)
BAD_REQUESTS = [
    ("no signature headers", SLASH, unsigned, "", 401),
    ("signature without timestamp", SLASH, timestamp(None), "", 401),
    ("timestamp abc", SLASH, timestamp("abc"), "", 400),
    ("timestamp 1e9", SLASH, timestamp("1e9"), "", 400),
    ("stale timestamp", SLASH, stale, "", 401),
    ("wrong secret", SLASH, wrong_secret, "", 401),
    ("unsigned malformed payload=", b"payload=%7Bnot-json", unsigned, "", 401),
    ("signed malformed payload=", b"payload=%7Bnot-json", signed, "", 400),
    ("signed payload= list", _form("[1, 2]"), signed, "", 400),
    ("signed payload= team 5", _form('{"type": "block_actions", "team": 5}'), signed, "", 400),
    ("signed non-JSON event", b"{not json", signed, JSON, 400),
    ("signed JSON list event", b"[1, 2]", signed, JSON, 400),
    ("signed garbage", b"\x00\x01garbage=1", signed, "", 400),
    ("signed empty body", b"", signed, "", 400),
    ("not UTF-8", b"\xff\xfe\xfd", signed, "", 400),
]


def test_unsigned_or_malformed_requests_get_400_or_401_and_one_warning(served: Served) -> None:
    problems = []  # every case is tried; the failure lists all that went wrong
    for what, body, headers_of, ctype, expected in BAD_REQUESTS:
        headers = headers_of(body)
        try:
            refused(
                served, lambda b=body, h=headers, c=ctype: post(served, b, h, c), what, expected
            )
        except AssertionError as problem:
            problems.append(str(problem).splitlines()[0])
    assert not problems, "\n".join(problems)
    log = served.bot.text()
    assert "not-json" not in log and "garbage" not in log  # no body content in the log
    assert served.slack.methods() == []  # nothing reached a listener


def test_a_bad_content_length_is_refused_by_the_server_with_one_warning(served: Served) -> None:
    def raw() -> int:
        connection = http.client.HTTPConnection(*served.host, timeout=10)
        try:
            connection.putrequest("POST", "/slack/events")
            connection.putheader("Content-Length", "abc")
            connection.endheaders()
            return connection.getresponse().status
        finally:
            connection.close()

    refused(served, raw, "Content-Length abc", 400)


def test_signed_requests_still_work_after_the_junk(served: Served) -> None:
    url = f"{served.bot.url}/slack/events"
    status, raw, _ = post_signed(url, SLASH.decode(), SECRET)
    assert (status, raw) == (200, b"")
    [opened] = served.slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "request_form"
    event = json.dumps({"type": "url_verification", "challenge": "c-123"})
    status, raw, _ = post_signed(url, event, SECRET, content_type="application/json")
    assert status == 200 and b"c-123" in raw
