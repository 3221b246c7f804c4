"""Slash-command ack time: 200 signed `/request-aws-access` commands at the real Bolt app
served by waitress (as `aws-access-bot run` serves it), Web API stand-in behind it.

    python bench/slash_ack.py [--requests 200] [--text "developer need logs"]

Prints median and p99 of the time until the HTTP response (the ack) arrived. The modal
(users.info + views.open) is opened after the ack, so it is not in these figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

from waitress.server import create_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.container import Container, build_iam_directory, build_services, build_web_client  # noqa: E402
from bot.domain.ports import SystemClock  # noqa: E402
from bot.settings import Settings, parse_config  # noqa: E402
from bot.slack.app import build_app, http_handler  # noqa: E402
from bot.store.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from bot.web.router import Router  # noqa: E402
from tests.slack.conftest import CONFIG, SECRET  # noqa: E402
from tests.support import slack_payloads as payloads  # noqa: E402
from tests.support.slack_api import SlackApiStub, post_signed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--text", default="developer need logs")
    args = parser.parse_args()

    api = SlackApiStub()
    api.start()
    api.add_user("U0ALICE", "alice@example.com")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        settings = Settings(
            database_url=url,
            slack_bot_token="xoxb-bench",  # noqa: S106
            slack_signing_secret=SECRET,
            slack_api_url=api.base_url,
            config=parse_config(tomllib.loads(CONFIG), "bench.toml"),
        )
        container = Container(settings, engine, make_sessionmaker(engine), SystemClock())
        client = build_web_client(settings)
        # The slash command never reaches IAM; a client that is never called is enough.
        import boto3

        iam = boto3.client("iam", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        services = build_services(container, client, build_iam_directory(iam))
        router = Router()
        router.mount("/slack/events", http_handler(build_app(settings, services, client)))
        server = create_server(router, host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        events = f"http://127.0.0.1:{server.effective_port}/slack/events"  # type: ignore[attr-defined]

        post_signed(events, payloads.slash_command("U0ALICE", args.text), SECRET)  # warm-up
        times = []
        for _ in range(args.requests):
            status, _, seconds = post_signed(
                events, payloads.slash_command("U0ALICE", args.text), SECRET
            )
            if status != 200:
                raise SystemExit(f"unexpected status {status}")
            times.append(seconds * 1000)
        if args.text.strip().lower() not in ("help", "status"):
            api.wait_for("views.open", args.requests + 1, timeout=60)  # the work did happen
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
        print(
            f"slash-command ack over {len(times)} signed requests: "
            f"median {statistics.median(times):.1f} ms, p99 {p99:.1f} ms, max {times[-1]:.1f} ms"
        )
        server.close()
        engine.dispose()
    api.stop()


if __name__ == "__main__":
    main()
