"""Delivering a flow's events to one target: idempotent, retried, in order per subject.

Exactly-once effects rest on three things: the delivery journal (checked before writing, committed before the log
ack), the cross-reference (the target's local id, so a write is an update, not a second create), and the target's
own upsert by external id (so a write repeated after a crash between the write and the journal commit changes
nothing). Order per subject rests on sending a batch in waves (the n-th change of each subject in wave n) and on
stopping a partition at its first failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from crossdock.ports.connector import Connector, ConnectorError, ErrorKind, UpsertRequest, UpsertResult
from crossdock.ports.event_log import EventLog, LoggedEvent, NackOutcome
from crossdock.ports.store import (
    BusinessException,
    CrossReference,
    Delivery,
    DeliveryOutcome,
    DuplicateDeliveryError,
    ExceptionClass,
    LineageEntry,
    Store,
    UnitOfWork,
)
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.governance import content_hash
from crossdock.sync.mappings import Mappings, RecordMapper

logger = logging.getLogger(__name__)

# Failures that say the system is unwell rather than the record: they pause delivery without using up attempts.
_NOT_THE_EVENTS_FAULT = frozenset({ErrorKind.DOWNSTREAM_OUTAGE, ErrorKind.CONFIGURATION})
_SYSTEM_WAIT_S = 30.0

_EXCEPTION_CLASS = {
    ErrorKind.DATA_QUALITY: ExceptionClass.DATA_QUALITY,
    ErrorKind.TRANSIENT: ExceptionClass.TRANSIENT,
    ErrorKind.CONFIGURATION: ExceptionClass.DOWNSTREAM_OUTAGE,
    ErrorKind.DOWNSTREAM_OUTAGE: ExceptionClass.DOWNSTREAM_OUTAGE,
}


@dataclass(slots=True)
class _Item:
    """One event on its way to the target, and what became of it."""

    logged: LoggedEvent
    request: UpsertRequest | None = None
    outcome: DeliveryOutcome | None = None
    written_hash: str | None = None
    written_view: dict[str, Any] | None = None  # what the target will read back, in canonical terms
    local_id: str | None = None
    error: ConnectorError | None = None
    exception: BusinessException | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def done(self) -> bool:
        return self.outcome is not None


@dataclass(slots=True)
class DeliveryReport:
    """What one pass of a delivery runner did."""

    fetched: int = 0
    delivered: int = 0
    unchanged: int = 0
    already_journaled: int = 0
    quarantined: int = 0
    retried: int = 0
    waiting: int = 0  # paused because the target system is down or misconfigured
    dead_lettered: int = 0
    not_for_this_flow: int = 0
    errors: list[str] = field(default_factory=list)


class DeliveryRunner:
    """Delivers one flow to one target through the consumer group `flow.<name>.<target>`."""

    def __init__(
        self,
        flow: Flow,
        target: FlowTarget,
        connector: Connector,
        store: Store,
        log: EventLog,
        mappings: Mappings,
        *,
        consumer: str,
        rng: random.Random | None = None,
    ) -> None:
        self.flow = flow
        self.target = target
        self.group = flow.group(target)
        self._connector = connector
        self._store = store
        self._log = log
        self._outbound: RecordMapper | None = mappings.outbound(target.system, target.entity)
        # What the target will hand back when Crossdock reads the record again: the basis of echo detection.
        self._read_back: RecordMapper | None = mappings.inbound(target.system, target.entity)
        self._consumer = consumer
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter

    async def run_once(self, wait_s: float = 1.0) -> DeliveryReport:
        """Fetch one batch, deliver it, journal it, then ack or nack it."""
        report = DeliveryReport()
        batch = await self._log.fetch(self.group, self._consumer, max_events=self.flow.batch_size, wait_s=wait_s)
        if not batch:
            return report
        report.fetched = len(batch)
        items = [_Item(logged) for logged in batch]
        ids = [item.logged.event.id for item in items if self.flow.carries(item.logged.event)]
        journaled, refs = await asyncio.to_thread(self._lookup, ids, items)
        for item in items:
            event = item.logged.event
            if not self.flow.carries(event):
                item.outcome = DeliveryOutcome.UNCHANGED
                report.not_for_this_flow += 1
            elif event.id in journaled:
                item.outcome = DeliveryOutcome.UNCHANGED
                report.already_journaled += 1
            else:
                self._prepare(item, refs.get(event.subject))
        fresh = [
            item for item in items if item.logged.event.id not in journaled and self.flow.carries(item.logged.event)
        ]
        try:
            await self._write_in_waves(items, [item for item in fresh if item.done])
        except DuplicateDeliveryError:
            # Another worker journaled some of these first (a lease moved mid-batch). Nothing more is acked; the
            # batch comes again and the journal sorts out what is left.
            logger.warning("flow %s → %s: deliveries already journaled elsewhere", self.flow.name, self.target.system)
            report.errors.append("duplicate delivery journaled by another worker")
            return report
        await self._settle(items, report)
        return report

    def _lookup(self, ids: list[str], items: list[_Item]) -> tuple[set[str], dict[str, CrossReference]]:
        subjects = {item.logged.event.subject for item in items if self.flow.carries(item.logged.event)}
        with self._store.unit_of_work(read_only=True) as uow:
            journaled = uow.journal.delivered(self.flow.name, self.target.system, ids) if ids else set()
            refs: dict[str, CrossReference] = {}
            for subject in subjects:
                ref = uow.xrefs.find_local(self.target.entity, subject, self.target.system)
                if ref is not None:
                    refs[subject] = ref
        return journaled, refs

    def _prepare(self, item: _Item, ref: CrossReference | None) -> None:
        event = item.logged.event
        try:
            payload = self._outbound(event.data) if self._outbound is not None else dict(event.data)
            read_back = self._read_back(payload) if self._read_back is not None else payload
        except ValueError as exc:
            item.outcome = DeliveryOutcome.QUARANTINED
            item.exception = self._exception(
                item, ExceptionClass.DATA_QUALITY, f"cannot map for {self.target.system}: {exc}"
            )
            return
        item.written_hash = content_hash(read_back)
        item.written_view = read_back
        if ref is not None and ref.written_hash == item.written_hash:
            item.outcome = DeliveryOutcome.UNCHANGED  # the target already holds exactly this
            item.local_id = ref.local_id
            return
        item.request = UpsertRequest(
            canonical_id=event.subject,
            payload=payload,
            local_id=ref.local_id if ref is not None else None,
            event_id=event.id,
        )

    async def _write_in_waves(self, items: list[_Item], settled: list[_Item]) -> None:
        """Send the batch wave by wave, journaling each wave before the next one is sent.

        A wave holds at most one change per subject, so a crash between a wave's writes and its journal commit only
        ever repeats a write whose state the target already holds (an upsert that changes nothing), never an older
        state over a newer one.
        """
        # Wave n holds the n-th change of each subject, and a partition's items never go to an earlier wave than
        # the item before them: so when an item fails, everything before it in its partition was already sent.
        waves: list[list[_Item]] = []
        next_wave: dict[str, int] = defaultdict(int)
        partition_wave: dict[int, int] = defaultdict(int)
        for item in items:
            if item.request is None:
                continue
            subject, part = item.logged.event.subject, item.logged.partition
            index = max(next_wave[subject], partition_wave[part])
            next_wave[subject] = index + 1
            partition_wave[part] = index
            while len(waves) <= index:
                waves.append([])
            waves[index].append(item)
        blocked: set[int] = set()
        pending = settled  # decided without writing (quarantined, unchanged): journaled with the first wave
        for wave in waves:
            sendable = [item for item in wave if item.logged.partition not in blocked]
            if not sendable:
                continue
            started = time.perf_counter()
            results = await self._upsert([item.request for item in sendable if item.request is not None])
            finished = time.perf_counter()
            for item, result in zip(sendable, results, strict=True):
                item.started, item.finished = started, finished
                self._apply(item, result)
                if item.error is not None:
                    blocked.add(item.logged.partition)
            await asyncio.to_thread(self._journal, pending + [item for item in sendable if item.done])
            pending = []
        if pending:
            await asyncio.to_thread(self._journal, pending)

    async def _upsert(self, requests: list[UpsertRequest]) -> list[UpsertResult]:
        try:
            results = await self._connector.upsert(self.target.entity, requests)
        except ConnectorError as exc:
            return [UpsertResult(r.canonical_id, error=exc) for r in requests]
        if len(results) != len(requests):
            error = ConnectorError(
                ErrorKind.CONFIGURATION,
                f"{self.target.system} answered {len(results)} results for {len(requests)} records",
            )
            return [UpsertResult(r.canonical_id, error=error) for r in requests]
        return results

    def _apply(self, item: _Item, result: UpsertResult) -> None:
        if result.error is None:
            item.outcome = DeliveryOutcome.DELIVERED
            item.local_id = result.local_id or (item.request.local_id if item.request else None)
        elif result.error.kind is ErrorKind.DATA_QUALITY:
            item.outcome = DeliveryOutcome.QUARANTINED
            item.exception = self._exception(
                item, ExceptionClass.DATA_QUALITY, f"{self.target.system} refused the record: {result.error}"
            )
        else:
            item.error = result.error

    def _exception(self, item: _Item, cls: ExceptionClass, reason: str) -> BusinessException:
        event = item.logged.event
        return BusinessException(
            exception_class=cls,
            reason=reason,
            owner_queue=f"{self.target.system}-{self.flow.entity}",
            flow=self.flow.name,
            system=self.target.system,
            entity=self.flow.entity,
            subject=event.subject,
            event_id=event.id,
            correlation_id=event.correlationid,
            raw_payload=orjson.dumps(event.to_dict()).decode(),
        )

    def _journal(self, items: list[_Item]) -> None:
        if not items:
            return
        now = datetime.now(UTC)
        with self._store.unit_of_work() as uow:
            uow.journal.record(
                [
                    Delivery(
                        self.flow.name,
                        self.target.system,
                        i.logged.event.id,
                        i.logged.event.subject,
                        i.outcome or DeliveryOutcome.DELIVERED,
                        i.local_id,
                        now,
                    )
                    for i in items
                ]
            )
            for item in items:
                event = item.logged.event
                if item.outcome is DeliveryOutcome.DELIVERED and item.written_view is not None:
                    self._remember_view(uow, event.subject, item.written_view)
                if item.outcome is DeliveryOutcome.DELIVERED and item.local_id is not None:
                    if self._claimed_by_another(uow, item):
                        continue
                    uow.xrefs.link(
                        CrossReference(
                            self.target.entity,
                            event.subject,
                            self.target.system,
                            item.local_id,
                            item.written_hash,
                            now,
                        )
                    )
                if item.exception is not None:
                    uow.exceptions.raise_exception(item.exception)
            uow.lineage.record([self._lineage(item, now) for item in items])
            uow.commit()

    def _claimed_by_another(self, uow: UnitOfWork, item: _Item) -> bool:
        """The target answered with a record already linked to another object: two canonical ids for one record.

        That is a duplicate for a person to resolve (merge or unlink), not something to overwrite silently."""
        assert item.local_id is not None
        holder = uow.xrefs.find_canonical(self.target.entity, self.target.system, item.local_id)
        if holder is None or holder.canonical_id == item.logged.event.subject:
            return False
        uow.exceptions.raise_exception(
            replace(
                self._exception(
                    item,
                    ExceptionClass.DUPLICATE,
                    f"{self.target.system} {self.target.entity} {item.local_id} is linked to "
                    f"{holder.canonical_id}, but the write for {item.logged.event.subject} landed on it too; "
                    f"merge the two or unlink one",
                ),
                details={
                    "local_id": item.local_id,
                    "linked_to": holder.canonical_id,
                    "written_for": item.logged.event.subject,
                },
                dedupe_key=f"xref-conflict|{self.target.system}|{item.local_id}|{item.logged.event.subject}",
            )
        )
        return True

    def _remember_view(self, uow: UnitOfWork, canonical_id: str, view: dict[str, Any]) -> None:
        """The target now holds this: the next change read from it is judged against it (ownership)."""
        golden = uow.golden.get(self.flow.entity, canonical_id)
        if golden is None:
            return
        views = {**golden.views, self.target.system: {k: v for k, v in view.items() if k != "id"}}
        uow.golden.put(replace(golden, views=views))

    def _lineage(self, item: _Item, now: datetime) -> LineageEntry:
        event = item.logged.event
        detail: dict[str, Any] = {"flow": self.flow.name, "attempt": item.logged.attempt}
        if item.local_id:
            detail["local_id"] = item.local_id
        return LineageEntry(
            correlation_id=event.correlationid or event.id,
            system=self.target.system,
            step=f"deliver.{self.target.entity}",
            outcome=(item.outcome or DeliveryOutcome.DELIVERED).value,
            subject=event.subject,
            event_id=event.id,
            business_keys=dict(event.businesskeys or {}),
            detail=detail,
            started_at=now,
            duration_ms=round((item.finished - item.started) * 1000, 3) if item.finished else None,
        )

    async def _settle(self, items: list[_Item], report: DeliveryReport) -> None:
        to_ack: list[LoggedEvent] = []
        stopped: set[int] = set()
        for item in items:  # offset order within each partition, as fetched
            part = item.logged.partition
            if part in stopped:
                continue
            if item.done:
                to_ack.append(item.logged)
                self._count(item, report)
                continue
            stopped.add(part)
            if item.error is None:  # unreachable with monotone waves; never leave a partition without a rewind
                item.error = ConnectorError(ErrorKind.TRANSIENT, "not sent: an earlier delivery failed")
            await self._retry(item, report)
        if to_ack:
            await self._log.ack(self.group, self._consumer, to_ack)

    def _count(self, item: _Item, report: DeliveryReport) -> None:
        if item.outcome is DeliveryOutcome.DELIVERED:
            report.delivered += 1
        elif item.outcome is DeliveryOutcome.QUARANTINED:
            report.quarantined += 1
        elif self.flow.carries(item.logged.event) and item.request is None and item.written_hash is not None:
            report.unchanged += 1

    async def _retry(self, item: _Item, report: DeliveryReport) -> None:
        assert item.error is not None
        error = f"{item.error.kind.value}: {item.error}"
        report.errors.append(error)
        if item.error.kind in _NOT_THE_EVENTS_FAULT:
            await self._wait_for_system(item, error)
            report.waiting += 1
            return
        delay = self.target.retry.delay_s(item.logged.attempt, self._rng)
        if item.error.retry_after_s is not None:
            delay = max(delay, item.error.retry_after_s)
        outcome = await self._log.nack(
            self.group,
            self._consumer,
            item.logged,
            error=error,
            retry_in_s=delay,
            max_attempts=self.target.retry.max_attempts,
        )
        if outcome is NackOutcome.RETRY:
            report.retried += 1
            return
        report.dead_lettered += 1
        cls = _EXCEPTION_CLASS.get(item.error.kind, ExceptionClass.TRANSIENT)
        exception = self._exception(
            item, cls, f"delivery to {self.target.system} failed {item.logged.attempt} times; dead-lettered: {error}"
        )
        await asyncio.to_thread(self._raise, exception)

    async def _wait_for_system(self, item: _Item, error: str) -> None:
        """The target is down or misconfigured: pause the partition without spending the event's attempts."""
        assert item.error is not None
        delay = item.error.retry_after_s or _SYSTEM_WAIT_S
        await self._log.nack(
            self.group,
            self._consumer,
            item.logged,
            error=error,
            retry_in_s=delay,
            max_attempts=self.target.retry.max_attempts,
            count_attempt=False,
        )
        if item.error.kind is ErrorKind.CONFIGURATION:
            # A person must fix credentials or permissions; one exception per system and message, not per event.
            exception = replace(
                self._exception(
                    item,
                    ExceptionClass.DOWNSTREAM_OUTAGE,
                    f"{self.target.system} refuses Crossdock's calls; fix its configuration: {error}",
                ),
                raw_payload=None,
                dedupe_key=f"configuration|{self.target.system}|{error}",
            )
            await asyncio.to_thread(self._raise, exception)

    def _raise(self, exception: BusinessException) -> None:
        with self._store.unit_of_work() as uow:
            uow.exceptions.raise_exception(exception)
            uow.commit()
