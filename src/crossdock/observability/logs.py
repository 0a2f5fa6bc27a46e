"""Logs as JSON lines with the correlation id and trace id of the work they belong to, secrets blanked out.

`configure_logging` is called once by the long-running commands (`serve`, `worker`); library code only logs.
The correlation id of the request or event being handled sits in a context variable (`correlation`), set by the
API middleware and by the consumers; the trace and span ids come from the current span.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
from opentelemetry import trace

LogFormat = Literal["json", "text"]
MASK = "***"
_MIN_SECRET_LENGTH = 6  # a shorter configured value would blank out ordinary words all over the logs

_correlation: ContextVar[str | None] = ContextVar("crossdock_correlation_id", default=None)

# What a secret looks like even when nobody configured it: each pattern keeps its prefix and masks the rest.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values and credentials in the same shape (Bearer JWTs, Basic, Tryton sessions).
    (re.compile(r"(?i)\b(bearer|basic|session)(\s+)[A-Za-z0-9._~+/=:-]{6,}"), rf"\1\2{MASK}"),
    (
        re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic|session)\s)[^\s,;\"'}]+"),
        rf"\1{MASK}",
    ),
    # Crossdock's own credentials: client secrets, operator keys, webhook secrets.
    (re.compile(r"\b(cdsk_|cdk_|whsec_)[A-Za-z0-9_+/=-]{4,}"), rf"\1{MASK}"),
    # A JWT on its own (three base64url parts, the first a JSON header).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # key=value and "key": "value" pairs whose key says they hold a secret.
    (
        re.compile(
            r"(?i)((?:password|passwd|pwd|passphrase|secret|client_secret|token|access_token|refresh_token|"
            r"api_key|apikey|private_key|signing_keys?)[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s,;&\"'}]+"
        ),
        rf"\1{MASK}",
    ),
    # A password inside a URL.
    (re.compile(r"(?<=://)([^/?#@:\s]*):([^/?#@\s]+)@"), rf"\1:{MASK}@"),
)


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class Redactor:
    """Blanks out secrets in text: Authorization values, bearer tokens and JWTs, client secrets (`cdsk_…`),
    operator keys (`cdk_…`), webhook secrets, passwords and other `secret=…` pairs, and every configured secret
    value (the resolved `env:`/`file:` references)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        """The text with every secret it holds replaced by `***`."""
        if self._values is not None:
            text = self._values.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RedactingFilter(logging.Filter):
    """A handler filter that blanks secrets out of the message, its arguments and the exception text."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Log lines written inside the block carry `correlation_id`."""
    token = _correlation.set(correlation_id)
    try:
        yield
    finally:
        _correlation.reset(token)


def set_correlation(correlation_id: str | None) -> None:
    """Set the correlation id for the rest of the current task (an ASGI request runs in a task of its own)."""
    _correlation.set(correlation_id)


def current_correlation_id() -> str | None:
    """The correlation id of the work being done now, if any."""
    return _correlation.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation and trace ids, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = getattr(record, "correlation_id", None) or _correlation.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = f"{context.trace_id:032x}"
            entry["span_id"] = f"{context.span_id:016x}"
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key != "correlation_id" and not key.startswith("_")
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """The plain format, with the correlation id in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as a text line."""
        line = super().format(record)
        correlation_id = getattr(record, "correlation_id", None) or _correlation.get()
        return f"{line} [{correlation_id}]" if correlation_id else line


_HANDLER_NAME = "crossdock"


def configure_logging(
    *,
    format: LogFormat = "json",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the process's logs to stderr (or `stream`), redacted, as JSON or text; calling it again replaces the
    handler it installed before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request to the ERP or CRM buries what matters; failures are logged by the runners.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler
