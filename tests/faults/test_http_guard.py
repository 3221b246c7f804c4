"""The /slack/events guard (bot/web/slack_events.py) in process, with an injected clock:
the order of its checks, the five-minute window, and that Bolt sees nothing it refuses.
The real process under the same junk: tests/faults/test_http_hardening.py."""

from __future__ import annotations

import http.client
import io
import json
import logging
from typing import Any

import pytest
from slack_bolt import App

from bot.slack.app import http_handler
from bot.web.server import MAX_REQUEST_BODY, serving
from bot.web.slack_events import MAX_AGE, SlackEvents
from tests.support.slack_api import sign

SECRET = "guard-signing-secret"  # noqa: S105 - a test value
NOW = 1_800_000_000
CHALLENGE = json.dumps({"type": "url_verification", "challenge": "c-42"})


class Unreadable(io.RawIOBase):
    """A body the guard must never read."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


class CountingApp(App):
    dispatched = 0

    def dispatch(self, req):  # noqa: ANN001, ANN201
        CountingApp.dispatched += 1
        return super().dispatch(req)


@pytest.fixture
def guard() -> SlackEvents:
    CountingApp.dispatched = 0
    # Bolt checks the signature again in production; here its clock (not injectable)
    # would call NOW stale, so only the guard's check runs.
    app = CountingApp(
        signing_secret=SECRET,
        token="xoxb-guard",  # noqa: S106 - a test value
        token_verification_enabled=False,
        request_verification_enabled=False,
    )
    return SlackEvents(app, SECRET, now=lambda: NOW)


def call(
    guard: SlackEvents, body: str, *, at: int = NOW, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    raw = body.encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    if headers is None:
        headers = {
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": str(at),
            "HTTP_X_SLACK_SIGNATURE": sign(SECRET, body, at),
        }
    environ.update(headers)
    answer: list[str] = []
    chunks = guard(environ, lambda status, _headers: answer.append(status))
    return int(answer[0].split()[0]), b"".join(chunks)


def test_a_signed_request_inside_the_window_reaches_bolt(guard: SlackEvents) -> None:
    for at in (NOW, NOW - MAX_AGE, NOW + MAX_AGE):
        status, body = call(guard, CHALLENGE, at=at)
        assert status == 200 and b"c-42" in body
    assert CountingApp.dispatched == 3


def test_outside_the_window_is_stale(guard: SlackEvents, caplog) -> None:
    caplog.set_level(logging.WARNING, "bot.web.slack_events")
    for at in (NOW - MAX_AGE - 1, NOW + MAX_AGE + 1):
        assert call(guard, CHALLENGE, at=at) == (401, b'{"error": "stale Slack timestamp"}')
    assert CountingApp.dispatched == 0
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert all("c-42" not in r.getMessage() for r in caplog.records)


def test_an_oversized_body_is_refused_unread(guard: SlackEvents) -> None:
    answer: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_LENGTH": str(guard.max_body + 1),
        "wsgi.input": Unreadable(),
    }
    guard(environ, lambda status, _headers: answer.append(status))
    assert answer == ["413 Payload Too Large"]
    assert CountingApp.dispatched == 0


def test_the_signature_is_checked_before_the_body_is_parsed(guard: SlackEvents) -> None:
    forged = {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(NOW), "HTTP_X_SLACK_SIGNATURE": "v0=00"}
    assert call(guard, "payload=%7Bnot-json", headers=forged)[0] == 401
    assert call(guard, "payload=%7Bnot-json")[0] == 400  # signed, then found malformed
    assert CountingApp.dispatched == 0


def test_http_handler_is_the_guard_with_the_apps_secret() -> None:
    app = App(signing_secret=SECRET, token="xoxb-guard", token_verification_enabled=False)  # noqa: S106
    handler = http_handler(app)
    assert isinstance(handler, SlackEvents)
    assert handler.verifier.signing_secret == SECRET


def test_the_server_refuses_any_body_over_1_mib_before_the_app_runs(caplog) -> None:
    """waitress itself (bot/web/server.py), for every route: the credential pages too."""
    called: list[str] = []

    def app(environ, start_response):  # noqa: ANN001, ANN202
        called.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    caplog.set_level(logging.WARNING, "bot.web.server")
    with serving(app, threads=1) as base:
        port = int(base.rsplit(":", 1)[1])
        for path, size in (("/credentials/x/reveal", MAX_REQUEST_BODY + 1), ("/any", 10 << 20)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.putrequest("POST", path)
            connection.putheader("Content-Length", str(size))
            connection.endheaders()
            assert connection.getresponse().status == 413
            connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/at-the-limit", body=b"x" * MAX_REQUEST_BODY)
        assert connection.getresponse().status == 200
        connection.close()
    assert called == ["/at-the-limit"]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.server"]
    assert lines == [
        "refused POST /credentials/x/reveal from 127.0.0.1: 413 Request Entity Too Large",
        "refused POST /any from 127.0.0.1: 413 Request Entity Too Large",
    ]
