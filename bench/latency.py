"""What people wait for, and the acks: the real bot (`aws-access-bot run`, its own
process, HTTP mode) against the bare Bolt app (bench/bare_app.py, its own process), both
on the same server stack and pointed at the same Web API stand-in (its own process).

- slash command sent -> views.open received by the stand-in (the modal a user waits for;
  Slack's trigger_id expires after 3 s);
- Approve click sent -> chat.update received (the approval message updated);
- the HTTP response time of both (the ack).

Approve clicks are by one owner on seeded `prod` requests, which need two approvals: the
click records an approval, writes the audit log and updates the message, never AWS.
The bare app makes the same Slack calls right after its ack (users.info + views.open;
chat.update). Rounds are interleaved (bot, bare, then bare, bot, ...), and every batch
waits until the server it loaded has drained (every expected call received and the bot's
/healthz backlog 0) before the next one starts, so no server's leftovers land on the
other's measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Report, percentile
from bench.load import Sent, fire
from bench.seed import reset_database, seed_pending
from bench.servers import (
    OWNERS,
    REQUESTER,
    SECRET,
    Server,
    get_json,
    start_bare,
    start_bot,
    wait_until,
)
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.db import make_engine
from tests.support import slack_payloads as payloads
from tests.support.slack_api import form

CONCURRENCY = 32
ROUNDS = 4
LIMIT = 3.0  # Slack's: an ack, and a trigger_id's life
DEAD_AWS = {  # the requests measured here never reach AWS
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


class Stub:
    """The Web API stand-in's marks (bench/slack_stub.py)."""

    def __init__(self, api_url: str) -> None:
        self.root = api_url.split("/api/")[0]

    def reset(self) -> None:
        get_json(f"{self.root}/bench/reset", post=True)

    def marks(self) -> dict[str, float]:
        return get_json(f"{self.root}/bench/marks")["marks"]


@dataclass
class Samples:
    acks: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent per kind
    failures: int = 0

    def add(self, key: str, sent: list[Sent], outcome: list[float]) -> None:
        self.acks.setdefault(key, []).extend(s.ack for s in sent)
        self.outcomes.setdefault(key, []).extend(outcome)
        self.failures += sum(s.status != 200 for s in sent)


def slash_body(trigger: str) -> str:
    return form(
        token="legacy-token",
        team_id="T0TEAM",
        team_domain="test",
        channel_id="C0GEN",
        channel_name="general",
        user_id=REQUESTER,
        user_name=REQUESTER.lower(),
        command="/request-aws-access",
        text="prod need the logs",
        api_app_id="A0APP",
        response_url="https://hooks.slack.com/commands/T0TEAM/1/x",
        trigger_id=trigger,
    )


def approval_ts(seed_index: int) -> str:
    return f"{1700000000 + seed_index}.000100"  # bench/seed.py's seed_pending


def batch(
    server: Server,
    stub: Stub,
    bodies: Callable[[int], str],
    keys: list[str],
    *,
    concurrency: int,
    drain_timeout: float = 600,
) -> tuple[list[Sent], list[float]]:
    """Fire len(keys) requests, wait until every mark in `keys` arrived and the server's
    backlog is empty; (what was sent, seconds from each send to its mark)."""
    stub.reset()
    sent = fire(server.events, SECRET, bodies, count=len(keys), concurrency=concurrency)
    marks: dict[str, float] = {}

    def drained() -> bool:
        marks.update(stub.marks())
        return all(k in marks for k in keys) and server.backlog() == 0

    if not wait_until(drained, timeout=drain_timeout, interval=0.1):
        missing = sum(k not in marks for k in keys)
        raise RuntimeError(f"{server.name}: {missing} of {len(keys)} outcomes never arrived")
    return sent, [marks[keys[s.index]] - s.at for s in sent]


