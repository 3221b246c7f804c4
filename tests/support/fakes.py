"""Small fakes that implement the ports for real (no MagicMock): they record what the
services hand them so tests can assert on it. The recording Notifier is
tests/support/notifier.py."""

from __future__ import annotations

import threading
from typing import Any

from bot.domain.credentials import Credentials
from bot.domain.requests import RequestView

CONSOLE_URL = "https://123456789012.signin.aws.amazon.com/console"


class ScriptedProvisioner:
    """A Provisioner whose outcomes are scripted per call: an exception is raised,
    Credentials are returned, None (or an empty script) means fresh credentials.

    `release` gates every call (set by default) so a test can hold a worker inside
    "AWS"; `entered` is set when a call arrives."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []
        self.requests: list[RequestView] = []  # what each call was handed
        self.issued: list[Credentials] = []  # every credential it handed back
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def _next(self, what: str, request: RequestView) -> Any:
        with self._lock:
            self.calls.append((what, request.id))
            self.requests.append(request)
            outcome = self.outcomes.pop(0) if self.outcomes else None
            n = len(self.calls)
        self.entered.set()
        self.release.wait(10)
        if isinstance(outcome, BaseException):
            raise outcome
        if what == "roll_back":
            return None
        credentials = outcome or Credentials(
            request.iam_user_name,
            CONSOLE_URL,
            password=f"pw-{n}-{request.iam_user_name}",  # noqa: S106 - fake
            access_key_id=f"AKIAFAKE{n:012d}",
            secret_access_key=f"secret-{n}-{request.iam_user_name}",  # noqa: S106 - fake
        )
        with self._lock:
            self.issued.append(credentials)
        return credentials

    def provision(self, request: RequestView) -> Credentials:
        return self._next("provision", request)

    def rotate_credentials(self, request: RequestView) -> Credentials:
        return self._next("rotate", request)

    def roll_back(self, request: RequestView) -> None:
        self._next("roll_back", request)

    def kinds(self) -> list[str]:
        return [what for what, _ in self.calls]


class FailingFinish:
    """A provisioning store whose `finish_provisioning` raises (the link could not be
    stored: database down mid-way); everything else is the real store's."""

    def __init__(self, store: Any, error: Exception | None = None) -> None:
        self._store = store
        self._error = error or RuntimeError("database went away")
        self.attempts = 0

    def finish_provisioning(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class NoNamesTaken:
    """An IamDirectory in which every name is free."""

    def name_taken(self, user_name: str, requester_id: str, account: str = "") -> bool:
        return False

    def name_taken_quick(self, user_name: str, requester_id: str, account: str = "") -> bool:
        return False
