"""The Store port: the relational records around the log (cross-reference, delivery journal, lineage, exceptions,
capture cursors, process instances with their step journal, the outbox), reached through a unit of work so that what
belongs together commits together.

Synchronous on purpose: SQLAlchemy's sync engine is the fast, well-trodden path on both SQLite and PostgreSQL, and
async callers hand a whole batch to a thread (`asyncio.to_thread`) rather than paying per statement.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from crossdock.events.envelope import CloudEvent
from crossdock.ports.api import ApiRecords, Webhooks
from crossdock.ports.console import ConsoleRecords, OperationsReadModel
from crossdock.ports.mdm import MdmRecords
from crossdock.ports.partners import PartnerRecords


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
    # A process could not undo a step it had started: the business transaction is half done until a person
    # finishes the undo by hand (or fixes the cause and retries it).
    COMPENSATION_FAILURE = "compensation_failure"


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

    def count_by_class_and_owner(self) -> dict[tuple[str, str], int]:
        """Open exceptions per (class, owner queue), for metrics."""
        ...


class Cursors(Protocol):
    """Change-capture positions per (flow, source), advanced only after what they cover is in the log."""

    def get(self, name: str) -> str | None:
        """The stored cursor."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store the cursor."""
        ...


# --- durable processes (sagas): instances, their step journal, signals, operator actions, and the outbox ---


class ProcessState(enum.StrEnum):
    """Where a process instance stands. Terminal: completed, compensated, cancelled; `failed` and
    `compensation_failed` are live and wait for a person (retry, skip or cancel)."""

    RUNNABLE = "runnable"  # due to run at `wake_at` (new, retried, woken by a signal, backing off after an error)
    RUNNING = "running"  # a worker holds its lease and runs it
    WAITING = "waiting"  # in `wait_for`: woken by a matching signal or at the deadline
    SLEEPING = "sleeping"  # in a durable timer until `wake_at`
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True when nothing will ever happen to the instance again."""
        return self in TERMINAL_STATES

    @property
    def live(self) -> bool:
        """Not terminal: at most one live instance per (definition, business key)."""
        return self not in TERMINAL_STATES


TERMINAL_STATES = frozenset({ProcessState.COMPLETED, ProcessState.COMPENSATED, ProcessState.CANCELLED})
# States a worker may claim when they are due; failed ones wait for an operator.
CLAIMABLE_STATES = (
    ProcessState.RUNNABLE,
    ProcessState.RUNNING,
    ProcessState.WAITING,
    ProcessState.SLEEPING,
    ProcessState.COMPENSATING,
)


class StepKind(enum.StrEnum):
    """What a journal row records."""

    STEP = "step"  # ctx.step: a side effect and its result
    WAIT = "wait"  # ctx.wait_for: a signal's payload, or None on timeout
    SLEEP = "sleep"  # ctx.sleep: a durable timer
    NOW = "now"  # ctx.now: the time, so that replays see the same
    COMPENSATION = "compensation"  # the undo of a forward step, named `compensate:<step>`


class StepStatus(enum.StrEnum):
    """Where a journal row stands; COMPLETED, SKIPPED and TIMED_OUT rows replay without running anything."""

    STARTED = "started"  # a step with a compensation began (so it is compensated even if it crashed half-way)
    RETRYING = "retrying"  # an attempt failed; the next one is due at `wake_at`
    COMPLETED = "completed"
    FAILED = "failed"  # failed for good
    SKIPPED = "skipped"  # an operator gave it a result instead
    WAITING = "waiting"  # a wait_for until a signal or `wake_at` (the deadline)
    SLEEPING = "sleeping"  # a timer until `wake_at`
    TIMED_OUT = "timed_out"  # a wait_for whose deadline passed; it returned None

    @property
    def done(self) -> bool:
        """True when a replay returns the recorded result instead of running the step."""
        return self in (StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.TIMED_OUT)


@dataclass(frozen=True, slots=True)
class ProcessInstance:
    """One run of a process definition for one business key, pinned to the definition's version at its start.

    `lease_token` grows with every claim: a journal write commits only while the token is the one its worker
    claimed with, so a worker that lost its lease (expired, taken over, cancelled) can write nothing more.
    """

    id: str
    definition: str
    version: int
    business_key: str
    state: ProcessState
    input: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
    result: Any = None
    error: str | None = None
    wake_at: datetime | None = None
    wait_type: str | None = None
    wait_key: str | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    lease_token: int = 0
    cancel_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The W3C trace context it was started in (the submitted order's): every run continues that trace.
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessStep:
    """One journal row, identified by its instance and its call order (`seq`)."""

    instance_id: str
    seq: int
    name: str
    kind: StepKind
    status: StepStatus
    attempts: int = 0
    outages: int = 0  # waits for a system that was down; they do not spend attempts
    result: Any = None
    error: str | None = None
    compensable: bool = False  # a compensation was registered before the step ran
    compensates: int | None = None  # for a compensation row: the seq of the step it undoes
    wake_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InstanceChange:
    """A journal write's change to its instance: the new state and what goes with it; `release` gives up the
    lease (the instance suspends or ends), otherwise the writer keeps holding it."""

    instance_id: str
    state: ProcessState
    wake_at: datetime | None = None
    wait_type: str | None = None
    wait_key: str | None = None
    result: Any = None
    error: str | None = None
    release: bool = True


@dataclass(frozen=True, slots=True)
class ProcessSignal:
    """A partner's answer (an event type and correlation key, such as a PO acknowledgement for PO-77), kept until
    one waiting instance consumes it, even when it arrives before anyone waits for it."""

    event_id: str
    event_type: str
    correlation_key: str
    payload: dict[str, Any]
    received_at: datetime | None = None
    consumed_by: str | None = None
    consumed_seq: int | None = None
    consumed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProcessAction:
    """An operator's action on an instance (retry, skip, cancel), for the audit trail."""

    instance_id: str
    action: str
    actor: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event a process step emitted, stored with the step's result and published to the log afterwards."""

    event: CloudEvent
    instance_id: str
    seq: int
    position: int | None = None  # insertion order, set by the store
    created_at: datetime | None = None
    published_at: datetime | None = None


