"""Roll back and re-issue each hold their own lock (issue: "one column, three locks").

Before they had separate locks, both used the provisioning lease column, so while a
re-issue ran a Roll back click was told "is being rolled back", and while a roll back
ran a Re-issue click was told "a re-issue is already running". Each must name the work
that really holds the request, and neither may run while the other does.

Driven through the wired runtime (container.build_runtime) with a provisioner that
blocks inside AWS until the test lets it go.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from bot.container import build_runtime
from bot.domain.credentials import Credentials
from bot.domain.requests import RequestView
from bot.services.submit import RequestForm
from tests.slack.conftest import CONFIG, OWNER1, OWNER2
from tests.support.configs import bot_config, container_on
from tests.support.fakes import NoNamesTaken
from tests.support.slack_api import SlackApiStub

REQUESTER = "U0ALICE"


@dataclass
class GatedProvisioner:
    """Provisions at once; rotate and roll back wait at the gate until released."""

    entered: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)

    def provision(self, request: RequestView) -> Credentials:
        return Credentials(request.iam_user_name, "https://console", "pw", "AKIAEXAMPLE", "s")

    def rotate_credentials(self, request: RequestView) -> Credentials:
        self._wait()
        return Credentials(request.iam_user_name, "https://console", "pw2", "AKIANEW", "s2")

    def roll_back(self, request: RequestView) -> None:
        self._wait()

    def _wait(self) -> None:
        self.entered.set()
        assert self.gate.wait(10), "the test never released the gate"


@pytest.fixture
def runtime(engine, sessions, clock, slack_stub: SlackApiStub):
    container = container_on(
        engine,
        sessions,
        clock,
        public_url="https://bot.example.com",
        slack_bot_token="xoxb-test",  # noqa: S106 - the stand-in accepts anything
        slack_api_url=slack_stub.base_url,
        config=bot_config(CONFIG, "test"),
    )
    provisioner = GatedProvisioner()
    built = build_runtime(container, provisioner=provisioner, directory=NoNamesTaken())
    yield built, provisioner
    provisioner.gate.set()
    built.close()


def provisioned_request(runtime) -> int:
    services = runtime.services
    result = services.submit.submit(
        RequestForm(REQUESTER, "developer", "alice", True, True, "on-call")
    )
    assert result.ok, result.errors
    request_id = result.request.id
    assert services.decisions.approve(request_id, OWNER1).outcome.value == "approved"
    # The approval handed the request to the background worker: wait for it.
    deadline = time.monotonic() + 10
    while status_of(runtime) != "provisioned":
        assert time.monotonic() < deadline, f"still {status_of(runtime)}"
        time.sleep(0.02)
    return request_id


def status_of(runtime) -> str:
    return runtime.services.queries.of_requester(REQUESTER)[0].status.value


def test_roll_back_during_a_reissue_names_the_reissue(runtime) -> None:
    built, provisioner = runtime
    request_id = provisioned_request(built)
    reissue = threading.Thread(
        target=built.services.credential_links.reissue, args=(request_id, OWNER1)
    )
    reissue.start()
    assert provisioner.entered.wait(10)  # the re-issue holds the request inside AWS

    result = built.worker.service.roll_back(request_id, OWNER2)

    assert not result.ok
    assert result.message == f"a re-issue of request #{request_id} is already running"
    provisioner.gate.set()
    reissue.join(10)
    assert status_of(built) == "provisioned"


def test_reissue_during_a_roll_back_names_the_roll_back(runtime) -> None:
    built, provisioner = runtime
    request_id = provisioned_request(built)
    roll_back = threading.Thread(target=built.worker.service.roll_back, args=(request_id, OWNER1))
    roll_back.start()
    assert provisioner.entered.wait(10)  # the roll back holds the request inside AWS

    with pytest.raises(Exception) as refused:
        built.services.credential_links.reissue(request_id, OWNER2)

    assert str(refused.value) == f"request #{request_id} is being rolled back"
    provisioner.gate.set()
    roll_back.join(10)
    assert status_of(built) == "revoked"
