"""The bot's processes, assembled: `run` (serve_bot), `remind --now` (sweep_once) and the
database commands. bot/cli.py parses arguments and loads settings, then hands off here;
bot/container.py wires the objects. Start-up order and shut-down order live here, once.

Slack, web and scheduler modules never import this module or the container: they are
handed what they need (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from bot.container import Container, Runtime, build_container, build_runtime
from bot.domain.states import Status
from bot.settings import Settings
from bot.store import db

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.sandbox import SandboxAws
    from bot.scheduler import SweepOutcome
    from bot.web.router import Router

log = logging.getLogger("bot")

NOT_MIGRATED = "the database is not migrated: run `aws-access-bot db upgrade`"


class StartupError(Exception):
    """A process cannot start; its message is what the CLI prints (exit status 1)."""


@contextmanager
def opened(settings: Settings) -> Iterator[Container]:
    """The container for one command; its engine is disposed of on the way out."""
    container = build_container(settings)
    try:
        yield container
    finally:
        container.close()


def require_migrated(container: Container) -> None:
    """`requests` and `remind --now` never migrate: only `run` and `db upgrade` do."""
    if db.pending_migrations(container.engine):
        raise StartupError(NOT_MIGRATED)


def database_ping(container: Container) -> Callable[[], None]:
    """What /healthz asks: raises unless the database answers."""

    def ping() -> None:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return ping


# --- one-shot commands ----------------------------------------------------------------


def upgrade_database(settings: Settings) -> None:
    with opened(settings) as container:
        db.upgrade(container.engine)


def requests_table(settings: Settings, *, status: Status | None, limit: int | None) -> str:
    from bot.services.listing import list_requests, render_table

    with opened(settings) as container:
        require_migrated(container)
        stores = container.stores
        rows = list_requests(
            stores.requests, status=status, limit=limit, deliveries=stores.deliveries
        )
        return render_table(rows, container.clock.now())


def sweep_once(settings: Settings) -> list[SweepOutcome]:
    """Flow 5 from cron: every sweep once, in order (bot.scheduler.lifecycle_jobs)."""
    from bot.scheduler import run_sweeps_once

    with opened(settings) as container:
        require_migrated(container)
        runtime = build_runtime(container)
        try:
            return run_sweeps_once(runtime.jobs, container.clock)
        finally:
            runtime.close()


# --- `run` ------------------------------------------------------------------------


def sandbox_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment `run --sandbox` loads its settings from."""
    from bot.sandbox import INSTALL_HINT, SANDBOX_DATABASE_URL, sandbox_available

    if not sandbox_available():
        raise StartupError(INSTALL_HINT)
    # Sandbox requests never mix with the real bot's (an approval there is real).
    return {**env, "DATABASE_URL": env.get("DATABASE_URL") or SANDBOX_DATABASE_URL}


@dataclass
class BotProcess:
    """Everything `run` starts; `close` takes it down in order whatever was reached."""

    settings: Settings
    container: Container
    router: Router
    sandbox_aws: SandboxAws | None = None
    runtime: Runtime | None = None
    socket_mode: SocketModeHandler | None = None
    scheduler: BackgroundScheduler | None = None

    def close(self) -> None:
        # Stop taking new work, let the work in flight finish, then release.
        if self.socket_mode is not None:
            self.socket_mode.close()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)  # lets a running sweep finish its request
        if self.runtime is not None:
            self.runtime.close()
        if self.sandbox_aws is not None:
            self.sandbox_aws.stop()
        self.container.close()


def start_bot(settings: Settings, *, sandbox: bool, scheduler_enabled: bool) -> BotProcess:
    """Migrate, then build and start everything `run` serves; nothing listens on HTTP yet.

    Raises StartupError (Socket Mode refused); whatever was started is closed first.
    """
    from bot.web.router import Router

    process = BotProcess(settings, build_container(settings), Router())
    try:
        _start(process, sandbox=sandbox, scheduler_enabled=scheduler_enabled)
    except BaseException:
        process.close()
        raise
    return process


def _start(process: BotProcess, *, sandbox: bool, scheduler_enabled: bool) -> None:
    from bot.scheduler import build_scheduler
    from bot.slack.app import SocketModeRefused, build_app, http_handler, start_socket_mode

    settings, container = process.settings, process.container
    if not db.at_head(container.engine):  # plain SQL: Alembic is imported only to migrate
        db.upgrade(container.engine)
    process.runtime = runtime = _build_runtime(process, sandbox=sandbox)
    slack_app = build_app(
        settings, runtime.services, runtime.client, after_ack=runtime.after_ack, sandbox=sandbox
    )
    mount_web_routes(process.router, container, runtime)
    if settings.socket_mode:
        # Events arrive over the socket; nothing unsigned is accepted over HTTP.
        try:
            process.socket_mode = start_socket_mode(slack_app, settings.slack_app_token or "")
        except SocketModeRefused as exc:
            raise StartupError(str(exc)) from None
    else:
        # Signature checked before Bolt parses the body (bot/web/slack_events.py).
        process.router.mount(
            "/slack/events", http_handler(slack_app, settings.slack_signing_secret)
        )
    if scheduler_enabled:
        process.scheduler = scheduler = build_scheduler(runtime.jobs, container.clock)
        scheduler.start()
        log.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))


def _build_runtime(process: BotProcess, *, sandbox: bool) -> Runtime:
    if not sandbox:
        return build_runtime(process.container)
    from bot.sandbox import start_sandbox_aws

    process.sandbox_aws = start_sandbox_aws(process.settings.bot)
    return build_runtime(process.container, aws_session=process.sandbox_aws.session, sandbox=True)


def mount_web_routes(router: Router, container: Container, runtime: Runtime) -> None:
    """/healthz and the credential pages (flow 4). /slack/events is mounted by the caller
    in HTTP mode only."""
    from bot.web.credentials import credential_routes
    from bot.web.health import health_handler

    def backlog() -> int:  # work handed off after an ack, not finished yet
        return runtime.after_ack.backlog() + runtime.worker.backlog()

    router.add(["GET"], "/healthz", health_handler(database_ping(container), backlog))
    credential_routes(router, runtime.services.credential_links, container.clock)


def serve_bot(settings: Settings, *, sandbox: bool, scheduler_enabled: bool) -> None:
    """`aws-access-bot run`: start everything, serve HTTP until SIGTERM/SIGINT, stop."""
    from bot.web.server import serve

    process = start_bot(settings, sandbox=sandbox, scheduler_enabled=scheduler_enabled)
    try:
        # Everything built so far lives as long as the process: keep it out of the
        # cyclic GC's way so full collections under load stay short.
        gc.collect()
        gc.freeze()
        serve(process.router, settings.host, settings.port, trusted_proxy=settings.trusted_proxy)
    finally:
        process.close()
