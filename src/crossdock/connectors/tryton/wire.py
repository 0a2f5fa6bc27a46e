"""Tryton's JSON-RPC wire format: typed values as `__class__` objects, and its errors as our ConnectorError kinds.

Tryton sends and expects Decimal, date, datetime, time, timedelta and bytes as objects such as
`{"__class__": "Decimal", "decimal": "19.99"}`. Its datetimes are naive UTC: they are decoded as aware UTC datetimes
and aware datetimes are sent converted to UTC without a zone. Errors come back with HTTP 200 as `{"error": [...]}`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from crossdock.ports.connector import ConnectorError, ErrorKind

# Untyped server errors whose text says the database was busy: retrying later succeeds.
_BUSY_MARKERS = ("database is locked", "could not serialize", "deadlock", "timeout", "canceling statement")
# A UserError raised by an access right or rule is the account's permissions, not the record; "not allowed to modify
# the field ... in record" and "to delete the record" are about one record's state, so they stay data quality.
_ACCESS_MARKERS = (
    "not allowed to access",
    "not allowed to create records",
    "not allowed to read records",
    "not allowed to write to records",
    "not allowed to delete records",
    "not allowed to execute",
    "not allowed to search",
    "is not allowed",
)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _encode_datetime(value: datetime) -> dict[str, Any]:
    naive = _naive_utc(value)
    return {
        "__class__": "datetime",
        "year": naive.year,
        "month": naive.month,
        "day": naive.day,
        "hour": naive.hour,
        "minute": naive.minute,
        "second": naive.second,
        "microsecond": naive.microsecond,
    }


# Order matters: a datetime is also a date.
_ENCODERS: tuple[tuple[type | tuple[type, ...], Callable[[Any], dict[str, Any]]], ...] = (
    (Decimal, lambda v: {"__class__": "Decimal", "decimal": str(v)}),
    (datetime, _encode_datetime),
    (date, lambda v: {"__class__": "date", "year": v.year, "month": v.month, "day": v.day}),
    (
        time,
        lambda v: {
            "__class__": "time",
            "hour": v.hour,
            "minute": v.minute,
            "second": v.second,
            "microsecond": v.microsecond,
        },
    ),
    (timedelta, lambda v: {"__class__": "timedelta", "seconds": v.total_seconds()}),
    ((bytes, bytearray), lambda v: {"__class__": "bytes", "base64": base64.b64encode(bytes(v)).decode("ascii")}),
)

_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Decimal": lambda d: Decimal(d["decimal"]),
    "datetime": lambda d: datetime(
        d["year"], d["month"], d["day"], d["hour"], d["minute"], d["second"], d.get("microsecond", 0), tzinfo=UTC
    ),
    "date": lambda d: date(d["year"], d["month"], d["day"]),
    "time": lambda d: time(d["hour"], d["minute"], d["second"], d.get("microsecond", 0)),
    "timedelta": lambda d: timedelta(seconds=d["seconds"]),
    "bytes": lambda d: base64.b64decode(d["base64"]),
}


def encode(value: Any) -> Any:
    """A Python value as Tryton's JSON: typed values become `__class__` objects, containers are walked."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(item) for item in value]
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value)
    raise TypeError(f"cannot send a {type(value).__name__} to Tryton; convert it to a str, number or Decimal")


def decode(value: Any) -> Any:
    """Tryton's JSON as Python values: `__class__` objects become Decimal, date, datetime (UTC), time, ..."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    decoder = _DECODERS.get(value.get("__class__", ""))
    if decoder is None:
        return {key: decode(item) for key, item in value.items()}
    return decoder(value)


@dataclass(frozen=True, slots=True)
class TrytonFault:
    """An error Tryton answered with HTTP 200: its exception name and arguments."""

    name: str
    args: Any

    @classmethod
    def parse(cls, error: Any) -> TrytonFault:
        """`["UserError", [message, description, domain]]`, or an untyped `[text, traceback]`."""
        if isinstance(error, list) and len(error) == 2 and isinstance(error[0], str):
            return cls(error[0], error[1])
        return cls(str(error), None)

    @property
    def warning_key(self) -> str | None:
        """The `res.user.warning` name a UserWarning asks to be acknowledged."""
        if self.name == "UserWarning" and isinstance(self.args, list) and self.args:
            return str(self.args[0])
        return None

    @property
    def message(self) -> str:
        """Tryton's own message, with its description when it has one."""
        if self.name in ("UserError", "UserWarning", "LoginException") and isinstance(self.args, list):
            parts = self.args[1:] if self.name == "UserWarning" else self.args
            if self.name == "LoginException":
                parts = self.args[1:2]
            texts = [str(part).strip() for part in parts[:2] if isinstance(part, str) and part.strip()]
            return " - ".join(texts) or self.name
        if self.name == "ConcurrencyException":
            return str(self.args)
        return self.name.strip() or "unknown error"

    def to_error(self, system: str, method: str) -> ConnectorError:
        """This fault as a ConnectorError whose kind tells the runner what to do."""
        where = f"{system}: Tryton {method}"
        text = self.message
        lowered = text.lower()
        if self.name == "UserError" and any(marker in lowered for marker in _ACCESS_MARKERS):
            kind, message = (
                ErrorKind.CONFIGURATION,
                f"{where} was refused: {text}. Give the connector's Tryton user access to this model",
            )
        elif self.name == "UserError":
            kind, message = ErrorKind.DATA_QUALITY, f"{where} refused the record: {text}"
        elif self.name == "UserWarning":
            kind, message = (
                ErrorKind.DATA_QUALITY,
                f"{where} stopped at a warning: {text}. Acknowledge it in Tryton, or enable acknowledge_warnings",
            )
        elif self.name == "ConcurrencyException":
            kind, message = (
                ErrorKind.TRANSIENT,
                f"{where}: the record was changed by someone else meanwhile ({text}); retry",
            )
        elif self.name == "LoginException":
            kind, message = ErrorKind.CONFIGURATION, f"{where}: login failed ({text}); check the username and password"
        elif any(marker in lowered for marker in _BUSY_MARKERS):
            kind, message = ErrorKind.TRANSIENT, f"{where}: the database was busy ({text}); retry"
        else:
            kind, message = (
                ErrorKind.CONFIGURATION,
                f"{where} failed on the server with {text!r}; check the trytond log, the database name and its modules",
            )
        return ConnectorError(kind, message)
