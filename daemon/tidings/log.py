"""structlog, configured once for the whole daemon.

Secrets are redacted by a processor, never by care: any key that names a secret
(password, token, api key, authorization, secret, credentials...) has its value replaced,
at any depth, and bearer tokens or ``LOGIN user pass`` lines inside strings are masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import structlog

__all__ = ["REDACTED", "configure_logging", "get_logger", "redact", "redact_secrets"]

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|authorization|credential|cookie|private[_-]?key"
    r"|^key$|_key$",
    re.IGNORECASE,
)
_SECRET_IN_TEXT = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\b(LOGIN\s+\S+\s+)\S+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(AUTHENTICATE\s+\S+\s+)\S+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(password|passwd|pwd|token|api_key|apikey|secret)=([^\s&;,]+)"),
     r"\1=" + REDACTED),
]
_MAX_DEPTH = 8


def redact(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with secrets masked (dicts by key, strings by pattern)."""
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "")
                else redact(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v, depth + 1) for v in value)
    if isinstance(value, str):
        for pattern, repl in _SECRET_IN_TEXT:
            value = pattern.sub(repl, value)
        return value
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every field of every log event."""
    cleaned = redact(dict(event_dict))
    event_dict.clear()
    event_dict.update(cleaned)
    return event_dict


class _CurrentStandardError:
    """Writes to whatever `sys.stderr` is when a line is logged, not when logging was
    configured: logging set up while the stream was swapped (output captured or
    redirected for a while) never writes to the swapped stream after it is closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR: Any = _CurrentStandardError()


def configure_logging(
    level: str = "info", fmt: Literal["json", "console"] = "console", stream: Any = None
) -> None:
    """Configure structlog (and route stdlib logging through it). Safe to call again."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or _STDERR),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=stream or _STDERR, format="%(message)s")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