def measure(
    report: Report,
    facts: dict[str, float],
    workdir: Path,
    *,
    label: str,
    database_url: str,
    slack_api_url: str,
    count: int,
    at200: int,
    memory: bool,
) -> None:
    """`count` slash commands and `count` Approve clicks per server at 32 clients, then
    `at200` requests (half each) per server at 200 clients."""
    stub = Stub(slack_api_url)
    reset_database(database_url)
    engine = make_engine(database_url)
    half = at200 // 2
    ids = seed_pending(engine, count + half, profile="prod", now=datetime.now(UTC))
    engine.dispose()
    bot = start_bot(workdir, database_url, slack_api_url, DEAD_AWS)
    bare = start_bare(workdir, slack_api_url, DEAD_AWS)
    samples = Samples()
    per_round = count // ROUNDS
    try:
        for server in (bot, bare):  # warm both: first-request imports are not ack time
            keys = [f"open:warm-{server.name}-{i}" for i in range(CONCURRENCY)]
            batch(
                server,
                stub,
                lambda i, keys=keys: slash_body(keys[i][5:]),
                keys,
                concurrency=CONCURRENCY,
            )
        if memory:
            facts[f"rss:{label}"] = bot.rss_mb() / bare.rss_mb()
            report.add(
                "memory",
                f"RSS after start-up and {CONCURRENCY} requests ({label})",
                bot.rss_mb(),
                "MB",
                baseline=bare.rss_mb(),
                note="VmRSS; baseline = the floor: bare Bolt + boto3 IAM client + "
                "SQLAlchemy engine + started APScheduler",
            )
        for r in range(ROUNDS):
            order = (bot, bare) if r % 2 == 0 else (bare, bot)
            for server in order:
                keys = [f"open:{label}-{server.name}-{r}-{i}" for i in range(per_round)]
                sent, waited = batch(
                    server,
                    stub,
                    lambda i, keys=keys: slash_body(keys[i][5:]),
                    keys,
                    concurrency=CONCURRENCY,
                )
                samples.add(f"{server.name}:slash", sent, waited)
            chunk = list(enumerate(ids))[r * per_round : (r + 1) * per_round]
            for server in order:
                keys = [f"update:{approval_ts(i)}" for i, _ in chunk]
                cpu_before = server.cpu_seconds()
                sent, waited = batch(
                    server,
                    stub,
                    lambda i, chunk=chunk: payloads.block_action(
                        OWNERS[0],
                        APPROVE_ACTION,
                        str(chunk[i][1]),
                        message_ts=approval_ts(chunk[i][0]),
                    ),
                    keys,
                    concurrency=CONCURRENCY,
                )
                samples.add(f"{server.name}:approve", sent, waited)
                # Drained: every click's work is done, so this is all it cost.
                used = server.cpu_seconds() - cpu_before
                samples.cpu[server.name] = samples.cpu.get(server.name, 0.0) + used
        # 200 clients: half slash commands, half Approve clicks, interleaved.
        rest = list(enumerate(ids))[count:]
        for server in (bot, bare):
            keys = [f"open:{label}-200-{server.name}-{i}" for i in range(half)]
            sent, waited = batch(
                server, stub, lambda i, keys=keys: slash_body(keys[i][5:]), keys, concurrency=200
            )
            samples.add(f"{server.name}:200", sent, waited)
        for server in (bare, bot):
            keys = [f"update:{approval_ts(i)}" for i, _ in rest]
            sent, waited = batch(
                server,
                stub,
                lambda i: payloads.block_action(
                    OWNERS[0], APPROVE_ACTION, str(rest[i][1]), message_ts=approval_ts(rest[i][0])
                ),
                keys,
                concurrency=200,
            )
            samples.add(f"{server.name}:200", sent, waited)
        if samples.failures:
            raise RuntimeError(f"{samples.failures} request(s) were not answered 200 ({label})")
        _report(report, facts, label, samples)
        if memory:
            report.add(
                "memory",
                f"peak RSS after the load ({label})",
                bot.peak_rss_mb(),
                "MB",
                baseline=bare.peak_rss_mb(),
                note="VmHWM of the bot process vs the bare app, same requests",
            )
    finally:
        bot.stop()
        bare.stop()


def _report(report: Report, facts: dict[str, float], label: str, s: Samples) -> None:
    n = len(s.acks["bot:slash"])
    note = f"{n} per server, {CONCURRENCY} clients, drained, rounds interleaved"
    for kind, title in (("slash", "slash command"), ("approve", "Approve click")):
        bot, bare = s.acks[f"bot:{kind}"], s.acks[f"bare:{kind}"]
        for q in (50, 99):
            report.add(
                "ack",
                f"{title} ack p{q} ({label})",
                percentile(bot, q) * 1000,
                "ms",
                baseline=percentile(bare, q) * 1000,
                note=note,
            )
        facts[f"ack_p99:{kind}:{label}"] = percentile(bot, 99) / percentile(bare, 99)
    for kind, title, key in (
        ("slash", "slash command -> views.open", "slash_to_modal"),
        ("approve", "Approve click -> chat.update", "click_to_update"),
    ):
        bot, bare = s.outcomes[f"bot:{kind}"], s.outcomes[f"bare:{kind}"]
        for q in (50, 99):
            report.add(
                "wait",
                f"{title} p{q} ({label})",
                percentile(bot, q) * 1000,
                "ms",
                baseline=percentile(bare, q) * 1000,
                note=note,
            )
        over = sum(t > LIMIT for t in bot)
        report.add(
            "wait",
            f"{title} over 3 s ({label})",
            over,
            "of " + str(len(bot)),
            baseline=sum(t > LIMIT for t in bare),
            note="absolute counts, bot (value) and bare app (baseline)",
        )
        facts[f"{key}_p99:{label}"] = percentile(bot, 99) / percentile(bare, 99)
        facts[f"{key}_over:{label}"] = over
    clicks = len(s.acks["bot:approve"])
    report.add(
        "cpu",
        f"CPU per Approve click, ack to chat.update ({label})",
        s.cpu["bot"] / clicks * 1000,
        "ms",
        baseline=s.cpu["bare"] / clicks * 1000,
        note="user + system CPU of the server process over the drained click rounds / clicks",
    )
    bot, bare = s.acks["bot:200"], s.acks["bare:200"]
    over = sum(t > LIMIT for t in bot)
    report.add(
        "ack",
        f"acks over 3 s at 200 clients ({label})",
        over,
        "of " + str(len(bot)),
        baseline=sum(t > LIMIT for t in bare),
        note="half slash commands, half Approve clicks; absolute counts",
    )
    report.add(
        "ack",
        f"ack p99 at 200 clients ({label})",
        percentile(bot, 99) * 1000,
        "ms",
        baseline=percentile(bare, 99) * 1000,
    )
    facts[f"over200:{label}"] = over
