"""The Store port in memory, for unit tests of the core: SqlStore-on-SQLite semantics, nothing on disk.

Like SQLite with BEGIN IMMEDIATE, a writing unit takes the store's one write lock when its transaction starts
(its first read or write) and works on a private copy of the records; commit publishes the copy, rollback drops
it. Read-only units take no lock and see the records as of their first read.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from crossdock.observability.keeper import MemoryTraceKeeper
from crossdock.ports.api import (
    ApiClientRecord,
    ApiOrderRecord,
    ApiRecords,
    IdempotencyRecord,
    WebhookDelivery,
    Webhooks,
    WebhookSubscription,
)
from crossdock.ports.console import (
    AuditEntry,
    ConsoleRecords,
    ConsoleSession,
    ConsoleUser,
    OperationsReadModel,
    ReplayRequest,
)
from crossdock.ports.mdm import MatchEntry, MdmRecords, MergeRecord, StewardshipCase
from crossdock.ports.partners import FileAttempt, PartnerDocument, PartnerRecords
from crossdock.ports.store import (
    CLAIMABLE_STATES,
    BusinessException,
    CrossReference,
    CrossReferences,
    Cursors,
    Delivery,
    DeliveryJournal,
    ExceptionClass,
    ExceptionQueue,
    ExceptionStatus,
    GoldenRecord,
    GoldenRecords,
    InstanceChange,
    LineageEntry,
    LineageLog,
    Outbox,
    OutboxEntry,
    ProcessAction,
    ProcessInstance,
    ProcessRepository,
    ProcessSignal,
    ProcessState,
    ProcessStep,
)
from crossdock.store.errors import (
    CrossReferenceConflictError,
    DuplicateDeliveryError,
    StoreError,
    UnitOfWorkError,
    UnknownExceptionError,
)
from crossdock.store.memory_api import MemoryApiRecords, MemoryWebhooks
from crossdock.store.memory_console import MemoryConsoleRecords, MemoryOperationsReadModel
from crossdock.store.memory_mdm import MemoryMdmRecords
from crossdock.store.memory_partners import MemoryPartnerRecords
from crossdock.store.rules import PENDING, history_entry, stamp, utc_now

XrefKey = tuple[str, str, str]
Json = dict[str, Any]
LOCK_TIMEOUT_S = 30.0  # SQLite's busy_timeout in SqlStore


@dataclass
class _Records:
    """Everything the store holds. Values are frozen dataclasses: copying the containers isolates a unit."""

    xrefs: dict[XrefKey, CrossReference] = field(default_factory=dict)
    xref_by_local: dict[XrefKey, XrefKey] = field(default_factory=dict)
    journal: dict[XrefKey, Delivery] = field(default_factory=dict)
    lineage: list[LineageEntry] = field(default_factory=list)
    exceptions: dict[int, BusinessException] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    golden: dict[tuple[str, str], GoldenRecord] = field(default_factory=dict)
    instances: dict[str, ProcessInstance] = field(default_factory=dict)
    # Per instance, seq -> row; a change replaces an instance's whole dict, so copies never share a changed one.
    steps: dict[str, dict[int, ProcessStep]] = field(default_factory=dict)
    signals: dict[str, ProcessSignal] = field(default_factory=dict)
    actions: list[ProcessAction] = field(default_factory=list)
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)  # by event id, in insertion order
    api_clients: dict[str, ApiClientRecord] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    api_orders: dict[str, ApiOrderRecord] = field(default_factory=dict)
    subscriptions: dict[str, WebhookSubscription] = field(default_factory=dict)
    deliveries: dict[str, WebhookDelivery] = field(default_factory=dict)
    inbound_webhooks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    partner_counters: dict[tuple[str, str], int] = field(default_factory=dict)
    partner_documents: list[PartnerDocument] = field(default_factory=list)
    partner_files: dict[tuple[str, str, int, int], FileAttempt] = field(default_factory=dict)  # (partner, *file)
    console_users: dict[str, ConsoleUser] = field(default_factory=dict)
    console_sessions: dict[str, ConsoleSession] = field(default_factory=dict)  # by token hash
    replay_requests: dict[int, ReplayRequest] = field(default_factory=dict)
    console_audit: list[AuditEntry] = field(default_factory=list)
    mdm_entries: dict[tuple[str, str], MatchEntry] = field(default_factory=dict)
    mdm_keys: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)  # (entity, key) -> canonical ids
    mdm_cases: dict[int, StewardshipCase] = field(default_factory=dict)
    mdm_merges: dict[int, MergeRecord] = field(default_factory=dict)

    def copy(self) -> _Records:
        """A copy whose containers can change without touching this one."""
        return _Records(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})


def _as_stored(document: Json) -> Json:
    """What a JSON column gives back: unserialisable values fail here as they would in SQL, tuples become lists."""
    loaded: Json = json.loads(json.dumps(document))
    return loaded


class MemoryStore:
    """The Store port in memory; safe to share between threads."""

    def __init__(self) -> None:
        # Published records are never changed in place, only replaced: readers may copy them without a lock.
        self.records = _Records()
        self.write_lock = threading.Lock()
        self._ids = itertools.count(1)  # like a sequence: ids of rolled-back rows are not reused
        self._ids_lock = threading.Lock()
        self._traces = MemoryTraceKeeper()

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        """A new unit of work (use as a context manager)."""
        return MemoryUnitOfWork(self, read_only=read_only)

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def dispose(self) -> None:
        """Nothing to close in memory."""

    def trace_keeper(self) -> MemoryTraceKeeper:
        """The spans kept for the console, beside this store (the TraceKeeper port); one per store."""
        return self._traces

    def next_id(self) -> int:
        """A fresh row id."""
        with self._ids_lock:
            return next(self._ids)


class MemoryUnitOfWork:
    """One transaction over the in-memory repositories; rolled back on leaving the block unless committed."""

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self._open = False
        self._working: _Records | None = None  # set while a transaction runs
        self._failure: Exception | None = None
        self.xrefs: CrossReferences = MemoryCrossReferences(self)
        self.journal: DeliveryJournal = MemoryDeliveryJournal(self)
        self.lineage: LineageLog = MemoryLineageLog(self)
        self.exceptions: ExceptionQueue = MemoryExceptionQueue(self)
        self.cursors: Cursors = MemoryCursors(self)
        self.golden: GoldenRecords = MemoryGoldenRecords(self)
        self.processes: ProcessRepository = MemoryProcessRepository(self)
        self.outbox: Outbox = MemoryOutbox(self)
        self.api: ApiRecords = MemoryApiRecords(self)
        self.webhooks: Webhooks = MemoryWebhooks(self)
        self.partners: PartnerRecords = MemoryPartnerRecords(self)
        self.console: ConsoleRecords = MemoryConsoleRecords(self)
        self.operations: OperationsReadModel = MemoryOperationsReadModel(self)
        self.mdm: MdmRecords = MemoryMdmRecords(self)

    def __enter__(self) -> Self:
        if self._open:
            raise UnitOfWorkError.already_open()
        self._open = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back unless `commit` was called."""
        self._end()
        self._open, self._failure = False, None

    def records(self) -> _Records:
        """What this unit sees: the records as of its transaction's start, plus its own changes."""
        if not self._open:
            raise UnitOfWorkError.not_open()
        if self._failure is not None:
            raise UnitOfWorkError.rolled_back(self._failure)
        if self._working is None:
            if not self.read_only and not self.store.write_lock.acquire(timeout=LOCK_TIMEOUT_S):
                raise StoreError(
                    f"Another unit of work has held the store for {LOCK_TIMEOUT_S:.0f} s; "
                    "commit or leave it first (two write units open in one thread wait for each other)."
                )
            self._working = self.store.records.copy()
        return self._working

    def change(self, change: Callable[[_Records], None]) -> None:
        """Apply a change to this unit's records; a failing change rolls the whole unit back."""
        if self.read_only:
            raise UnitOfWorkError.read_only()
        records = self.records()
        try:
            change(records)
        except (StoreError, DuplicateDeliveryError) as error:
            self._end()
            self._failure = error
            raise

    def commit(self) -> None:
        """Make everything done in this unit visible to other units at once."""
        if not self._open:
            raise UnitOfWorkError.not_open()
        if self._failure is not None:
            raise UnitOfWorkError.rolled_back(self._failure)
        if self._working is not None and not self.read_only:
            self.store.records = self._working
        self._end()

    def rollback(self) -> None:
        """Forget everything done in this unit; after a failed change, this makes the unit usable again."""
        self._end()
        self._failure = None

    def _end(self) -> None:
        if self._working is not None:
            self._working = None
            if not self.read_only:
                self.store.write_lock.release()


