"""Capturing a flow's changes from its source: read → map to canonical → govern → log → advance the cursor.

Invariant 1 (nothing acknowledged is lost): the cursor moves only after the events are durably in the log. A crash
in between re-reads the same records; event ids and canonical ids are derived from the record, so the re-read
produces the same events and the log's de-duplication drops them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from crossdock.events.envelope import CloudEvent, event_type, new_traceparent
from crossdock.ports.connector import Connector, ConnectorError, SourceRecord, StampsCanonicalIds
from crossdock.ports.store import (
    BusinessException,
    CrossReference,
    ExceptionClass,
    LineageEntry,
    Store,
    UnitOfWork,
)
from crossdock.sync.flow import Flow, system_source
from crossdock.sync.governance import CapturedChange, ChangeGovernor, EchoSuppressor, content_hash
from crossdock.sync.mappings import Mappings
from crossdock.sync.publish import EventRefusedError, Publisher

logger = logging.getLogger(__name__)
_IDS = uuid.UUID("6f1d2c8e-3b7a-4f51-9a8e-2c4d5b6a7e90")  # namespace for ids derived from source records


def canonical_id_for(entity: str, system: str, local_id: str) -> str:
    """The canonical id minted for a record first seen in `system`: the same on every re-read."""
    return str(uuid.uuid5(_IDS, f"{entity}|{system}|{local_id}"))


@dataclass(slots=True)
class CaptureReport:
    """What one capture pass did."""

    read: int = 0
    published: int = 0
    duplicates: int = 0
    stamped: int = 0
    echoes: int = 0
    held_back: int = 0
    quarantined: int = 0
    exceptions: int = 0
    cursor: str | None = None
    more: bool = False
    reasons: list[str] = field(default_factory=list)


class CaptureRunner:
    """Polls one flow's source system and publishes its changes as canonical events."""

    def __init__(
        self,
        flow: Flow,
        connector: Connector,
        store: Store,
        publisher: Publisher,
        mappings: Mappings,
        governor: ChangeGovernor | None = None,
        *,
        verbs: tuple[str, str] = ("created", "updated"),
    ) -> None:
        self.flow = flow
        self._connector = connector
        self._store = store
        self._publisher = publisher
        self._entity = flow.source_entity or flow.entity
        self._inbound = mappings.inbound(flow.source_system, self._entity)
        self._governor: ChangeGovernor = governor or EchoSuppressor()
        self._verbs = verbs
        self.cursor_name = f"capture.{flow.name}.{flow.source_system}"

    async def poll_once(self, limit: int = 500) -> CaptureReport:
        """Read one page of changes and log them; the cursor advances only after the append is durable."""
        cursor = await asyncio.to_thread(self._read_cursor)
        batch = await self._connector.read_changes(self._entity, cursor, limit)
        report = CaptureReport(read=len(batch.records), cursor=batch.next_cursor, more=batch.more)
        if batch.records:
            events, first_seen = await asyncio.to_thread(self._govern, batch.records, report)
            if events:
                results = await self._publisher.append_checked(events)
                report.duplicates = sum(1 for result in results if result.duplicate)
                report.published = len(results) - report.duplicates
            if first_seen:
                await self._stamp(first_seen, report)
        if batch.next_cursor is not None and batch.next_cursor != cursor:
            await asyncio.to_thread(self._write_cursor, batch.next_cursor)
        return report

    def _read_cursor(self) -> str | None:
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.cursors.get(self.cursor_name)

    def _write_cursor(self, value: str) -> None:
        with self._store.unit_of_work() as uow:
            uow.cursors.set(self.cursor_name, value)
            uow.commit()

    async def _stamp(self, first_seen: list[tuple[str, str]], report: CaptureReport) -> None:
        """Write canonical ids into the source's new records; best effort, as the cross-reference holds the link."""
        if not isinstance(self._connector, StampsCanonicalIds):
            return
        try:
            await self._connector.stamp_canonical_ids(self._entity, first_seen)
        except ConnectorError as exc:
            logger.warning("could not stamp canonical ids into %s: %s", self.flow.source_system, exc)
            report.reasons.append(f"canonical ids not stamped: {exc}")
            return
        report.stamped = len(first_seen)

    def _govern(
        self, records: list[SourceRecord], report: CaptureReport
    ) -> tuple[list[CloudEvent], list[tuple[str, str]]]:
        events: list[CloudEvent] = []
        first_seen: list[tuple[str, str]] = []
        with self._store.unit_of_work() as uow:
            for record in records:
                event = self._capture_one(uow, record, report, first_seen)
                if event is not None:
                    events.append(event)
            uow.commit()
        return events, first_seen

    def _capture_one(
        self, uow: UnitOfWork, record: SourceRecord, report: CaptureReport, first_seen: list[tuple[str, str]]
    ) -> CloudEvent | None:
        flow, system = self.flow, self.flow.source_system
        ref = uow.xrefs.find_canonical(flow.entity, system, record.local_id)
        if ref is not None:
            canonical_id = ref.canonical_id
        else:
            canonical_id = record.canonical_id or canonical_id_for(flow.entity, system, record.local_id)
        if record.deleted:
            # Deletes are never propagated silently: a person decides what a delete in one system means.
            self._quarantine(
                uow,
                record,
                report,
                ExceptionClass.POLICY_VIOLATION,
                canonical_id,
                f"{flow.entity} {record.local_id} was deleted in {system}; decide whether to delete, "
                f"deactivate or restore it in the other systems",
            )
            return None
        try:
            mapped = self._inbound(record.payload) if self._inbound is not None else dict(record.payload)
        except ValueError as exc:
            self._quarantine(
                uow,
                record,
                report,
                ExceptionClass.DATA_QUALITY,
                canonical_id,
                f"cannot map {flow.entity} {record.local_id} from {system}: {exc}",
            )
            return None
        digest = content_hash(mapped)
        change = CapturedChange(
            flow.name,
            system,
            flow.entity,
            canonical_id,
            record.local_id,
            {**mapped, "id": canonical_id},
            record.payload,
            ref is None,
            digest,
        )
        verdict = self._governor.review(change, uow)
        for exception in verdict.exceptions:
            uow.exceptions.raise_exception(exception)
            report.exceptions += 1
        if verdict.canonical_id is not None:
            canonical_id = verdict.canonical_id  # master data matched it to a golden record we have
        # The source now holds this content: a re-read of the same content is nothing new (an echo), and a
        # delivery of the same state back to this system is skipped.
        uow.xrefs.link(CrossReference(flow.entity, canonical_id, system, record.local_id, digest, datetime.now(UTC)))
        if ref is None:
            first_seen.append((record.local_id, canonical_id))
        if not verdict.publish:
            if verdict.reason and verdict.reason.startswith("echo"):
                report.echoes += 1
            else:
                report.held_back += 1
                report.reasons.append(verdict.reason or "held back by governance")
            return None
        keys = {f"{system}_id": record.local_id}
        event_id = str(uuid.uuid5(_IDS, f"{flow.name}|{system}|{record.local_id}|{record.changed_at}|{digest}"))
        event = CloudEvent(
            type=event_type(flow.entity, self._verbs[0] if ref is None else self._verbs[1]),
            source=system_source(system),
            subject=canonical_id,
            data=verdict.canonical if verdict.canonical is not None else change.canonical,
            id=event_id,
            traceparent=new_traceparent(),
            correlationid=event_id,  # a captured change starts its own business transaction
            businesskeys=keys,
        )
        try:
            self._publisher.check(event)
        except EventRefusedError as exc:
            self._quarantine(
                uow,
                record,
                report,
                ExceptionClass.CONTRACT_VIOLATION,
                canonical_id,
                f"{flow.entity} {record.local_id} from {system} breaks the event contract: {exc}",
            )
            return None
        uow.lineage.record(
            [
                LineageEntry(
                    correlation_id=event.id,
                    system=system,
                    step=f"capture.{flow.entity}",
                    outcome="captured",
                    subject=canonical_id,
                    event_id=event.id,
                    business_keys=keys,
                    detail={"flow": flow.name, "changed_at": record.changed_at},
                    started_at=datetime.now(UTC),
                )
            ]
        )
        return event

    def _quarantine(
        self,
        uow: UnitOfWork,
        record: SourceRecord,
        report: CaptureReport,
        cls: ExceptionClass,
        canonical_id: str,
        reason: str,
    ) -> None:
        report.quarantined += 1
        uow.exceptions.raise_exception(
            BusinessException(
                exception_class=cls,
                reason=reason,
                owner_queue=f"{self.flow.source_system}-{self.flow.entity}",
                flow=self.flow.name,
                system=self.flow.source_system,
                entity=self.flow.entity,
                subject=canonical_id,
                raw_payload=orjson.dumps(record.payload, default=str).decode(),
                details={"local_id": record.local_id, "changed_at": record.changed_at},
            )
        )