class ProcessRepository(Protocol):
    """Process instances, their step journal, signals and operator actions."""

    def create(self, instance: ProcessInstance) -> bool:
        """Insert a new instance; False (nothing written) when a live instance of the same definition already
        has its business key."""
        ...

    def get(self, instance_id: str, *, for_update: bool = False) -> ProcessInstance | None:
        """One instance; `for_update` locks its row until the unit ends (operator actions)."""
        ...

    def find(self, definition: str, business_key: str) -> ProcessInstance | None:
        """The live instance for the key if there is one, else the newest finished one."""
        ...

    def update(self, instance: ProcessInstance) -> None:
        """Write every field of an existing instance (operator actions, under `get(for_update=True)`)."""
        ...

    def steps(self, instance_ids: Sequence[str]) -> dict[str, list[ProcessStep]]:
        """The journal of each instance, by seq."""
        ...

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        versions: Sequence[tuple[str, int]],
        limit: int,
    ) -> list[ProcessInstance]:
        """Take up to `limit` due instances of the given (definition, version) pairs under a lease.

        Due: claimable state, lease free or expired, and `wake_at` passed, or state RUNNING (its worker died),
        or WAITING with an unconsumed matching signal. Each claim sets the owner, the lease and lease_token + 1;
        RUNNABLE, WAITING and SLEEPING instances become RUNNING.
        """
        ...

    def fence(self, leases: Mapping[str, int], *, lease_until: datetime | None, now: datetime) -> set[str]:
        """The instances whose lease token is still current; the others were lost. With `lease_until`, their
        leases are renewed to it as well.

        Called first in every journal write: the rows stay locked (or the database does) until the unit ends, so
        no one takes an instance between this check and the commit.
        """
        ...

    def save_steps(self, steps: Sequence[ProcessStep]) -> None:
        """Insert journal rows, or replace the rows with the same (instance, seq)."""
        ...

    def change(self, changes: Sequence[InstanceChange], *, now: datetime) -> None:
        """Apply journal writes' instance changes (after `fence` in the same unit)."""
        ...

    def add_signal(self, signal: ProcessSignal, *, now: datetime) -> bool:
        """Keep a signal (False if its event id is known) and make instances waiting for it due now."""
        ...

    def take_signal(
        self, event_type: str, correlation_key: str, *, instance_id: str, seq: int, now: datetime
    ) -> ProcessSignal | None:
        """Consume the oldest unconsumed signal of this type and key for the instance's step `seq`, if any."""
        ...

    def signals(self, *, consumed_by: str | None = None, limit: int = 100) -> list[ProcessSignal]:
        """Signals, oldest first; with `consumed_by`, those that instance consumed."""
        ...

    def record_action(self, action: ProcessAction) -> None:
        """Append an operator action to the audit trail."""
        ...

    def actions(self, instance_id: str) -> list[ProcessAction]:
        """An instance's operator actions, oldest first."""
        ...

    def list(
        self,
        *,
        state: ProcessState | None = None,
        definition: str | None = None,
        business_key: str | None = None,
        limit: int = 100,
    ) -> list[ProcessInstance]:
        """Instances, most recently changed first, filtered."""
        ...

    def count_by_state(self) -> dict[str, int]:
        """Instances per state, for metrics; states with none are left out."""
        ...


class Outbox(Protocol):
    """Events emitted by process steps, committed with the step's result, published to the log by a relay."""

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        """Store events; an event id already stored is ignored (a replayed step emits the same ids)."""
        ...

    def pending(self, limit: int = 500) -> list[OutboxEntry]:
        """Unpublished events in the order they were stored."""
        ...

    def mark_published(self, event_ids: Sequence[str], *, now: datetime) -> None:
        """Record that these events are in the log."""
        ...

    def for_instance(self, instance_id: str, limit: int = 500) -> list[OutboxEntry]:
        """The events a process instance emitted, in order (published or not): what it has told the world."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the store's repositories."""

    xrefs: CrossReferences
    journal: DeliveryJournal
    lineage: LineageLog
    exceptions: ExceptionQueue
    cursors: Cursors
    golden: GoldenRecords
    processes: ProcessRepository
    outbox: Outbox
    api: ApiRecords
    webhooks: Webhooks
    partners: PartnerRecords
    console: ConsoleRecords
    operations: OperationsReadModel
    mdm: MdmRecords

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
