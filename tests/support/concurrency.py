"""Contenders released at once on threads of their own, for the tests of races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def race(contenders: int, attempt: Callable[[int], T]) -> list[T]:
    """Run `attempt(i)` on `contenders` threads released at once; their results."""
    barrier = threading.Barrier(contenders)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            result = attempt(i)
            with lock:
                results.append(result)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], errors
    return results
