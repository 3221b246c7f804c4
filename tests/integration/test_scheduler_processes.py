"""The scheduler inside real `aws-access-bot` processes: replicas, restarts, `remind --now`.

Durations are tiny (every=1s) so several reminder periods pass in a few seconds; the
processes share one database and one Slack Web API stand-in, and the requests are
seeded through the store's own operations as the Slack flow would have left them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.reminders import period_grace
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import AccessRequest, AuditEvent
from tests.support.configs import DEVELOPER, config_toml
from tests.support.databases import database_url
from tests.support.lifecycle import approval_ts, seed_request
from tests.support.polling import wait_until
from tests.support.processes import BotProcess, run_cli, run_env
from tests.support.slack_api import SlackApiStub

EVERY = timedelta(seconds=1)
GRACE = period_grace(EVERY)


def write_config(tmp_path: Path, expire_after: str = "1h", every: str = "1s") -> Path:
    """Two owners, no [aws], the developer profile; reminders every `every`, due after 1s."""
    path = tmp_path / "fast.toml"
    reminders = {"every": every, "remind_after": "1s", "expire_after": expire_after}
    path.write_text(config_toml(DEVELOPER, aws=None, reminders=reminders))
    return path


def bot_env(config: Path, db_url: str, slack_stub: SlackApiStub) -> dict[str, str]:
    return run_env(
        config,
        db_url,
        slack_api_url=slack_stub.base_url,
        bot_token="xoxb-scheduler-test",
        signing_secret="signing-secret",
    )


# `run` without --no-scheduler: every bot process below runs the scheduler.
RUN = ["run"]


def reminder_counts(sessions) -> dict[int, int]:  # noqa: ANN001
    with sessions() as session:
        rows = session.execute(
            select(AccessRequest.id, AccessRequest.reminder_count).order_by(AccessRequest.id)
        )
        return dict(rows.all())


def claims(sessions, kind: str) -> dict[int | None, list[datetime]]:  # noqa: ANN001
    found: dict[int | None, list[datetime]] = defaultdict(list)
    with sessions() as session:
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.created_at)
        ):
            found[event.request_id].append(event.created_at)
    return found


def thread_replies(slack_stub: SlackApiStub) -> dict[str, int]:
    replies: dict[str, int] = defaultdict(int)
    for call in slack_stub.calls_to("chat.postMessage"):
        if call.get("thread_ts"):
            replies[call["thread_ts"]] += 1
    return replies


def summaries(slack_stub: SlackApiStub) -> list[dict]:
    return [
        call
        for call in slack_stub.calls_to("chat.postMessage")
        if not call.get("thread_ts") and "waiting for a decision" in call["text"]
    ]


def assert_spaced(times: list[datetime], what: str) -> None:
    for earlier, later in zip(times, times[1:], strict=False):
        assert later - earlier >= EVERY - GRACE, f"{what}: {earlier} -> {later}"


def assert_exactly_once(sessions, slack_stub: SlackApiStub) -> dict[int, int]:  # noqa: ANN001
    """Per request: Slack got as many reminders as the database recorded claims, each
    claim at least a period after the previous one; the same for the channel summary."""
    counts = reminder_counts(sessions)
    reminded = claims(sessions, "reminded")
    replies = thread_replies(slack_stub)
    for request_id, count in counts.items():
        assert replies.get(approval_ts(request_id), 0) == count == len(reminded[request_id]), (
            request_id,
            replies,
            counts,
        )
        assert_spaced(reminded[request_id], f"request #{request_id}")
    posted = claims(sessions, "pending_summary")[None]
    assert len(summaries(slack_stub)) == len(posted)
    assert_spaced(posted, "summary")
    return counts


@pytest.mark.postgres
def test_two_replicas_post_each_due_reminder_exactly_once(tmp_path: Path, slack_stub) -> None:  # noqa: ANN001
    url = database_url("postgresql", tmp_path)
    engine = make_engine(url)
    upgrade(engine)  # before the replicas start, so they do not race to create tables
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    ids = [
        seed_request(sessions, created_at=now - timedelta(seconds=10 + i), iam_user_name=f"u{i}")
        for i in range(4)
    ]
    ids.append(seed_request(sessions, created_at=now, iam_user_name="fresh"))

    env = bot_env(write_config(tmp_path), url, slack_stub)
    bots = [
        BotProcess(RUN, env, tmp_path, "replica-a"),
        BotProcess(RUN, env, tmp_path, "replica-b"),
    ]
    try:
        for bot in bots:
            bot.wait_ready()
        # Several periods: every request, the fresh one included, reminded 4+ times.
        wait_until(lambda: min(reminder_counts(sessions).values()) >= 4, 20, "four reminders each")
        assert [bot.stop() for bot in bots] == [0, 0]
    finally:
        for bot in bots:
            bot.kill()

    counts = assert_exactly_once(sessions, slack_stub)
    assert set(counts) == set(ids) and min(counts.values()) >= 4
    assert len(summaries(slack_stub)) >= 3
    # From the fourth reminder on, the owners are DMed too.
    assert {c["users"] for c in slack_stub.calls_to("conversations.open")} == {
        "U0OWNER1",
        "U0OWNER2",
    }
    for bot in bots:
        log = bot.text()
        assert "scheduler started" in log and "Traceback" not in log
        assert "xoxb-scheduler-test" not in log
    engine.dispose()


def test_restart_resumes_reminders_and_loses_nothing(tmp_path: Path, db_url, slack_stub) -> None:  # noqa: ANN001
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    first = [
        seed_request(sessions, created_at=now - timedelta(seconds=30), iam_user_name=f"u{i}")
        for i in range(2)
    ]
    env = bot_env(write_config(tmp_path), db_url, slack_stub)

    bot = BotProcess(RUN, env, tmp_path, "before")
    try:
        bot.wait_ready()
        wait_until(lambda: min(reminder_counts(sessions).values()) >= 2, 15, "two reminders")
        assert bot.stop() == 0
    finally:
        bot.kill()
    assert "server stopped" in bot.text()
    before = reminder_counts(sessions)

    # While the bot is down a request arrives and more than a period passes.
    late = seed_request(sessions, created_at=datetime.now(UTC), iam_user_name="late")
    time.sleep(1.5)
    assert reminder_counts(sessions) == {**before, late: 0}  # nothing runs while stopped

    bot = BotProcess(RUN, env, tmp_path, "after")
    try:
        bot.wait_ready()
        wait_until(
            lambda: (
                all(reminder_counts(sessions)[i] >= before[i] + 2 for i in first)
                and reminder_counts(sessions)[late] >= 2
            ),
            15,
            "reminders to resume",
        )
        assert bot.stop() == 0
    finally:
        bot.kill()

    counts = assert_exactly_once(sessions, slack_stub)
    assert set(counts) == {*first, late}
    with sessions() as session:
        statuses = session.scalars(select(AccessRequest.status)).all()
    assert statuses == ["pending"] * 3
    engine.dispose()


def test_remind_now_runs_each_sweep_once(tmp_path: Path, slack_stub) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'cron.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    due = seed_request(sessions, created_at=now - timedelta(minutes=5), requester_id="U0BOB")
    stale = seed_request(
        sessions, created_at=now - timedelta(hours=2), requester_id="U0ALICE", iam_user_name="old"
    )
    # A period far longer than the test: the second run must find nothing due however
    # slowly the machine starts the second process.
    env = bot_env(write_config(tmp_path, expire_after="1h", every="1h"), url, slack_stub)

    result = run_cli(["remind", "--now"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "expire: ok",
        "remind: ok",
        "recover-provisioning: ok",
        "purge-credentials: ok",
        "access-reviews: ok",
        "rotate-keys: ok",
        "time-bound-access: ok",
        "deactivation-reconcile: ok",
        "deliver: ok",
    ]
    assert thread_replies(slack_stub) == {approval_ts(due): 1}
    updates = slack_stub.calls_to("chat.update")
    [closed] = [u for u in updates if u["ts"] == approval_ts(stale)]
    assert "expired" in closed["text"]
    # The reminded request's message is re-rendered once (its age).
    assert [u["ts"] for u in updates if u["ts"] != approval_ts(stale)] == [approval_ts(due)]
    assert [c["users"] for c in slack_stub.calls_to("conversations.open")] == ["U0ALICE"]
    assert len(summaries(slack_stub)) == 1

    # Straight away again (cron overlap): nothing is due, nothing is sent twice.
    assert run_cli(["remind", "--now"], env, cwd=tmp_path).returncode == 0
    assert thread_replies(slack_stub) == {approval_ts(due): 1}
    assert len(slack_stub.calls_to("chat.update")) == 2 and len(summaries(slack_stub)) == 1
    assert "xoxb-scheduler-test" not in result.stderr
    engine.dispose()


def test_remind_now_without_a_bot_token_names_the_setting(tmp_path: Path, slack_stub) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'cron.db'}"
    upgrade(make_engine(url))
    env = bot_env(write_config(tmp_path), url, slack_stub)
    del env["SLACK_BOT_TOKEN"]
    result = run_cli(["remind", "--now"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("SLACK_BOT_TOKEN is not set")
    assert slack_stub.calls == []
