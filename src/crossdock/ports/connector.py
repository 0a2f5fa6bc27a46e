"""The Connector port: how the core reads changes from a system and writes to it.

Payloads crossing this port are already in the system's own shape (a dict as its API wants it); the mapping engine
turns them into canonical objects and back. Vendor types never cross it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class ErrorKind(enum.StrEnum):
    """How a connector failure should be handled."""

    TRANSIENT = "transient"  # retry with backoff: timeouts, 429, 503, locked rows
    DATA_QUALITY = "data_quality"  # the record is wrong: quarantine it, retrying will not help
    CONFIGURATION = "configuration"  # credentials, permissions, missing fields: a person must fix the setup
    DOWNSTREAM_OUTAGE = "downstream_outage"  # the system is down: wait, keep the backlog in the log


class ConnectorError(Exception):
    """A failure talking to a system, classified so the runner knows whether to retry, wait or quarantine."""

    def __init__(self, kind: ErrorKind, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A changed record as the source system returned it."""

    local_id: str
    payload: dict[str, Any]
    changed_at: str | None = None
    deleted: bool = False
    # The canonical id the record carries (an external-id field Crossdock stamped or wrote), if any: a record
    # Crossdock has just created may be read back before its cross-reference commits, and must not get a new id.
    canonical_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """Records changed since a cursor, and the cursor to store once they are durably logged."""

    records: list[SourceRecord]
    next_cursor: str | None
    more: bool = False


@dataclass(frozen=True, slots=True)
class UpsertRequest:
    """Write one object to a system: its canonical id, its local id if cross-referenced, and the mapped payload."""

    canonical_id: str
    payload: dict[str, Any]
    local_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """The system's answer for one upserted record."""

    canonical_id: str
    local_id: str | None = None
    created: bool = False
    error: ConnectorError | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the record was written."""
        return self.error is None


@runtime_checkable
class Connector(Protocol):
    """A connected system: what it can do, reading its changes, and writing canonical objects into it."""

    @property
    def system(self) -> str:
        """The configured system name (`erp`, `crm`, `supplier-acme`)."""
        ...

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        """Records of `entity` changed since `cursor`, oldest first."""
        ...

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Create or update records, idempotently (the system's upsert by external id where it has one)."""
        ...

    async def close(self) -> None:
        """Close sessions and connections."""
        ...


@runtime_checkable
class StampsCanonicalIds(Protocol):
    """A connector that can write canonical ids into its system's records (an external-id field, an identifier).

    The capture calls it for records it sees for the first time, after their events are durably logged, so every
    system's copy of an object carries the same canonical id, and later upserts by external id find it.
    """

    async def stamp_canonical_ids(self, entity: str, links: Sequence[tuple[str, str]]) -> None:
        """Write each (local id, canonical id) pair's canonical id into that record."""
        ...
