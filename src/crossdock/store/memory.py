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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

from crossdock.ports.store import (
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
    LineageEntry,
    LineageLog,
)
from crossdock.store.errors import (
    CrossReferenceConflictError,
    DuplicateDeliveryError,
    StoreError,
    UnitOfWorkError,
    UnknownExceptionError,
)
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

    def copy(self) -> _Records:
        """A copy whose containers can change without touching this one."""
        return _Records(
            dict(self.xrefs),
            dict(self.xref_by_local),
            dict(self.journal),
            list(self.lineage),
            dict(self.exceptions),
            dict(self.cursors),
            dict(self.golden),
        )


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

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        """A new unit of work (use as a context manager)."""
        return MemoryUnitOfWork(self, read_only=read_only)

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def dispose(self) -> None:
        """Nothing to close in memory."""

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
