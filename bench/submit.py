"""The request form's submission ack with many IAM users (moto, bench/moto_seeded.py).

Before its ack the bot makes a bounded name check (GetUser for the name as typed and in
lower case; here the names are lower case: one call), validates and stores the request;
the full check (paged ListUsers, reused for LISTING_TTL, bot/aws/directory.py) and the
announcement run after the ack. The bare app makes one GetUser and acks. Submissions
come from 8 clients (people filling in a form, not a flood), rounds interleaved, every
batch drained (the bot's backlog 0) before the next.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Report, percentile
from bench.latency import Stub
from bench.load import fire
from bench.moto_seeded import BARE_KEY, BOT_KEY
from bench.seed import reset_database
from bench.servers import SECRET, aws_env, start_bare, start_bot, wait_until
from tests.support import slack_payloads as payloads

CONCURRENCY = 8
ROUNDS = 4


def body(requester: str, name: str) -> str:
    return payloads.view_submission(
        requester,
        {"type": "modal", "callback_id": "request_form"},
        payloads.request_values("developer", name, console=True, programmatic=True),
    )


def measure(
    report: Report,
    facts: dict[str, float],
    workdir: Path,
    *,
    slack_api_url: str,
    moto_endpoint: str,
    iam_users: int,
    count: int,
) -> None:
    """`count` submissions per server (unique requesters and names)."""
    url = f"sqlite:///{workdir / 'submit.db'}"
    reset_database(url)
    stub = Stub(slack_api_url)
    bot = start_bot(workdir, url, slack_api_url, aws_env(moto_endpoint, BOT_KEY))
    bare = start_bare(workdir, slack_api_url, aws_env(moto_endpoint, BARE_KEY))
    acks: dict[str, list[float]] = {"bot": [], "bare": []}
    per_round = count // ROUNDS
    n = 0
    try:
        stub.reset()
        for server in (bot, bare):  # warm both: first-request imports are not ack time
            fire(
                server.events,
                SECRET,
                lambda i, who=server.name: body(f"U{900 + i:06d}", f"warm-{who}-{i}"),
                count=CONCURRENCY,
                concurrency=CONCURRENCY,
            )
            if not wait_until(lambda server=server: server.backlog() == 0, timeout=600):
                raise RuntimeError(f"{server.name} did not drain its warm-up")
        for r in range(ROUNDS):
            for server in (bot, bare) if r % 2 == 0 else (bare, bot):
                first = n
                n += per_round
                sent = fire(
                    server.events,
                    SECRET,
                    lambda i, first=first: body(f"U{first + i:06d}", f"newuser{first + i}"),
                    count=per_round,
                    concurrency=CONCURRENCY,
                )
                if failed := [s for s in sent if s.status != 200]:
                    raise RuntimeError(f"{len(failed)} submissions not answered 200")
                acks[server.name].extend(s.ack for s in sent)
                if not wait_until(lambda server=server: server.backlog() == 0, timeout=600):
                    raise RuntimeError(f"{server.name} did not drain its submissions")
    finally:
        bot.stop()
        bare.stop()
    note = (
        f"{len(acks['bot'])} submissions per server, {CONCURRENCY} clients, "
        f"{iam_users:,} IAM users in moto, drained, interleaved"
    )
    for q in (50, 99):
        report.add(
            "submit",
            f"form submission ack p{q} ({iam_users:,} IAM users)",
            percentile(acks["bot"], q) * 1000,
            "ms",
            baseline=percentile(acks["bare"], q) * 1000,
            note=note,
        )
    facts["submit_ack_p99"] = percentile(acks["bot"], 99) / percentile(acks["bare"], 99)
    facts["submit_ack_max_ms"] = max(acks["bot"]) * 1000
