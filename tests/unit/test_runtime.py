"""`run`'s shut-down order (bot/runtime.py): stop taking work, let work in flight finish,
then release, whatever start-up reached."""

from __future__ import annotations

from bot.runtime import BotProcess
from bot.web.router import Router


class Part:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def close(self) -> None:
        self.log.append(self.name)

    def shutdown(self, wait: bool) -> None:
        assert wait  # a running sweep finishes its request
        self.log.append(self.name)

    stop = close


def test_close_stops_intake_then_work_in_flight_then_resources() -> None:
    log: list[str] = []
    process = BotProcess(
        settings=None,  # type: ignore[arg-type]
        container=Part("container", log),  # type: ignore[arg-type]
        router=Router(),
        sandbox_aws=Part("sandbox aws", log),  # type: ignore[arg-type]
        runtime=Part("runtime", log),  # type: ignore[arg-type]
        socket_mode=Part("socket mode", log),  # type: ignore[arg-type]
        scheduler=Part("scheduler", log),  # type: ignore[arg-type]
    )
    process.close()
    assert log == ["socket mode", "scheduler", "runtime", "sandbox aws", "container"]


def test_close_after_a_partial_start_releases_what_was_built() -> None:
    log: list[str] = []
    process = BotProcess(None, Part("container", log), Router())  # type: ignore[arg-type]
    process.close()
    assert log == ["container"]
