"""AWS faults during provisioning (flow 3), re-issue (flow 4) and Retry: issue 12, items 1
and 8.

The bot's real provisioner (bot/aws/clients.py: botocore's retry modes included) talks to
moto server (signatures checked) through a FaultProxy that drops answers, answers 500,
throttles or refuses every connection. The provisioning use case runs over the real
store (SQLite and PostgreSQL). What must hold whatever the fault:

- a request ends `provisioned` with exactly one active key, the one sealed into its
  link (checked in IAM and by using the key with STS), or `failed` with no key left that
  nobody holds; a Retry then finishes it with one key;
- transient errors are reported as what they are (never "the AWS SDK refused").

Every pause is injected: the provisioner's own backoff and botocore's are zero here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.retries import standard

from bot.aws.clients import build_provisioner
from bot.aws.iam import Backoff, IamProvisioner
from bot.domain.events import CredentialsIssued
from bot.domain.states import Status
from bot.services.provision import ProvisioningService
from bot.settings import AwsConfig, BotConfig, Links, Profile, Reminders, SlackConfig
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker, upgrade
from tests.faults.proxies import FaultProxy
from tests.support.moto import MotoServer, unique
from tests.support.notifier import RecordingNotifier
from tests.support.requests import PUBLIC_URL, row
from tests.support.requests import approved as approved_request
from tests.support.vault import open_link

OWNER = "U0OWNER1"
POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
PATH = "/faults/"

# Every AWS call a provisioning makes, in order (GetCallerIdentity signs with the new key).
STEPS = (
    "CreateUser",
    "GetAccountPasswordPolicy",
    "CreateLoginProfile",
    "AddUserToGroup",
    "AttachUserPolicy",
    "ListAccountAliases",
    "CreateAccessKey",
    "GetCallerIdentity",
    "ListAccessKeys",
)
# The calls that change IAM: the ones whose lost answer could duplicate something.
MUTATING = ("CreateUser", "CreateLoginProfile", "AddUserToGroup", "AttachUserPolicy")


@pytest.fixture
def no_botocore_pauses(monkeypatch) -> None:
    """botocore's standard retry mode sleeps between its attempts: not in these tests."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)


