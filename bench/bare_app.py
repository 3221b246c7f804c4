"""The baseline: a bare Bolt app whose handlers only ack(), on the bot's own server stack
(bot.web.router + waitress via bot.web.server.serve), so a ratio isolates the bot's work.

Run: python -m bench.bare_app  (PORT, SLACK_SIGNING_SECRET, SLACK_API_URL from the env)
"""

from __future__ import annotations

import os
import re

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bench.servers import BOT_TOKEN
from bot.web.router import Response, Router
from bot.web.server import serve


def build_bare_app(signing_secret: str, api_url: str) -> App:
    client = WebClient(token=BOT_TOKEN, base_url=api_url)
    app = App(client=client, signing_secret=signing_secret, token_verification_enabled=False)

    @app.command(re.compile(".*"))
    def on_command(ack):  # noqa: ANN001
        ack()

    @app.action(re.compile(".*"))
    def on_action(ack):  # noqa: ANN001
        ack()

    @app.view(re.compile(".*"))
    def on_view(ack):  # noqa: ANN001
        ack()

    return app


def main() -> None:
    env = os.environ
    app = build_bare_app(env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"])
    router = Router()
    router.add(["GET"], "/healthz", lambda environ: Response(200, b'{"status": "ok"}'))
    router.mount("/slack/events", SlackRequestHandler(app))
    serve(router, "127.0.0.1", int(env["PORT"]))


if __name__ == "__main__":
    main()
