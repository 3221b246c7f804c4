"""Ack latency and memory: the real bot (`aws-access-bot run`) against the bare Bolt app,
both behind the same server stack and pointed at the same Web API stand-in.

Signed `/request-aws-access` commands and Approve clicks go to both servers from 32
concurrent keep-alive clients, in interleaved rounds (bot, bare, bare, bot, ...) so the
machine's noise lands on both. Approve clicks are by one owner on seeded `prod` requests,
which need two approvals: the click records an approval, writes the audit log and updates
the Slack message, but never provisions (the AWS side is measured in throughput.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.harness import Report, percentile
from bench.load import fire
from bench.seed import reset_database, seed_pending
from bench.servers import OWNERS, REQUESTER, SECRET, Server, start_bare, start_bot
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.db import make_engine
from bot.store.models import Approval
from tests.support import slack_payloads as payloads

CONCURRENCY = 32
ROUNDS = 4


@dataclass
class Samples:
    times: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, times: list[float], failures: int) -> None:
        self.times.setdefault(key, []).extend(times)
        self.failures[key] = self.failures.get(key, 0) + failures


def slash_body(_: int) -> str:
    return payloads.slash_command(REQUESTER, "prod need the logs")


def approve_bodies(ids: list[int]):  # noqa: ANN201
    return lambda i: payloads.block_action(OWNERS[0], APPROVE_ACTION, str(ids[i]))


def measure(
    report: Report,
    workdir: Path,
    *,
    label: str,
    database_url: str,
    slack_api_url: str,
    aws_env: Mapping[str, str],
    count: int,
    memory: bool,
) -> None:
    """`count` slash commands and `count` Approve clicks at each server."""
    reset_database(database_url)
    engine = make_engine(database_url)
    ids = seed_pending(engine, count, profile="prod", now=datetime.now(UTC))
    bot = start_bot(workdir, database_url, slack_api_url, aws_env)
    bare = start_bare(workdir, slack_api_url)
    samples = Samples()
    per_round = count // ROUNDS
    try:
        for server in (bot, bare):  # warm both: first-request imports are not ack time
            fire(server.events, SECRET, slash_body, count=CONCURRENCY, concurrency=CONCURRENCY)
        if memory:
            # What the libraries cost before any load: the part of the peak that is fixed.
            report.add(
                "memory",
                f"RSS after start-up and {CONCURRENCY} requests ({label})",
                bot.rss_mb(),
                "MB",
                baseline=bare.rss_mb(),
                note="VmRSS before the load: imports (SQLAlchemy, Alembic, boto3, ...)",
            )
        for r in range(ROUNDS):
            order = (bot, bare) if r % 2 == 0 else (bare, bot)
            chunk = ids[r * per_round : (r + 1) * per_round]
            for server in order:
                times, failed = fire(
                    server.events, SECRET, slash_body, count=per_round, concurrency=CONCURRENCY
                )
                samples.add(f"{server.name}:slash", times, failed)
            for server in order:
                times, failed = fire(
                    server.events,
                    SECRET,
                    approve_bodies(chunk),
                    count=len(chunk),
                    concurrency=CONCURRENCY,
                )
                samples.add(f"{server.name}:approve", times, failed)
        _wait_for_approvals(engine, per_round * ROUNDS)
        _report_latency(report, label, samples)
        if memory:
            handled = sum(len(v) for k, v in samples.times.items() if k.startswith("bot:"))
            report.add(
                "memory",
                f"peak RSS after {handled + CONCURRENCY:,} requests ({label})",
                bot.peak_rss_mb(),
                "MB",
                baseline=bare.peak_rss_mb(),
                note="VmHWM of the bot process vs the bare Bolt app, same requests",
            )
    finally:
        bot.stop()
        bare.stop()
        engine.dispose()


def _wait_for_approvals(engine, expected: int) -> None:  # noqa: ANN001
    """The clicks' work runs after the ack; check it really happened."""
    from bench.servers import wait_until

    def recorded() -> int:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Approval)) or 0

    if not wait_until(lambda: recorded() >= expected, timeout=120, interval=0.2):
        raise RuntimeError(f"only {recorded()} of {expected} approvals were recorded")


def _report_latency(report: Report, label: str, samples: Samples) -> None:
    for kind, title in (("slash", "slash command"), ("approve", "Approve click")):
        bot, bare = samples.times[f"bot:{kind}"], samples.times[f"bare:{kind}"]
        failed = samples.failures[f"bot:{kind}"] + samples.failures[f"bare:{kind}"]
        if failed:
            raise RuntimeError(f"{failed} {title} request(s) were not answered 200 ({label})")
        note = f"{len(bot)} requests each, {CONCURRENCY} concurrent clients"
        report.add(
            "ack",
            f"{title} median ({label})",
            statistics.median(bot) * 1000,
            "ms",
            baseline=statistics.median(bare) * 1000,
            note=note,
        )
        report.add(
            "ack",
            f"{title} p99 ({label})",
            percentile(bot, 99) * 1000,
            "ms",
            baseline=percentile(bare, 99) * 1000,
            note=note,
        )


__all__ = ["measure", "Server"]
