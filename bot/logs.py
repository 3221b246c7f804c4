"""Logging set-up, done once by the CLI: one line per event, secrets masked.

Every record that reaches the root handler -- ours and every library's (slack_sdk,
botocore, urllib3, waitress at DEBUG log request and response bodies) -- passes the
`Redactor` filter first, which masks secrets in the message, its %-args, `extra=` fields,
exception tracebacks and stack info. Redaction happens in the handler, not at call
sites, so a forgotten secret in a log call is still caught.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

MASK = "***"

# Fields the bot attaches with `extra=` for request tracing; shown first in text lines.
CONTEXT_FIELDS = ("request_id", "slack_user", "action")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}

# Keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(r"passw(or)?d|secret|token|authorization|private[_-]?key", re.I)

_SLACK_TOKEN = re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+")
# An AWS secret access key: exactly 40 base64 characters standing alone. (Access key
# ids, AKIA/ASIA + 16, are identifiers, not secrets, and are kept for tracing.)
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")
# /credentials/<id>#<key> -- the key is the whole secret; also url-encoded.
_LINK_KEY = re.compile(r"((?:/|%2F)credentials(?:/|%2F)[\w-]+(?:#|%23))[A-Za-z0-9_\-+/=%]+", re.I)
# password=..., "Password": "...", 'password': '...', Password=... in a query string.
_PASSWORD_FIELD = re.compile(
    r"""(?P<key>[\w-]*passw(?:or)?d[\w-]*)(?P<sep>\\?["']?\s*[:=]\s*)"""
    r"""(?P<value>\\?"(?:[^"\\]|\\.)*\\?"|'(?:[^'\\]|\\.)*'|[^\s,&}<\]]+)""",
    re.I,
)


def redact(text: str) -> str:
    """Mask everything in `text` that looks like a secret."""
    text = _SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-{MASK}", text)
    text = _LINK_KEY.sub(lambda m: m.group(1) + MASK, text)
    text = _PASSWORD_FIELD.sub(_mask_password, text)
    return _AWS_SECRET.sub(MASK, text)


def _mask_password(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.lower() in ("true", "false", "none", "null"):  # PasswordResetRequired=true
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{MASK}"


def redact_value(value: Any, key: str = "") -> Any:
    """Redact a structured value (an `extra=` field): secret-named keys are masked whole."""
    if key and _SECRET_KEY.search(key) and value not in (None, "", True, False):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return redact(str(value))


class Redactor(logging.Filter):
    """Handler filter: rewrites the record in place so no formatter sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call must not lose the event or leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name in extra_fields(record):
            setattr(record, name, redact_value(getattr(record, name), name))
        return True


def extra_fields(record: logging.LogRecord) -> list[str]:
    return [name for name in vars(record) if name not in _STANDARD_ATTRS]


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """`2026-11-28T09:00:00.000Z INFO bot.x: message request_id=… slack_user=…`"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        names = extra_fields(record)
        ordered = [n for n in CONTEXT_FIELDS if n in names] + sorted(
            n for n in names if n not in CONTEXT_FIELDS
        )
        for name in ordered:
            line += f" {name}={getattr(record, name)}"
        if record.exc_text:
            line += f" exc={record.exc_text}"
        if record.stack_info:
            line += f" stack={record.stack_info}"
        return _one_line(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then any context fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in extra_fields(record):
            event.setdefault(name, getattr(record, name))
        if record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(event, default=str, ensure_ascii=False)


# Libraries' INFO lines that are bookkeeping, not news: shown at DEBUG only.
_BOOKKEEPING = ("apscheduler", "alembic.runtime.plugins")


class SchedulerBookkeeping(logging.Filter):
    """APScheduler logs "Running job ..." / "... executed successfully" / "Added job"
    at INFO for every run, and Alembic one "setup plugin ..." line per plugin before a
    migration: bookkeeping, shown at DEBUG only (the bot logs one INFO line per sweep
    that did something: bot.scheduler.run_job; Alembic's "Running upgrade" lines stay)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_BOOKKEEPING) and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def make_handler(fmt: str = "text", stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(SchedulerBookkeeping())
    handler.addFilter(Redactor())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return handler


def configure_logging(level: str = "INFO", fmt: str = "text", stream: Any = None) -> None:
    """Route every logger through one redacting handler on the root logger."""
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt, stream)]
    root.setLevel(level)
    # Libraries that install their own handlers would bypass the redactor.
    for name in ("slack_bolt", "slack_sdk", "botocore", "boto3", "urllib3", "waitress"):
        lib = logging.getLogger(name)
        lib.handlers[:] = []
        lib.propagate = True
