"""A tiny WSGI router: the bot serves four routes and needs no web framework."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        headers += list(self.headers.items())
        start_response(f"{self.status} {_REASONS.get(self.status, 'Unknown')}", headers)
        return [self.body]


Handler = Callable[..., WsgiApp]


class Router:
    """Routes (method, path regex) to a handler(environ, **groups) returning a WSGI app."""

    def __init__(self) -> None:
        self._routes: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []

    def add(self, methods: Iterable[str], pattern: str, handler: Handler) -> None:
        self._routes.append((frozenset(methods), re.compile(f"^{pattern}$"), handler))

    def mount(self, path: str, app: WsgiApp, methods: Iterable[str] = ("POST",)) -> None:
        """Hand a path to another WSGI app as-is (Bolt's request handler)."""
        self.add(methods, re.escape(path), lambda environ: app)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        allowed: set[str] = set()
        for methods, pattern, handler in self._routes:
            match = pattern.match(path)
            if not match:
                continue
            if method not in methods and not (method == "HEAD" and "GET" in methods):
                allowed |= methods
                continue
            return handler(environ, **match.groupdict())(environ, start_response)
        if allowed:
            return Response(
                405, b"method not allowed\n", headers={"Allow": ", ".join(sorted(allowed))}
            )(environ, start_response)
        return Response(404, b"not found\n")(environ, start_response)
