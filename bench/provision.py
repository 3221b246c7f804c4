"""Provisioning end to end, the bot (`aws-access-bot run`, its own process) against the
bare app (bench/bare_app.py, BARE_MODE=provision), both on moto (bench/moto_seeded.py,
its own process, counting every AWS call by caller):

- IAM and STS calls for one provisioning on a cold bot (just started: the account-wide
  look-ups are not cached yet), then on a warm one;
- 10 concurrent approvals: click -> credentials DM received by the Web API stand-in;
- throughput: approvals provisioned per minute from 32 clients.

Signed clicks by an owner on seeded `developer` requests (one approval needed) go
through the real Bolt app -> decision -> ProvisioningWorker -> IAM -> the STS check of
the new key -> the credentials DM. The bare app acks, then makes the minimal IAM calls
(CreateUser, CreateLoginProfile, AddUserToGroup, CreateAccessKey) and sends the DM.
Rounds interleaved; every batch waits for all its DMs and the bot's backlog to drain.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
from sqlalchemy import update

from bench.harness import Report, percentile
from bench.latency import Stub, batch
from bench.moto_seeded import ADMIN_KEY, BARE_KEY, BOT_KEY
from bench.seed import reset_database, seed_pending
from bench.servers import OWNERS, Server, aws_env, get_json, start_bare, start_bot
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.db import make_engine
from bot.store.models import AccessRequest
from tests.support import slack_payloads as payloads

MINIMAL = ("CreateUser", "CreateLoginProfile", "AddUserToGroup", "CreateAccessKey")


def clicks(ids: list[int]):  # noqa: ANN201
    return lambda i: payloads.block_action(OWNERS[0], APPROVE_ACTION, str(ids[i]))


def measure(
    report: Report,
    facts: dict[str, object],
    workdir: Path,
    *,
    slack_api_url: str,
    moto_endpoint: str,
    rounds_at_10: int,
    throughput_rounds: int,
    per_round: int,
) -> None:
    admin = boto3.Session(
        aws_access_key_id=ADMIN_KEY, aws_secret_access_key="bench", region_name="us-east-1"
    ).client("iam", endpoint_url=moto_endpoint)
    admin.create_group(GroupName="bench-developers")
    url = f"sqlite:///{workdir / 'provision.db'}"
    reset_database(url)
    engine = make_engine(url)
    total = 2 + rounds_at_10 * 10 + throughput_rounds * per_round
    ids = seed_pending(engine, total, profile="developer", now=datetime.now(UTC))
    prefix = f"b{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:  # IAM names of their own in the shared moto
        for i in ids:
            conn.execute(
                update(AccessRequest)
                .where(AccessRequest.id == i)
                .values(iam_user_name=f"{prefix}-bot-{i}")
            )
    engine.dispose()
    stub = Stub(slack_api_url)
    counts_url = f"{moto_endpoint}/bench/counts"
    bot = start_bot(workdir, url, slack_api_url, aws_env(moto_endpoint, BOT_KEY))
    bare = start_bare(
        workdir,
        slack_api_url,
        aws_env(moto_endpoint, BARE_KEY),
        mode="provision",
        iam_prefix=f"{prefix}-bare",
    )
    queue = list(ids)

    def take(n: int) -> list[int]:
        taken, queue[:] = queue[:n], queue[n:]
        return taken

    def run(server: Server, chosen: list[int], concurrency: int):  # noqa: ANN202
        keys = [f"cred:{i}" for i in chosen]
        return batch(server, stub, clicks(chosen), keys, concurrency=concurrency)

    try:
        # Cold: the first provisioning after start-up; warm: the next one.
        calls: dict[str, dict[str, int]] = {}
        for phase in ("cold", "warm"):
            get_json(f"{counts_url}/reset", post=True)
            run(bot, take(1), 1)
            calls[phase] = _bot_calls(get_json(counts_url))
        for phase in ("cold", "warm"):
            report.add(
                "aws",
                f"IAM + STS calls for one provisioning ({phase} bot)",
                sum(calls[phase].values()),
                "calls",
                baseline=float(len(MINIMAL)),
                note=", ".join(f"{k} {v}" for k, v in sorted(calls[phase].items())),
            )
        facts["iam_calls_cold"] = sum(calls["cold"].values())
        facts["iam_calls_cold_by_call"] = calls["cold"]
        facts["iam_calls_warm_by_call"] = calls["warm"]

        waits: dict[str, list[float]] = {"bot": [], "bare": []}
        for r in range(rounds_at_10):
            chosen = take(10)
            for server in (bot, bare) if r % 2 == 0 else (bare, bot):
                _, waited = run(server, chosen, 10)
                waits[server.name].extend(waited)
        for q in (50, 99):
            report.add(
                "wait",
                f"10 concurrent approvals: click -> credentials DM p{q}",
                percentile(waits["bot"], q) * 1000,
                "ms",
                baseline=percentile(waits["bare"], q) * 1000,
                note=f"{rounds_at_10} rounds of 10 per server, interleaved, drained",
            )
        facts["approve_to_dm_p99_ratio_at_10"] = percentile(waits["bot"], 99) / percentile(
            waits["bare"], 99
        )

        elapsed: dict[str, float] = {"bot": 0.0, "bare": 0.0}
        made: dict[str, int] = {"bot": 0, "bare": 0}
        get_json(f"{counts_url}/reset", post=True)
        for r in range(throughput_rounds):
            chosen = take(per_round)
            for server in (bot, bare) if r % 2 == 0 else (bare, bot):
                started = time.monotonic()
                sent, waited = run(server, chosen, 32)
                last = max(s.at + w for s, w in zip(sent, waited, strict=True))
                elapsed[server.name] += last - started
                made[server.name] += len(chosen)
        warm = _bot_calls(get_json(counts_url))
        rate = {k: made[k] / elapsed[k] * 60 for k in made}
        report.add(
            "throughput",
            "approvals provisioned per minute (32 clients)",
            rate["bot"],
            "/min",
            baseline=rate["bare"],
            note=f"{throughput_rounds} rounds of {per_round} per server, interleaved; "
            "first click -> last credentials DM",
        )
        report.add(
            "aws",
            "IAM + STS calls per provisioning (warm, throughput rounds)",
            sum(warm.values()) / made["bot"],
            "calls",
            baseline=float(len(MINIMAL)),
            note=", ".join(f"{k} {v / made['bot']:g}" for k, v in sorted(warm.items())),
        )
    finally:
        bot.stop()
        bare.stop()


def _bot_calls(counts: dict[str, int]) -> dict[str, int]:
    """The bot's calls ("bot ..." and its new keys' STS check), as "service Action"."""
    out: dict[str, int] = {}
    for name, n in counts.items():
        who, service, action = name.split(" ", 2)
        if who in ("bot", "new-key"):
            key = f"{service} {action}" + (" (new key)" if who == "new-key" else "")
            out[key] = out.get(key, 0) + n
    return out