class MemoryCrossReferences:
    """CrossReferences in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def find_local(self, entity: str, canonical_id: str, system: str) -> CrossReference | None:
        """The system's record for a canonical object, if linked."""
        return self._uow.records().xrefs.get((entity, canonical_id, system))

    def find_canonical(self, entity: str, system: str, local_id: str) -> CrossReference | None:
        """The canonical object a system's record is linked to, if any."""
        records = self._uow.records()
        key = records.xref_by_local.get((entity, system, local_id))
        return None if key is None else records.xrefs[key]

    def for_canonical(self, entity: str, canonical_id: str) -> list[CrossReference]:
        """Every system's record for a canonical object, by system name."""
        refs = self._uow.records().xrefs.values()
        return sorted((r for r in refs if (r.entity, r.canonical_id) == (entity, canonical_id)), key=lambda r: r.system)

    def link(self, ref: CrossReference) -> None:
        """Create or update the link for (entity, canonical id, system)."""
        ref = replace(ref, updated_at=stamp(ref.updated_at, utc_now()))
        key, local = (ref.entity, ref.canonical_id, ref.system), (ref.entity, ref.system, ref.local_id)

        def link(records: _Records) -> None:
            owner = records.xref_by_local.get(local)
            if owner is not None and owner != key:
                raise CrossReferenceConflictError(
                    f"{ref.system} {ref.entity} {ref.local_id!r} is already linked to canonical id "
                    f"{owner[1]!r}; unlink or merge it before linking it to {ref.canonical_id!r}."
                )
            previous = records.xrefs.get(key)
            if previous is not None:
                del records.xref_by_local[(previous.entity, previous.system, previous.local_id)]
            records.xrefs[key] = ref
            records.xref_by_local[local] = key

        self._uow.change(link)


