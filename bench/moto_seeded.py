"""`python -m bench.moto_seeded`: moto's server in its own process, with
BENCH_IAM_USERS IAM users already made (in-process, in seconds rather than the minutes
10,000 CreateUser calls over HTTP take), and every AWS call counted. Prints its URL on
the first line of stdout.

No signature checks (moto's default): the bench measures the bot, not moto's auth.
Calls are counted by caller, told apart by access key id: `bot` (BOT_KEY), `bare`
(BARE_KEY), `admin` (anything else the bench itself uses, ADMIN_KEY) and `new-key` (a key
the bot just created: its STS check). GET /bench/counts answers
{"<caller> <service> <Action>": n}; POST /bench/counts/reset clears them.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import urllib.parse

BOT_KEY = "AKIABENCHBOT0000000"
BARE_KEY = "AKIABENCHBARE000000"
ADMIN_KEY = "AKIABENCHADMIN00000"
ACCOUNT = "123456789012"
CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")


class Counting:
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        path = environ.get("PATH_INFO", "")
        if path.startswith("/bench/counts"):
            with self.lock:
                if path.endswith("/reset"):
                    self.counts = {}
                body = json.dumps(self.counts).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        params = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if found and (action := params.get("Action")):
            key, service = found.groups()
            who = {BOT_KEY: "bot", BARE_KEY: "bare", ADMIN_KEY: "admin"}.get(key, "new-key")
            name = f"{who} {service} {action}"
            with self.lock:
                self.counts[name] = self.counts.get(name, 0) + 1
        return self.app(environ, start_response)


def main() -> None:
    from moto.iam.models import iam_backends
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    backend = iam_backends[ACCOUNT]["global"]
    for i in range(int(os.environ.get("BENCH_IAM_USERS") or 0)):
        backend.create_user("us-east-1", f"seed-user-{i:05d}", path="/seed/")
    app = Counting(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, True, request_handler=MotoRequestHandler)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
