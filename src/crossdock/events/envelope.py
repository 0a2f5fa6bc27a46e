"""The CloudEvents 1.0 envelope every change travels in.

A plain slotted dataclass rather than a pydantic model: the log appends tens of thousands of these a second, and the
data inside is validated against its registered JSON Schema (see `crossdock.events.registry`), not here.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

SPEC_VERSION = "1.0"
_TYPE_PATTERN = re.compile(r"^crossdock\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.v[1-9][0-9]*$")
_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_KNOWN_GOOD_TYPES: set[str] = set()  # types that passed the pattern once; a log sees a few dozen, appended millions


class EnvelopeError(ValueError):
    """An event envelope that breaks CloudEvents 1.0 or our extension rules."""


def new_event_id() -> str:
    """A fresh, time-ordered event id (UUIDv7 layout), so ids sort roughly by creation."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80 | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def new_traceparent() -> str:
    """A W3C traceparent for a transaction that starts here."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def now_rfc3339() -> str:
    """The current time as CloudEvents wants it: RFC 3339, UTC."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_type(entity: str, verb: str, version: int = 1) -> str:
    """`crossdock.<entity>.<verb>.v<N>`, the one spelling of an event type."""
    return f"crossdock.{entity}.{verb}.v{version}"


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """A CloudEvents 1.0 event in structured JSON mode, with `traceparent`, `correlationid`, `businesskeys` and
    `partnerid` extensions.

    `subject` is the canonical id of the business object the event is about; the log keeps order per subject.
    """

    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=new_event_id)
    time: str = field(default_factory=now_rfc3339)
    dataschema: str | None = None
    datacontenttype: str = "application/json"
    traceparent: str | None = None
    correlationid: str | None = None
    # Business keys (order number, customer number, PO) carried for lineage; a Crossdock extension attribute.
    businesskeys: dict[str, str] | None = None
    # The trading partner the event concerns (the customer or supplier an API client acts for): webhooks reach
    # only that partner's subscriptions, and the partner API shows only its own. A Crossdock extension attribute.
    partnerid: str | None = None

    @property
    def schema_version(self) -> int:
        """The N of the type's `.vN` suffix."""
        return int(self.type.rsplit(".v", 1)[1])

    @property
    def schema_subject(self) -> str:
        """The type without its version: the key under which schema versions are registered."""
        return self.type.rsplit(".v", 1)[0]

    def check(self) -> None:
        """Raise EnvelopeError if a required attribute is missing or malformed."""
        if not self.id:
            raise EnvelopeError("event id is empty; every event needs a unique id")
        if not self.source:
            raise EnvelopeError(f"event {self.id}: source is empty; name the system or flow that emitted it")
        if not self.subject:
            raise EnvelopeError(f"event {self.id}: subject is empty; set it to the canonical id of the object")
        if self.type not in _KNOWN_GOOD_TYPES:
            if not _TYPE_PATTERN.match(self.type):
                raise EnvelopeError(
                    f"event {self.id}: type {self.type!r} is not of the form crossdock.<entity>.<verb>.v<N>"
                )
            if len(_KNOWN_GOOD_TYPES) < 10_000:
                _KNOWN_GOOD_TYPES.add(self.type)
        if self.traceparent is not None and not _TRACEPARENT.match(self.traceparent):
            raise EnvelopeError(f"event {self.id}: traceparent {self.traceparent!r} is not W3C trace context")

    def with_data(self, data: dict[str, Any]) -> CloudEvent:
        """A copy with other data (same id: it is the same event)."""
        return replace(self, data=data)

    def to_dict(self) -> dict[str, Any]:
        """Structured-mode JSON object; optional attributes that are unset are left out."""
        out: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": self.datacontenttype,
        }
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        if self.traceparent is not None:
            out["traceparent"] = self.traceparent
        if self.correlationid is not None:
            out["correlationid"] = self.correlationid
        if self.businesskeys:
            out["businesskeys"] = self.businesskeys
        if self.partnerid is not None:
            out["partnerid"] = self.partnerid
        out["data"] = self.data
        return out

    def to_json(self) -> bytes:
        """Structured-mode JSON bytes."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CloudEvent:
        """Parse a structured-mode JSON object; raise EnvelopeError naming what is wrong."""
        if raw.get("specversion") != SPEC_VERSION:
            raise EnvelopeError(f"specversion must be {SPEC_VERSION!r}, got {raw.get('specversion')!r}")
        missing = [key for key in ("id", "source", "type", "subject") if not raw.get(key)]
        if missing:
            raise EnvelopeError(f"event is missing required attribute(s): {', '.join(missing)}")
        data = raw.get("data")
        if not isinstance(data, dict):
            raise EnvelopeError(f"event {raw['id']}: data must be a JSON object")
        return cls(
            type=raw["type"],
            source=raw["source"],
            subject=raw["subject"],
            data=data,
            id=raw["id"],
            time=raw.get("time") or now_rfc3339(),
            dataschema=raw.get("dataschema"),
            datacontenttype=raw.get("datacontenttype", "application/json"),
            traceparent=raw.get("traceparent"),
            correlationid=raw.get("correlationid"),
            businesskeys=raw.get("businesskeys"),
            partnerid=raw.get("partnerid"),
        )

    @classmethod
    def from_json(cls, body: bytes | str) -> CloudEvent:
        """Parse structured-mode JSON bytes."""
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError(f"event is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise EnvelopeError("event must be a JSON object")
        return cls.from_dict(raw)