class MemoryDeliveryJournal:
    """DeliveryJournal in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def delivered(self, flow: str, target: str, event_ids: Sequence[str]) -> set[str]:
        """The subset of `event_ids` already journaled for (flow, target)."""
        journal = self._uow.records().journal
        return {event_id for event_id in event_ids if (flow, target, event_id) in journal}

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """Journal deliveries; one already journaled raises DuplicateDeliveryError and rolls the unit back."""
        now = utc_now()
        rows = [replace(d, delivered_at=stamp(d.delivered_at, now)) for d in deliveries]

        def record(records: _Records) -> None:
            for row in rows:
                key = (row.flow, row.target, row.event_id)
                if key in records.journal:
                    raise DuplicateDeliveryError(
                        f"{row.flow} already journaled event {row.event_id} for {row.target}; the unit "
                        "was rolled back: skip the events `delivered()` reports and retry the rest."
                    )
                records.journal[key] = row

        self._uow.change(record)


class MemoryLineageLog:
    """LineageLog in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def record(self, entries: Sequence[LineageEntry]) -> None:
        """Append lineage rows."""
        now = utc_now()
        rows = [
            replace(
                e,
                id=self._uow.store.next_id(),
                business_keys=_as_stored(e.business_keys),
                detail=_as_stored(e.detail),
                started_at=stamp(e.started_at, now),
            )
            for e in entries
        ]
        self._uow.change(lambda records: records.lineage.extend(rows))

    def find(self, key: str, limit: int = 500) -> list[LineageEntry]:
        """Rows whose correlation id, subject or any business key value equals `key`, oldest first."""
        hits = [
            e
            for e in self._uow.records().lineage
            if key in (e.correlation_id, e.subject) or key in e.business_keys.values()
        ]
        hits.sort(key=lambda e: (e.started_at, e.id))
        return [copy.deepcopy(e) for e in hits[:limit]]


