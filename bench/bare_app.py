"""The baseline: a bare Bolt app on the bot's own server stack (bot.web.router + waitress
via bot.web.server.serve) that makes the same outside calls as the bot, right after its
ack, and nothing else, so a ratio isolates the bot's own work.

- slash command: ack, then users.info and views.open (the bot's form does the same two);
- Approve click (BARE_MODE=approve): ack, then chat.update of the clicked message;
- Approve click (BARE_MODE=provision): ack, then the minimal IAM calls of flow 3
  (CreateUser, CreateLoginProfile, AddUserToGroup, CreateAccessKey) and the credentials
  DM (conversations.open once per user, chat.postMessage);
- form submission: one GetUser for the name (the least a form must ask before its ack
  to show "taken" inline), then ack.

It also holds what the bot cannot run without, so its resident memory is the floor the
bot is measured against: boto3 with an IAM client, SQLAlchemy with an engine (connected),
a started APScheduler.

Run: python -m bench.bare_app  (PORT, SLACK_SIGNING_SECRET, SLACK_API_URL, BARE_MODE,
BARE_IAM_PREFIX, AWS_* from the env)
"""

from __future__ import annotations

import contextlib
import os
import re
import threading

import boto3
from apscheduler.schedulers.background import BackgroundScheduler
from botocore.exceptions import ClientError
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from sqlalchemy import create_engine, text

from bench.servers import BOT_TOKEN
from bot.web.router import Response, Router
from bot.web.server import serve

MODAL = {
    "type": "modal",
    "callback_id": "request_form",
    "title": {"type": "plain_text", "text": "Request AWS access"},
    "blocks": [],
}


def build_bare_app(signing_secret: str, api_url: str, iam, mode: str, prefix: str) -> App:  # noqa: ANN001
    client = WebClient(token=BOT_TOKEN, base_url=api_url)
    app = App(client=client, signing_secret=signing_secret, token_verification_enabled=False)
    dm_channels: dict[str, str] = {}
    lock = threading.Lock()

    @app.command(re.compile(".*"))
    def on_command(ack, body):  # noqa: ANN001
        ack()
        client.users_info(user=body["user_id"])
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.action(re.compile(".*"))
    def on_action(ack, body):  # noqa: ANN001
        ack()
        if mode == "provision":
            provision(body["actions"][0]["value"], body["user"]["id"])
        else:
            container = body.get("container") or {}
            client.chat_update(
                channel=container.get("channel_id"),
                ts=container.get("message_ts"),
                text="updated",
                blocks=[],
            )

    def provision(request_id: str, requester: str) -> None:
        name = f"{prefix}-{request_id}"
        iam.create_user(UserName=name, Path="/bench/")
        iam.create_login_profile(
            UserName=name,
            Password="Bench-Pa55word!",  # noqa: S106 - a bench value
            PasswordResetRequired=True,
        )
        iam.add_user_to_group(UserName=name, GroupName="bench-developers")
        iam.create_access_key(UserName=name)
        with lock:
            channel = dm_channels.get(requester)
        if channel is None:
            channel = client.conversations_open(users=requester)["channel"]["id"]
            with lock:
                dm_channels[requester] = channel
        client.chat_postMessage(
            channel=channel,
            text=f"Your AWS credentials for request #{request_id} are ready (one-time link)",
        )

    @app.view(re.compile(".*"))
    def on_view(ack, body):  # noqa: ANN001
        values = body["view"]["state"]["values"]
        name = values["iam_user_name"]["iam_user_name"]["value"]
        with contextlib.suppress(ClientError):
            iam.get_user(UserName=name)
        ack()

    return app


def main() -> None:
    env = os.environ
    session = boto3.Session()
    iam = session.client("iam")
    engine = create_engine(env.get("BARE_DATABASE_URL", "sqlite://"))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(lambda: None, "interval", minutes=5, id="noop")
    scheduler.start()
    app = build_bare_app(
        env["SLACK_SIGNING_SECRET"],
        env["SLACK_API_URL"],
        iam,
        env.get("BARE_MODE", "approve"),
        env.get("BARE_IAM_PREFIX", "bare"),
    )
    router = Router()
    router.add(["GET"], "/healthz", lambda environ: Response(200, b'{"status": "ok"}'))
    router.mount("/slack/events", SlackRequestHandler(app))
    try:
        serve(router, "127.0.0.1", int(env["PORT"]))
    finally:
        scheduler.shutdown(wait=False)


if __name__ == "__main__":
    main()
