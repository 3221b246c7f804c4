"""`python -m bench.slack_stub`: the Web API stand-in (tests/support/slack_api.py) in its
own process; prints its base URL on the first line of stdout. It keeps no call log: a
benchmark sends tens of thousands of calls and only needs the answers."""

from __future__ import annotations

import signal
import sys
import threading

from tests.support.slack_api import SlackApiStub


class QuietStub(SlackApiStub):
    def _handle(self, request) -> None:  # noqa: ANN001
        super()._handle(request)
        with self._lock:
            self.calls.clear()


def main() -> None:
    stub = QuietStub()
    stub.add_user("U0ALICE", "alice@example.com")
    print(stub.start(), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stub.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