class MemoryExceptionQueue:
    """ExceptionQueue in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def raise_exception(self, exception: BusinessException) -> int:
        """Record an exception and return its id; with a `dedupe_key` already recorded, return that one's id."""
        if exception.dedupe_key is not None:
            for known in self._uow.records().exceptions.values():
                if known.dedupe_key == exception.dedupe_key and known.id is not None:
                    return known.id
        new_id = self._uow.store.next_id()
        created_at = stamp(exception.created_at, utc_now())
        row = replace(
            exception,
            id=new_id,
            details=_as_stored(exception.details),
            created_at=created_at,
            updated_at=stamp(exception.updated_at, created_at),
        )
        self._uow.change(lambda records: records.exceptions.__setitem__(new_id, row))
        return new_id

    def get(self, exception_id: int) -> BusinessException | None:
        """One exception."""
        found = self._uow.records().exceptions.get(exception_id)
        return copy.deepcopy(found)

    def list(
        self,
        *,
        status: ExceptionStatus | None = None,
        exception_class: ExceptionClass | None = None,
        owner_queue: str | None = None,
        limit: int = 100,
    ) -> list[BusinessException]:
        """Exceptions, newest first, filtered."""
        wanted: dict[str, Any] = {
            "status": status,
            "exception_class": exception_class,
            "owner_queue": owner_queue,
        }
        hits = [
            e
            for e in self._uow.records().exceptions.values()
            if all(value is None or getattr(e, name) == value for name, value in wanted.items())
        ]
        hits.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return copy.deepcopy(hits[:limit])

    def update(
        self,
        exception_id: int,
        *,
        status: ExceptionStatus,
        assignee: str | None = None,
        note: str | None = None,
    ) -> None:
        """Move an exception along its queue; `assignee=None` keeps the assignee; moves join the history."""
        if exception_id not in self._uow.records().exceptions:
            raise UnknownExceptionError(f"There is no business exception {exception_id}; list the queue for ids.")
        now = utc_now()

        def update(records: _Records) -> None:
            current = records.exceptions[exception_id]
            new_assignee = assignee if assignee is not None else current.assignee
            details = copy.deepcopy(current.details)
            details["history"] = [
                *details.get("history", []),
                history_entry(now, status, new_assignee, note),
            ]
            records.exceptions[exception_id] = replace(
                current, status=status, assignee=new_assignee, details=details, updated_at=now
            )

        self._uow.change(update)

    def count_by_class(self) -> dict[str, int]:
        """Open (not resolved or dismissed) exceptions per class; classes with none are left out."""
        counts: dict[str, int] = {}
        for e in self._uow.records().exceptions.values():
            if e.status in PENDING:
                counts[e.exception_class.value] = counts.get(e.exception_class.value, 0) + 1
        return counts

    def count_by_class_and_owner(self) -> dict[tuple[str, str], int]:
        """Open exceptions per (class, owner queue)."""
        counts: dict[tuple[str, str], int] = {}
        for e in self._uow.records().exceptions.values():
            if e.status in PENDING:
                key = (e.exception_class.value, e.owner_queue)
                counts[key] = counts.get(key, 0) + 1
        return counts


