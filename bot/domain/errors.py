"""Errors the domain and services raise; messages are safe to show to people."""


class DomainError(Exception):
    """Base for rule violations that are the caller's to handle."""


class InvalidTransition(DomainError):
    def __init__(self, current: str, new: str) -> None:
        super().__init__(f"a request cannot go from {current} to {new}")
        self.current = current
        self.new = new


class RequestNotFound(DomainError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"request #{request_id} does not exist")
        self.request_id = request_id


class ProvisioningError(DomainError):
    """An AWS step failed. `code`/`message` are AWS's (never contain secrets);
    `permanent` errors need an owner (Retry / Roll back), transient ones are retried."""

    def __init__(self, code: str, message: str, *, permanent: bool, step: str = "") -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.permanent = permanent
        self.step = step