@pytest.fixture
def proxy(moto_server: MotoServer):
    proxy = FaultProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def sqlite_sessions(tmp_path_factory):
    """The step matrix is about AWS: one database (SQLite) is enough for it, and one
    for the module (every test makes its own request and IAM user)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('faults') / 'faults.db'}")
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@dataclass(frozen=True)
class Aws:
    moto: MotoServer
    # One boto3 session for the module: clients of one session share its loaded
    # service models (a new session reads them again, ~0.2 s a client).
    session: boto3.Session
    iam: Any  # the admin's look at IAM, straight to moto (not through the proxy)


@pytest.fixture(scope="module")
def aws(moto_server: MotoServer) -> Aws:
    return Aws(moto_server, moto_server.session(), moto_server.client("iam"))


class Bot:
    """The provisioning use case over the real provisioner, its AWS behind the proxy."""

    def __init__(self, sessions: Any, clock: Any, aws: Aws, proxy: FaultProxy) -> None:
        self.sessions, self.clock, self.moto, self.proxy = sessions, clock, aws.moto, proxy
        self.stores = stores = build_stores(sessions)
        self.iam = aws.iam
        self.group = unique("faults-devs")
        self.iam.create_group(GroupName=self.group)
        self.config = config_for(self.group)
        self.provisioner = real_provisioner(aws.session, self.config)
        self.notifier = RecordingNotifier()
        self.service = ProvisioningService(
            stores.provisioning,
            stores.requests,
            self.provisioner,
            self.notifier,
            clock,
            self.config,
            public_url=PUBLIC_URL,
        )

    def approved(self) -> tuple[int, str]:
        name = unique("fault")
        view = approved_request(
            self.stores,
            self.config,
            now=self.clock.now(),
            requester_id=f"U0REQ{name[-8:].upper()}",
            iam_user_name=name,
        )
        return view.id, name

    def status(self, request_id: int) -> Status:
        return Status(row(self.sessions, request_id).status)

    def last_error(self, request_id: int) -> str:
        return row(self.sessions, request_id).last_error or ""

    def keys(self, name: str) -> list[str]:
        return [
            k["AccessKeyId"]
            for k in self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            if k["Status"] == "Active"
        ]

    def retry(self, request_id: int) -> None:
        result = self.service.retry(request_id, OWNER)
        assert result.ok, result.message
        self.service.run(result.lease)

    def assert_one_key_in_the_link(self, request_id: int, name: str) -> str:
        """Provisioned; IAM holds exactly one key; it is the one sealed into the (last)
        link, the store recorded it, and it works (moto checks the signature)."""
        assert self.status(request_id) is Status.PROVISIONED
        issued = self.notifier.of(CredentialsIssued)[-1]
        credentials = open_link(self.stores, issued.link, self.clock.now())
        assert self.keys(name) == [credentials.access_key_id]
        sts = self.moto.client("sts", credentials.access_key_id, credentials.secret_access_key)
        assert sts.get_caller_identity()["Arn"].endswith(f"{PATH}{name}")
        assert row(self.sessions, request_id).access_key_id == credentials.access_key_id
        return credentials.access_key_id


def config_for(group: str) -> BotConfig:
    return BotConfig(
        slack=SlackConfig(approval_channel="C0APPROVALS", owners=(OWNER, "U0OWNER2")),
        aws=AwsConfig(iam_path=PATH),
        reminders=Reminders(),
        links=Links(),
        profiles=(
            Profile(
                name="developer",
                description="dev",
                groups=(group,),
                policies=(POLICY,),
                console=True,
                programmatic=True,
                approvals_required=1,
            ),
        ),
    )


def real_provisioner(session: boto3.Session, config: BotConfig) -> IamProvisioner:
    """What `run` builds (bot/aws/clients.py), pauses injected. AWS_ENDPOINT_URL (set by
    the fixture) sends every client, the STS ones included, through the proxy."""
    provisioner = build_provisioner(config.aws, session)
    provisioner.sleep = lambda _seconds: None
    provisioner.step_backoff = Backoff(attempts=4, base=0.0, cap=0.0)
    provisioner.key_backoff = Backoff(attempts=4, base=0.0, cap=0.0)
    return provisioner


def make_bot(sessions, clock, aws, proxy, monkeypatch) -> Bot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    return Bot(sessions, clock, aws, proxy)


@pytest.fixture
def bot(sessions, clock, aws, proxy, monkeypatch, no_botocore_pauses) -> Bot:
    return make_bot(sessions, clock, aws, proxy, monkeypatch)


@pytest.fixture
def sqlite_bot(sqlite_sessions, clock, aws, proxy, monkeypatch, no_botocore_pauses) -> Bot:
    return make_bot(sqlite_sessions, clock, aws, proxy, monkeypatch)


# --- item 1: a lost CreateAccessKey answer -----------------------------------------------


def test_lost_create_access_key_answer_leaves_exactly_the_sealed_key(bot: Bot) -> None:
    request_id, name = bot.approved()
    bot.proxy.drop_answer("CreateAccessKey")
    bot.service.process(request_id)
    bot.assert_one_key_in_the_link(request_id, name)
    # AWS made a key for the dropped call; the bot found it and deleted it before it
    # asked once more (never a blind re-send).
    calls = [s.name for s in bot.proxy.seen if s.name in ("CreateAccessKey", "ListAccessKeys")]
    assert calls[:3] == ["CreateAccessKey", "ListAccessKeys", "CreateAccessKey"]
    assert [s.fault for s in bot.proxy.calls("CreateAccessKey")] == ["drop", None]


def test_lost_answers_on_every_create_access_key_attempt_fail_with_no_key(bot: Bot) -> None:
    request_id, name = bot.approved()
    bot.proxy.drop_answer("CreateAccessKey", times=4)  # every attempt the provisioner has
    bot.service.process(request_id)
    assert bot.status(request_id) is Status.FAILED
    assert bot.last_error(request_id).startswith("ConnectionClosedError: connection to AWS closed")
    assert bot.keys(name) == []  # four keys were made; none is left behind
    assert len(bot.proxy.calls("CreateAccessKey")) == 4
    bot.retry(request_id)
    bot.assert_one_key_in_the_link(request_id, name)


def test_lost_create_access_key_answer_during_reissue(bot: Bot) -> None:
    """Rotation keeps the key recorded for the request (the requester's current one)
    working until the new one works, and deletes only the stray the lost call made."""
    request_id, name = bot.approved()
    bot.service.process(request_id)
    old = bot.assert_one_key_in_the_link(request_id, name)
    view = bot.stores.requests.get(request_id)
    bot.proxy.drop_answer("CreateAccessKey")
    new = bot.provisioner.rotate_credentials(view)
    assert new.access_key_id != old
    assert bot.keys(name) == [new.access_key_id]
    sts = bot.moto.client("sts", new.access_key_id, new.secret_access_key)
    assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")


# --- 500, throttling and lost answers on every step --------------------------------------


def _fault(proxy: FaultProxy, kind: str, step: str, times: int) -> None:
    if kind == "500":
        proxy.fail(step, status=500, times=times)
    elif kind == "throttle":
        proxy.throttle(step, times=times)
    else:
        proxy.drop_answer(step, times=times)


@pytest.mark.parametrize(
    ("kind", "steps"),
    [("500", STEPS), ("throttle", STEPS), ("drop", MUTATING + ("CreateAccessKey",))],
    ids=["500", "throttle", "drop"],
)
def test_faults_that_pass_on_every_step_end_provisioned_with_one_key(
    sqlite_bot: Bot, kind: str, steps: tuple[str, ...]
) -> None:
    """Every step of one provisioning fails twice in a row (botocore's retries and the
    bot's own absorb it); for `drop`, every call that changes IAM loses its answer twice."""
    bot = sqlite_bot
    request_id, name = bot.approved()
    for step in steps:
        _fault(bot.proxy, kind, step, times=2)
    bot.service.process(request_id)
    for step in steps:
        assert [s.fault for s in bot.proxy.calls(step)][:2] == [{"500": "fail"}.get(kind, kind)] * 2
    bot.assert_one_key_in_the_link(request_id, name)
    assert [g["GroupName"] for g in bot.iam.list_groups_for_user(UserName=name)["Groups"]] == [
        bot.group
    ]
    attached = bot.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY]


@pytest.mark.parametrize(("step", "kind"), [(s, k) for s in STEPS for k in ("500", "throttle")])
def test_a_fault_that_lasts_fails_with_nothing_orphaned_then_retry_finishes(
    sqlite_bot: Bot, step: str, kind: str
) -> None:
    bot = sqlite_bot
    bot.provisioner.step_backoff = bot.provisioner.key_backoff = Backoff(2, 0.0, 0.0)
    request_id, name = bot.approved()
    _fault(bot.proxy, kind, step, times=1000)
    bot.service.process(request_id)
    assert bot.status(request_id) is Status.FAILED
    error = bot.last_error(request_id)
    assert error.startswith("Throttling: " if kind == "throttle" else "ServiceUnavailable: ")
    # No key nobody holds: a key made before the fault was deleted again.
    if step != "CreateUser":
        assert bot.keys(name) == []
    bot.proxy.clear()
    bot.retry(request_id)
    bot.assert_one_key_in_the_link(request_id, name)


# --- cut mid-run (item 8: reported as what it is) -----------------------------------------


@pytest.mark.parametrize("cut_after", ["AddUserToGroup", "CreateAccessKey"])
def test_aws_cut_mid_run_fails_as_transient_then_retry_finishes_with_one_key(
    bot: Bot, cut_after: str
) -> None:
    """AWS becomes unreachable right after `cut_after` went through (for CreateAccessKey:
    the key exists, its secret arrived, but nothing after it reaches AWS)."""
    request_id, name = bot.approved()
    bot.proxy.hold(cut_after)
    worker = threading.Thread(target=bot.service.process, args=(request_id,))
    worker.start()
    assert bot.proxy.held.wait(timeout=15), f"provisioning never reached {cut_after}"
    bot.proxy.refuse(True)
    bot.proxy.release()  # the held call goes through; every later one is refused
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert bot.status(request_id) is Status.FAILED
    error = bot.last_error(request_id)
    assert error.startswith("ConnectionClosedError: connection to AWS closed"), error
    assert any(s.fault == "refuse" for s in bot.proxy.seen)

    bot.proxy.refuse(False)
    bot.retry(request_id)
    bot.assert_one_key_in_the_link(request_id, name)