class MemoryCursors:
    """Cursors in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, name: str) -> str | None:
        """The stored cursor."""
        return self._uow.records().cursors.get(name)

    def set(self, name: str, value: str) -> None:
        """Store the cursor."""
        self._uow.change(lambda records: records.cursors.__setitem__(name, value))


class MemoryGoldenRecords:
    """GoldenRecords in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, entity: str, canonical_id: str) -> GoldenRecord | None:
        """The golden record, if the object has been seen."""
        return copy.deepcopy(self._uow.records().golden.get((entity, canonical_id)))

    def put(self, record: GoldenRecord) -> GoldenRecord:
        """Store the record as the next version and return what was stored."""
        stored = replace(
            record,
            document=_as_stored(record.document),
            sources=dict(record.sources),
            views=_as_stored(record.views),
            version=record.version + 1,
            updated_at=utc_now(),
        )
        self._uow.change(lambda records: records.golden.__setitem__((record.entity, record.canonical_id), stored))
        return copy.deepcopy(stored)


def _stored_value(value: Any) -> Any:
    """A JSON column's value as it reads back."""
    return json.loads(json.dumps(value))


class MemoryProcessRepository:
    """ProcessRepository in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def create(self, instance: ProcessInstance) -> bool:
        """Insert a new instance; False when a live instance of the definition already has the business key."""
        records = self._uow.records()
        if instance.id in records.instances:
            return False
        for known in records.instances.values():
            same_key = (known.definition, known.business_key) == (instance.definition, instance.business_key)
            if same_key and known.state.live and instance.state.live:
                return False
        now = utc_now()
        created_at = stamp(instance.created_at, now)
        row = replace(
            instance,
            input=_as_stored(instance.input),
            result=_stored_value(instance.result),
            created_at=created_at,
            updated_at=stamp(instance.updated_at, created_at),
        )
        self._uow.change(lambda r: r.instances.__setitem__(row.id, row))
        return True

    def get(self, instance_id: str, *, for_update: bool = False) -> ProcessInstance | None:
        """One instance; a writing unit already holds the store's lock, so `for_update` needs nothing more."""
        return copy.deepcopy(self._uow.records().instances.get(instance_id))

    def find(self, definition: str, business_key: str) -> ProcessInstance | None:
        """The live instance for the key, else the newest finished one."""
        hits = [
            i
            for i in self._uow.records().instances.values()
            if (i.definition, i.business_key) == (definition, business_key)
        ]
        if not hits:
            return None
        return copy.deepcopy(max(hits, key=lambda i: (i.state.live, i.created_at, i.id)))

    def update(self, instance: ProcessInstance) -> None:
        """Write every field of an existing instance."""
        records = self._uow.records()
        current = records.instances.get(instance.id)
        if current is None:
            return
        row = replace(
            instance,
            input=_as_stored(instance.input),
            result=_stored_value(instance.result),
            created_at=current.created_at,
            updated_at=utc_now(),
        )
        self._uow.change(lambda r: r.instances.__setitem__(row.id, row))

    def steps(self, instance_ids: Sequence[str]) -> dict[str, list[ProcessStep]]:
        """The journal of each instance, by seq."""
        journals = self._uow.records().steps
        return {
            instance_id: [row for _, row in sorted(journals.get(instance_id, {}).items())]
            for instance_id in instance_ids
        }

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        versions: Sequence[tuple[str, int]],
        limit: int,
    ) -> list[ProcessInstance]:
        """Take up to `limit` due instances of the given definition versions under a lease."""
        records = self._uow.records()
        wanted = set(versions)
        due = sorted(
            (
                i
                for i in records.instances.values()
                if i.state in CLAIMABLE_STATES
                and (i.definition, i.version) in wanted
                and (i.owner is None or (i.lease_until is not None and i.lease_until < now))
                and (
                    (i.wake_at is not None and i.wake_at <= now)
                    or i.state is ProcessState.RUNNING
                    or (i.state is ProcessState.WAITING and self._signal_waits(records, i))
                )
            ),
            key=lambda i: (i.wake_at or now, i.id),
        )[: max(limit, 0)]
        resting = (ProcessState.RUNNABLE, ProcessState.WAITING, ProcessState.SLEEPING)
        claimed = [
            replace(
                i,
                owner=owner,
                lease_until=lease_until,
                lease_token=i.lease_token + 1,
                state=ProcessState.RUNNING if i.state in resting else i.state,
                updated_at=now,
            )
            for i in due
        ]
        if claimed:
            self._uow.change(lambda r: r.instances.update({i.id: i for i in claimed}))
        return copy.deepcopy(claimed)

    @staticmethod
    def _signal_waits(records: _Records, instance: ProcessInstance) -> bool:
        return any(
            s.consumed_by is None and (s.event_type, s.correlation_key) == (instance.wait_type, instance.wait_key)
            for s in records.signals.values()
        )

    def fence(self, leases: Mapping[str, int], *, lease_until: datetime | None, now: datetime) -> set[str]:
        """The instances whose lease token is current (renewed to `lease_until` if given); the others were lost."""
        instances = self._uow.records().instances
        held = {i for i, token in leases.items() if i in instances and instances[i].lease_token == token}
        if held and lease_until is not None:
            renewed = {i: replace(instances[i], lease_until=lease_until) for i in held}
            self._uow.change(lambda r: r.instances.update(renewed))
        return held

    def save_steps(self, steps: Sequence[ProcessStep]) -> None:
        """Insert journal rows, or replace the rows with the same (instance, seq)."""
        rows = [replace(step, result=_stored_value(step.result)) for step in steps]

        def save(records: _Records) -> None:
            for row in rows:
                if row.instance_id not in records.instances:
                    raise StoreError(f"process instance {row.instance_id} does not exist; create it first")
                journal = dict(records.steps.get(row.instance_id, {}))
                journal[row.seq] = row
                records.steps[row.instance_id] = journal

        if rows:
            self._uow.change(save)

    def change(self, changes: Sequence[InstanceChange], *, now: datetime) -> None:
        """Apply journal writes' instance changes; releasing ones also clear the owner and lease."""

        def apply(records: _Records) -> None:
            for c in changes:
                current = records.instances.get(c.instance_id)
                if current is None:
                    continue
                records.instances[c.instance_id] = replace(
                    current,
                    state=c.state,
                    wake_at=c.wake_at,
                    wait_type=c.wait_type,
                    wait_key=c.wait_key,
                    result=_stored_value(c.result),
                    error=c.error,
                    owner=None if c.release else current.owner,
                    lease_until=None if c.release else current.lease_until,
                    updated_at=now,
                )

        if changes:
            self._uow.change(apply)

    def add_signal(self, signal: ProcessSignal, *, now: datetime) -> bool:
        """Keep a signal (False if its event id is known) and make instances waiting for it due now."""
        records = self._uow.records()
        if signal.event_id in records.signals:
            return False
        row = replace(
            signal,
            payload=_as_stored(signal.payload),
            received_at=stamp(signal.received_at, now),
            consumed_by=None,
            consumed_seq=None,
            consumed_at=None,
        )

        def add(r: _Records) -> None:
            r.signals[row.event_id] = row
            for i in list(r.instances.values()):
                if i.state is ProcessState.WAITING and (i.wait_type, i.wait_key) == (
                    row.event_type,
                    row.correlation_key,
                ):
                    r.instances[i.id] = replace(i, wake_at=now, updated_at=now)

        self._uow.change(add)
        return True

    def take_signal(
        self, event_type: str, correlation_key: str, *, instance_id: str, seq: int, now: datetime
    ) -> ProcessSignal | None:
        """Consume the oldest unconsumed signal of this type and key, if any."""
        waiting = [
            s
            for s in self._uow.records().signals.values()
            if s.consumed_by is None and (s.event_type, s.correlation_key) == (event_type, correlation_key)
        ]
        if not waiting:
            return None
        oldest = min(waiting, key=lambda s: (s.received_at, s.event_id))
        taken = replace(oldest, consumed_by=instance_id, consumed_seq=seq, consumed_at=now)
        self._uow.change(lambda r: r.signals.__setitem__(taken.event_id, taken))
        return copy.deepcopy(taken)

    def signals(self, *, consumed_by: str | None = None, limit: int = 100) -> list[ProcessSignal]:
        """Signals, oldest first; with `consumed_by`, those that instance consumed."""
        hits = [s for s in self._uow.records().signals.values() if consumed_by is None or s.consumed_by == consumed_by]
        hits.sort(key=lambda s: (s.received_at, s.event_id))
        return copy.deepcopy(hits[:limit])

    def record_action(self, action: ProcessAction) -> None:
        """Append an operator action to the audit trail."""
        row = replace(
            action, id=self._uow.store.next_id(), details=_as_stored(action.details), at=stamp(action.at, utc_now())
        )
        self._uow.change(lambda r: r.actions.append(row))

    def actions(self, instance_id: str) -> list[ProcessAction]:
        """An instance's operator actions, oldest first."""
        return copy.deepcopy([a for a in self._uow.records().actions if a.instance_id == instance_id])

    def list(
        self,
        *,
        state: ProcessState | None = None,
        definition: str | None = None,
        business_key: str | None = None,
        limit: int = 100,
    ) -> list[ProcessInstance]:
        """Instances, most recently changed first, filtered."""
        hits = [
            i
            for i in self._uow.records().instances.values()
            if (state is None or i.state is state)
            and (definition is None or i.definition == definition)
            and (business_key is None or i.business_key == business_key)
        ]
        hits.sort(key=lambda i: (i.updated_at, i.id), reverse=True)
        return copy.deepcopy(hits[:limit])

    def count_by_state(self) -> dict[str, int]:
        """Instances per state; states with none are left out."""
        counts: dict[str, int] = {}
        for instance in self._uow.records().instances.values():
            counts[instance.state.value] = counts.get(instance.state.value, 0) + 1
        return counts


