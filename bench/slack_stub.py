"""`python -m bench.slack_stub`: the Web API stand-in (tests/support/slack_api.py) in its
own process; prints its base URL on the first line of stdout.

It keeps no call log (a benchmark sends tens of thousands of calls), only *marks*: when
(time.monotonic(), which on Linux is one clock for every process) each call a figure
waits for arrived, keyed so the load generator can match it to the request it sent:

- `views.open` by its trigger_id (slash command -> modal opened),
- `chat.update` by the message ts (Approve click -> approval message updated),
- `cred:<request id>`: the DM of a credentials link (Approve -> credentials DM),
- `count:<method>`: how many calls of each method.

GET /bench/marks answers them as JSON; POST /bench/reset forgets them.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from typing import Any

from tests.support.slack_api import SlackApiStub

CREDENTIALS_DM = re.compile(r"credentials for request #(\d+) are ready")


class MarkingStub(SlackApiStub):
    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def _handle(self, request) -> None:  # noqa: ANN001
        arrived = time.monotonic()
        if request.path.startswith("/bench/"):
            self._bench(request)
            return
        super()._handle(request)
        with self._lock:
            calls, self.calls = self.calls, []
            for call in calls:
                self._mark(call.method, call.params, arrived)

    def _mark(self, method: str, params: dict[str, Any], arrived: float) -> None:
        self.counts[method] = self.counts.get(method, 0) + 1
        if method == "views.open":
            self.marks.setdefault(f"open:{params.get('trigger_id')}", arrived)
        elif method == "chat.update":
            self.marks.setdefault(f"update:{params.get('ts')}", arrived)
        elif method == "chat.postMessage" and (
            found := CREDENTIALS_DM.search(str(params.get("text") or ""))
        ):
            self.marks.setdefault(f"cred:{found.group(1)}", arrived)

    def _bench(self, request) -> None:  # noqa: ANN001
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        with self._lock:
            if request.path.startswith("/bench/reset"):
                self.marks, self.counts = {}, {}
            body = json.dumps({"marks": self.marks, "counts": self.counts}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def main() -> None:
    stub = MarkingStub()
    stub.add_user("U0ALICE", "alice@example.com")
    for i in range(1000):  # the requesters of seeded and submitted requests
        stub.add_user(f"U{i:06d}", f"user{i}@example.com")
    print(stub.start(), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stub.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
