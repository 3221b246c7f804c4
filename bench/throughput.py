"""Approvals provisioned per minute, end to end: signed Approve clicks through the real
Bolt app (waitress, in this process so a botocore hook can count calls) → decision →
provisioning worker → IAM on a moto server over HTTP (signatures checked) → credential
link DM to the Web API stand-in. Baseline: the same IAM users made by a bare boto3 loop
(the minimal calls, one per step, same worker count), so the ratio is the bot's overhead.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from bench.harness import Report
from bench.load import fire
from bench.seed import reset_database, seed_pending
from bench.servers import BOT_TOKEN, CONFIG, OWNERS, SECRET, wait_until
from bot.container import build_container, build_runtime
from bot.settings import Settings, parse_config
from bot.slack.app import build_app, http_handler
from bot.slack.client import build_web_client
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.models import AccessRequest
from bot.web.router import Router
from bot.web.server import serving
from tests.support import slack_payloads as payloads
from tests.support.moto import start_moto, unique

# One call per step of flow 3 (docs/architecture.md) for a console + programmatic user
# in one group.
MINIMAL = ("CreateUser", "CreateLoginProfile", "AddUserToGroup", "CreateAccessKey")
WORKERS = 2  # the bot's ProvisioningWorker default


class CallCounter:
    """botocore `before-call.iam` hook: every IAM API call the bot makes, by operation."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def __call__(self, model, **_kwargs) -> None:  # noqa: ANN001
        with self.lock:
            self.calls[model.name] += 1


def measure(report: Report, workdir: Path, slack_api_url: str, count: int) -> None:
    moto = start_moto(workdir / "moto.log")
    saved = dict(os.environ)
    os.environ.update(moto.env())  # boto3 reads AWS_ENDPOINT_URL itself, like `run` does
    try:
        admin = moto.client("iam")
        group = "bench-developers"
        admin.create_group(GroupName=group)
        bot_rate, counter = _bot(workdir, moto, slack_api_url, count)
        bare_rate = _bare(moto, group, count)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        moto.stop()
    report.add(
        "throughput",
        "approvals provisioned per minute (moto)",
        bot_rate,
        "/min",
        baseline=bare_rate,
        note=f"{count} approvals; baseline: bare boto3 loop of the minimal calls, "
        f"{WORKERS} threads",
    )
    per = {op: n / count for op, n in sorted(counter.calls.items())}
    report.add(
        "throughput",
        "IAM API calls per provisioning",
        sum(per.values()),
        "calls",
        baseline=float(len(MINIMAL)),
        note="by operation: " + ", ".join(f"{op} {n:g}" for op, n in per.items()),
    )


def _bot(workdir: Path, moto, slack_api_url: str, count: int):  # noqa: ANN001, ANN202
    url = f"sqlite:///{workdir / 'throughput.db'}"
    reset_database(url)
    settings = Settings(
        database_url=url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_api_url,
        config=parse_config(tomllib.loads(CONFIG), "bench.toml"),
    )
    container = build_container(settings)
    engine = container.engine
    session = moto.session()
    counter = CallCounter()
    session.events.register("before-call.iam", counter)
    runtime = build_runtime(container, client=build_web_client(settings), aws_session=session)
    router = Router()
    slack_app = build_app(settings, runtime.services, runtime.client, after_ack=runtime.after_ack)
    router.mount("/slack/events", http_handler(slack_app))
    server = contextlib.ExitStack()  # closed in the finally below, with the runtime
    events = f"{server.enter_context(serving(router))}/slack/events"
    from datetime import UTC, datetime

    ids = seed_pending(engine, count, profile="developer", now=datetime.now(UTC))
    prefix = unique("b")
    with engine.begin() as conn:  # unique IAM names in the shared moto
        for i in ids:
            conn.execute(
                AccessRequest.__table__.update()
                .where(AccessRequest.id == i)
                .values(iam_user_name=f"{prefix}-{i}")
            )

    def provisioned() -> int:
        with engine.connect() as conn:
            query = select(func.count()).where(AccessRequest.status == "provisioned")
            return conn.scalar(query) or 0

    try:
        started = time.perf_counter()
        _, failed = fire(
            events,
            SECRET,
            lambda i: payloads.block_action(OWNERS[0], APPROVE_ACTION, str(ids[i])),
            count=count,
            concurrency=min(32, count),
        )
        if failed or not wait_until(lambda: provisioned() >= count, timeout=240, interval=0.1):
            raise RuntimeError(f"{provisioned()} of {count} provisioned ({failed} clicks failed)")
        elapsed = time.perf_counter() - started
    finally:
        server.close()
        runtime.close()
        engine.dispose()
    return count / elapsed * 60, counter


def _bare(moto, group: str, count: int) -> float:  # noqa: ANN001
    iam = moto.client("iam")
    prefix = unique("raw")

    def make(i: int) -> None:
        name = f"{prefix}-{i}"
        iam.create_user(UserName=name, Path="/bench/")
        iam.create_login_profile(
            UserName=name, Password="Bench-Pa55word!", PasswordResetRequired=True
        )  # noqa: S106, E501
        iam.add_user_to_group(UserName=name, GroupName=group)
        iam.create_access_key(UserName=name)

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(make, range(count)))
    return count / (time.perf_counter() - started) * 60