class MemoryOutbox:
    """Outbox in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        """Store events in order; an event id already stored is ignored."""
        now = utc_now()
        rows = [
            replace(
                entry,
                event=replace(entry.event, data=_as_stored(entry.event.data)),
                position=self._uow.store.next_id(),
                created_at=stamp(entry.created_at, now),
                published_at=None,
            )
            for entry in entries
        ]

        def add(records: _Records) -> None:
            for row in rows:
                records.outbox.setdefault(row.event.id, row)

        if rows:
            self._uow.change(add)

    def pending(self, limit: int = 500) -> list[OutboxEntry]:
        """Unpublished events in the order they were stored."""
        hits = [e for e in self._uow.records().outbox.values() if e.published_at is None]
        hits.sort(key=lambda e: e.position or 0)
        return copy.deepcopy(hits[:limit])

    def for_instance(self, instance_id: str, limit: int = 500) -> list[OutboxEntry]:
        """The events a process instance emitted, in order."""
        hits = [e for e in self._uow.records().outbox.values() if e.instance_id == instance_id]
        hits.sort(key=lambda e: e.position or 0)
        return copy.deepcopy(hits[:limit])

    def mark_published(self, event_ids: Sequence[str], *, now: datetime) -> None:
        """Record that these events are in the log."""

        def mark(records: _Records) -> None:
            for event_id in event_ids:
                entry = records.outbox.get(event_id)
                if entry is not None:
                    records.outbox[event_id] = replace(entry, published_at=now)

        self._uow.change(mark)
