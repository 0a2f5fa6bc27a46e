"""The Store port: the relational records around the log (cross-reference, delivery journal, lineage, exceptions,
capture cursors), reached through a unit of work so that what belongs together commits together.

Synchronous on purpose: SQLAlchemy's sync engine is the fast, well-trodden path on both SQLite and PostgreSQL, and
async callers hand a whole batch to a thread (`asyncio.to_thread`) rather than paying per statement.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self


class DuplicateDeliveryError(RuntimeError):
    """A (flow, target, event id) is already journaled: another worker delivered it first. Roll back, do not ack."""


class ExceptionClass(enum.StrEnum):
    """Why a business exception was raised; decides who gets it and whether a retry can help."""

    TRANSIENT = "transient"
    DATA_QUALITY = "data_quality"
    POLICY_VIOLATION = "policy_violation"
    DOWNSTREAM_OUTAGE = "downstream_outage"
    DUPLICATE = "duplicate"
    CONTRACT_VIOLATION = "contract_violation"


class ExceptionStatus(enum.StrEnum):
    """Where a business exception stands in its owner's queue."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class DeliveryOutcome(enum.StrEnum):
    """What a delivery to a target did."""

    DELIVERED = "delivered"
    UNCHANGED = "unchanged"  # the target already held this content (echo or replay); nothing was written
    QUARANTINED = "quarantined"  # refused as bad data; a business exception holds it


@dataclass(frozen=True, slots=True)
class CrossReference:
    """One system's local id for one canonical object, with a hash of the content Crossdock last wrote there."""

    entity: str
    canonical_id: str
    system: str
    local_id: str
    written_hash: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A journal row: flow `flow` delivered event `event_id` to `target`. Unique per (flow, target, event_id)."""

    flow: str
    target: str
    event_id: str
    subject: str
    outcome: DeliveryOutcome
    local_id: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LineageEntry:
    """One hop of one business transaction: who did what to which object, how it went, and how long it took."""

    correlation_id: str
    system: str
    step: str
    outcome: str
    subject: str | None = None
    event_id: str | None = None
    business_keys: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    duration_ms: float | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class BusinessException:
    """A record a person must look at: why, whose queue, the raw payload as it arrived, and the details."""

    exception_class: ExceptionClass
    reason: str
    owner_queue: str
    flow: str | None = None
    system: str | None = None
    entity: str | None = None
    subject: str | None = None
    event_id: str | None = None
    correlation_id: str | None = None
    raw_payload: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    status: ExceptionStatus = ExceptionStatus.OPEN
    assignee: str | None = None
    # Raising an exception with a key that is already recorded returns the recorded one: a re-read after a crash,
    # or a poller that checks the same condition every minute, does not fill the queue with copies.
    dedupe_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class GoldenRecord:
    """The current canonical state of one business object, merged from its owners, with who set each attribute."""

    entity: str
    canonical_id: str
    document: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)  # attribute -> system that last set it
    # What each system holds, in canonical terms, as of Crossdock's last read from it or write to it: a system
    # breaks ownership only by changing an attribute against its own view, not by representing it differently.
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 0
    updated_at: datetime | None = None


class GoldenRecords(Protocol):
    """Golden records per (entity, canonical id): what the attribute owners last said, merged."""

    def get(self, entity: str, canonical_id: str) -> GoldenRecord | None:
        """The golden record, if the object has been seen."""
        ...

    def put(self, record: GoldenRecord) -> GoldenRecord:
        """Store the record as the next version (version + 1) and return what was stored."""
        ...


class CrossReferences(Protocol):
    """Canonical id ↔ (system, local id), per entity."""

    def find_local(self, entity: str, canonical_id: str, system: str) -> CrossReference | None:
        """The system's record for a canonical object, if linked."""
        ...

    def find_canonical(self, entity: str, system: str, local_id: str) -> CrossReference | None:
        """The canonical object a system's record is linked to, if any."""
        ...

    def for_canonical(self, entity: str, canonical_id: str) -> list[CrossReference]:
        """Every system's record for a canonical object."""
        ...

    def link(self, ref: CrossReference) -> None:
        """Create or update the link for (entity, canonical id, system)."""
        ...


class DeliveryJournal(Protocol):
    """What each flow has delivered to each target, so a retry or replay never writes twice."""

    def delivered(self, flow: str, target: str, event_ids: Sequence[str]) -> set[str]:
        """The subset of `event_ids` already journaled for (flow, target)."""
        ...

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """Journal deliveries; one already journaled raises DuplicateDeliveryError (the unit must roll back)."""
        ...


class LineageLog(Protocol):
    """Hops of business transactions, searchable by correlation id, subject or business key."""

    def record(self, entries: Sequence[LineageEntry]) -> None:
        """Append lineage rows."""
        ...

    def find(self, key: str, limit: int = 500) -> list[LineageEntry]:
        """Rows whose correlation id, subject or any business key value equals `key`, oldest first."""
        ...


class ExceptionQueue(Protocol):
    """Business exceptions with owner queues and status."""

    def raise_exception(self, exception: BusinessException) -> int:
        """Record an exception and return its id; with a `dedupe_key` already recorded, return that one's id."""
        ...

    def get(self, exception_id: int) -> BusinessException | None:
        """One exception."""
        ...

    def list(
        self,
        *,
        status: ExceptionStatus | None = None,
        exception_class: ExceptionClass | None = None,
        owner_queue: str | None = None,
        limit: int = 100,
    ) -> list[BusinessException]:
        """Exceptions, newest first, filtered."""
        ...

    def update(
        self, exception_id: int, *, status: ExceptionStatus, assignee: str | None = None, note: str | None = None
    ) -> None:
        """Move an exception along its queue; `note` is appended to its details' history."""
        ...

    def count_by_class(self) -> dict[str, int]:
        """Open (not resolved or dismissed) exceptions per class."""
        ...


class Cursors(Protocol):
    """Change-capture positions per (flow, source), advanced only after what they cover is in the log."""

    def get(self, name: str) -> str | None:
        """The stored cursor."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store the cursor."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the store's repositories."""

    xrefs: CrossReferences
    journal: DeliveryJournal
    lineage: LineageLog
    exceptions: ExceptionQueue
    cursors: Cursors
    golden: GoldenRecords

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back unless `commit` was called."""
        ...

    def commit(self) -> None:
        """Make everything done in this unit durable at once."""
        ...

    def rollback(self) -> None:
        """Forget everything done in this unit."""
        ...


class Store(Protocol):
    """Opens units of work; owns the schema."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work (use as a context manager); a read-only one never waits for the write lock."""
        ...

    def migrate(self) -> None:
        """Bring the schema to the newest version."""
        ...

    def dispose(self) -> None:
        """Close pooled connections."""
        ...
