"""Partner files in: each X12 transaction set that passes its spec becomes a business event, every functional
group gets a 997, and a file that cannot be read is refused with the reason, recorded with its raw content.

What each set becomes:
- 855 from a supplier: `po_acknowledgement.received`, for the PO found by its number (the 850's cross-reference);
  the 850 is marked answered, which stops its SLA clock.
- 856 from a supplier: `ship_notice.received`, each order naming our PO's canonical id, which quote-to-order waits
  on for a drop-ship purchase.
- 810 from a supplier: `invoice.received`, naming our PO's canonical id in `order_ids` (the PO number it quotes
  found through the 850's cross-reference), for booking against the ERP's purchase; journaled under the PO number.
- An 855 rejecting a PO in full is also journaled as CLOSED: no 856 or 810 is due for that PO any more.
- 846: `inventory_position.updated`, one per item and location.
- 850 from a customer: `order.submitted`, starting quote-to-order like an order from the CRM or the API.
- 997: journaled against what we sent.

Event ids come from the partner, the file's content hash and the set's position, so a file taken twice (a crash
between logging and moving it) logs nothing new.

CSV batches (`csv_files: inventory | orders | price_list`) are streamed: the mailbox hands them over as chunks while
they download, and `csv_batches` reads them row by row, so their size does not matter to memory. X12 interchanges
are read whole (up to the mailbox's `max_file_size`): a set's envelope counts are checked at its end.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from crossdock.edi.x12 import (
    TransactionSet,
    X12Error,
    X12Writer,
    acknowledge,
    read_transaction_sets,
    reply_parties,
    respond,
)
from crossdock.edi.x12.maps import (
    AckStatus,
    X12Context,
    functional_ack_to_x12,
    read_functional_ack,
    read_inventory_advice,
    read_invoice,
    read_po_acknowledgement,
    read_purchase_order,
    read_ship_notice,
    sales_order_request,
)
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.purchasing import AcknowledgementStatus
from crossdock.partners.control_numbers import StoreControlNumbers
from crossdock.partners.csv_batches import SCHEMAS, CsvBatchReader
from crossdock.partners.outbound import PO_ENTITY
from crossdock.partners.profiles import PartnerProfile
from crossdock.ports.partners import (
    CLOSED,
    DocumentDirection,
    InboundVerdict,
    PartnerDocument,
    PartnerMailbox,
    StreamedFiles,
)
from crossdock.ports.store import BusinessException, ExceptionClass, Store, UnitOfWork
from crossdock.sync.publish import EventRefusedError, Publisher

if TYPE_CHECKING:
    from crossdock.mdm.edi_buyers import BuyerScreen

logger = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("5b0f8f4e-7d1c-4a57-9c1e-3e2f6d8a1b42")
OWNER_QUEUE = "edi"
_MAX_RAW = 1_000_000  # characters of a refused file kept with its exception (the file itself stays in failed/)


@dataclass
class _Reading:
    """What one file yields: events to log, documents to journal, POs answered, sets refused."""

    events: list[CloudEvent] = field(default_factory=list)
    documents: list[PartnerDocument] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # PO numbers whose 850 an 855 answered
    refused: list[str] = field(default_factory=list)


class PartnerFileReader:
    """Turns one partner's files into events, 997s and journal entries."""

    def __init__(
        self,
        profile: PartnerProfile,
        store: Store,
        publisher: Publisher,
        mailbox: PartnerMailbox,
        *,
        clock: Callable[[], datetime],
        buyers: BuyerScreen | None = None,
    ) -> None:
        self.profile = profile
        self._store = store
        self._publisher = publisher
        self._mailbox = mailbox
        self._clock = clock
        self._buyers = buyers  # master data: an 850's buyer (N1*BY) matched against golden customers

    def streams(self, file_name: str) -> bool:
        """Whether a file is a CSV batch, read as it downloads."""
        return file_name.lower().endswith(".csv") and self.profile.csv_files is not None

    def streamed_files(self) -> StreamedFiles:
        """What the mailbox streams to this reader instead of reading whole."""
        return StreamedFiles(self.streams, self.accept_stream)

    async def accept(self, file_name: str, content: bytes) -> InboundVerdict:
        """Read a file from the partner's mailbox; `logged` once its events are in the log."""
        if self.streams(file_name):
            return await self.accept_stream(file_name, _single(content))
        digest = hashlib.sha256(content).hexdigest()
        try:
            sets, anomalies = read_transaction_sets(content, strict=self.profile.strict)
        except X12Error as error:
            reason = f"{file_name} is not a readable X12 interchange: {error}"
            self._refuse(file_name, content, digest, reason)
            return InboundVerdict.refused(reason)
        if not sets:
            reason = f"{file_name} holds no transaction sets"
            self._refuse(file_name, content, digest, reason)
            return InboundVerdict.refused(reason)
        reading = self._read(file_name, digest, sets)
        if self._buyers is not None:
            reading.events = await self._buyers.screen(sets, reading.events, self.profile.inbound_context())
        try:
            if reading.events:
                await self._publisher.publish(reading.events)
        except EventRefusedError as refused:
            reason = f"{file_name}: a document does not fit its event contract: {refused}"
            self._refuse(file_name, content, digest, reason)
            return InboundVerdict.refused(reason)
        acks = self._journal(file_name, content, reading)
        for name, payload in acks:
            try:
                await self._mailbox.send(name, payload)
            except Exception as error:  # noqa: BLE001 - the 997 is journaled; a failed send is not a failed file
                logger.warning("997 %s for %s not sent: %s", name, self.profile.name, error)
        if anomalies:
            logger.info("%s from %s: envelope anomalies %s", file_name, self.profile.name, anomalies)
        if reading.refused and not reading.events and not reading.documents:
            # Nothing in it could be used: failed/ (the 997 told the partner why, the exception holds the file).
            return InboundVerdict.refused(f"{file_name}: every document was refused: {'; '.join(reading.refused)}")
        return InboundVerdict.accepted()

    async def accept_stream(self, file_name: str, chunks: AsyncIterator[bytes]) -> InboundVerdict:
        """A CSV batch as it downloads: good rows logged, refused rows reported back as `<file>.errors.csv`."""
        if self.profile.csv_files is None:
            raise ValueError(f"{self.profile.name} sends no CSV batches; set csv_files in its partners: entry")
        schema = SCHEMAS[self.profile.csv_files]
        reader = CsvBatchReader(self.profile.name, self.profile.canonical_id, schema, self._publisher.publish)
        tap = _Tap(chunks)
        outcome = await reader.read(file_name, tap)
        if outcome.report is not None:
            try:
                await self._mailbox.send(f"{file_name}.errors.csv", outcome.report)
            except Exception as error:  # noqa: BLE001 - the report is a courtesy; the rows' fate is decided
                logger.warning("error report for %s not sent to %s: %s", file_name, self.profile.name, error)
        if not outcome.usable:
            reason = "; ".join(outcome.problems) or f"{file_name}: all {outcome.refused} rows were refused"
            # The exception keeps the file's beginning (the whole file stays in failed/), keyed by what was read.
            self._refuse(file_name, tap.head, tap.digest.hexdigest(), reason, size=tap.size)
            return InboundVerdict.refused(reason)
        logger.info(
            "%s from %s: %d rows taken, %d refused", file_name, self.profile.name, outcome.accepted, outcome.refused
        )
        return InboundVerdict.accepted()

    # --- reading ---

    def _read(self, file_name: str, digest: str, sets: Sequence[TransactionSet]) -> _Reading:
        reading = _Reading()
        context = self.profile.inbound_context()
        for index, transaction in enumerate(sets):
            response = respond(transaction)
            reference = transaction.control_number
            if response.status is AckStatus.REJECTED:
                reading.refused.append(f"{transaction.set_id} {reference}")
                continue
            try:
                with self._store.unit_of_work(read_only=True) as uow:
                    made = self._events_of(transaction, context, uow)
            except (X12Error, ValueError) as error:
                reading.refused.append(f"{transaction.set_id} {reference}: {error}")
                continue
            for n, (made_event, business_reference) in enumerate(made):
                event = CloudEvent(
                    type=made_event.type,
                    source=f"/partners/{self.profile.name}",
                    subject=made_event.subject,
                    data=made_event.data,
                    id=str(uuid.uuid5(_NAMESPACE, f"{self.profile.name}:{digest}:{index}:{n}")),
                    correlationid=business_reference,
                    businesskeys={"partner": self.profile.name, "file": file_name, "x12": transaction.set_id},
                    partnerid=self.profile.canonical_id,
                )
                reading.events.append(event)
            first_reference = made[0][1] if made else reference
            reading.documents.append(
                PartnerDocument(
                    partner=self.profile.name,
                    direction=DocumentDirection.INBOUND,
                    kind=transaction.set_id,
                    reference=first_reference,
                    control_number=reference,
                    file_name=file_name,
                    event_id=reading.events[-1].id if made else None,
                    at=self._clock(),
                )
            )
            if transaction.set_id == "855":
                reading.answered.append(first_reference)
                if made and made[0][0].data.get("status") == AcknowledgementStatus.REJECTED.value:
                    # Rejected in full: no 856 or 810 will follow, and their SLA clocks stop here.
                    reading.documents.append(replace(reading.documents[-1], kind=CLOSED))
        return reading

    def _events_of(
        self, transaction: TransactionSet, context: X12Context, uow: UnitOfWork
    ) -> list[tuple[CloudEvent, str]]:
        """The events a set becomes, each with the business reference it is about."""
        set_id = transaction.set_id
        if set_id == "855":
            ack = read_po_acknowledgement(transaction, context)
            ack = ack.model_copy(update={"purchase_order_id": self._our_po(uow, ack.po_number, ack.purchase_order_id)})
            return [(_event("po_acknowledgement", "received", ack.id, ack), ack.po_number)]
        if set_id == "856":
            notice = read_ship_notice(transaction, context)
            orders = [
                order.model_copy(
                    update={"purchase_order_id": self._our_po(uow, order.po_number, order.purchase_order_id)}
                )
                for order in notice.orders
            ]
            notice = notice.model_copy(update={"orders": orders})
            first = notice.orders[0].po_number if notice.orders else notice.number
            return [(_event("ship_notice", "received", notice.id, notice), first)]
        if set_id == "810":
            invoice = read_invoice(transaction, context)
            po_id = self._our_po(uow, invoice.customer_po, None) if invoice.customer_po else None
            if po_id is not None and po_id not in invoice.order_ids:
                invoice = invoice.model_copy(update={"order_ids": [po_id, *invoice.order_ids]})
            # Journaled under the PO it bills, like the 855 and 856 (an 810 quoting no PO: its own number).
            return [(_event("invoice", "received", invoice.id, invoice), invoice.customer_po or invoice.number)]
        if set_id == "846":
            return [
                (_event("inventory_position", "updated", position.id, position), position.id)
                for position in read_inventory_advice(transaction, context)
            ]
        if set_id == "850" and not self.profile.is_supplier:
            purchase_order = read_purchase_order(transaction, context)
            order = sales_order_request(purchase_order, self.profile.canonical_id)
            return [(_event("order", "submitted", order.id, order), purchase_order.number)]
        if set_id == "997":
            read_functional_ack(transaction)  # journaled only; an unreadable 997 is refused like any other set
            return []
        raise ValueError(f"a {set_id} from a {self.profile.role} is not a document Crossdock takes")

    def _our_po(self, uow: UnitOfWork, po_number: str, mapped: str | None) -> str | None:
        """Our canonical id of the PO a supplier quotes by number (recorded when its 850 went out)."""
        found = uow.xrefs.find_canonical(PO_ENTITY, self.profile.system, po_number)
        return found.canonical_id if found is not None else mapped

    # --- journal, 997s, refusals ---

    def _journal(self, file_name: str, content: bytes, reading: _Reading) -> list[tuple[str, bytes]]:
        """Journal what the file held, mark answered 850s, make the 997s; return the 997 files to send."""
        acks: list[tuple[str, bytes]] = []
        now = self._clock()
        with self._store.unit_of_work() as uow:
            for document in reading.documents:
                uow.partners.record(document)
            for po_number in reading.answered:
                uow.partners.mark_answered(self.profile.name, "850", po_number, at=now)
            if reading.refused:
                self._raise(uow, f"{file_name}: sets refused: {'; '.join(reading.refused)}", content, file_name)
            if self.profile.send_997:
                acks = self._acknowledgements(uow, file_name, content)
            uow.commit()
        return acks

    def _acknowledgements(self, uow: UnitOfWork, file_name: str, content: bytes) -> list[tuple[str, bytes]]:
        files = []
        for n, (group, ack) in enumerate(acknowledge(content)):
            if group.functional_id == "FA":
                continue  # a 997 is never acknowledged
            existing = uow.partners.find(self.profile.name, DocumentDirection.OUTBOUND, "997", f"{file_name}#{n}")
            if existing and existing[0].payload is not None and existing[0].file_name is not None:
                files.append((existing[0].file_name, existing[0].payload))
                continue
            writer = X12Writer(
                reply_parties(group),
                StoreControlNumbers(uow),
                delimiters=self.profile.delimiters,
                version=self.profile.version,
                usage=self.profile.usage,
                clock=self._clock,
            )
            payload = writer.write(functional_ack_to_x12(ack))
            name = f"997_{group.control_number}_{hashlib.sha256(payload).hexdigest()[:8]}.edi"
            uow.partners.record(
                PartnerDocument(
                    partner=self.profile.name,
                    direction=DocumentDirection.OUTBOUND,
                    kind="997",
                    reference=f"{file_name}#{n}",
                    file_name=name,
                    payload=payload,
                    at=self._clock(),
                )
            )
            files.append((name, payload))
        return files

    def _refuse(self, file_name: str, content: bytes, digest: str, reason: str, *, size: int | None = None) -> None:
        with self._store.unit_of_work() as uow:
            dedupe = f"edi-file:{self.profile.name}:{digest}"
            self._raise(uow, reason, content, file_name, dedupe=dedupe, size=size)
            uow.commit()

    def _raise(
        self,
        uow: UnitOfWork,
        reason: str,
        content: bytes,
        file_name: str,
        dedupe: str | None = None,
        *,
        size: int | None = None,
    ) -> None:
        text = content.decode("utf-8", errors="replace")
        uow.exceptions.raise_exception(
            BusinessException(
                exception_class=ExceptionClass.DATA_QUALITY,
                reason=reason,
                owner_queue=OWNER_QUEUE,
                system=self.profile.system,
                entity="edi_file",
                subject=file_name,
                raw_payload=text[:_MAX_RAW],
                details={
                    "partner": self.profile.name,
                    "file": file_name,
                    "bytes": len(content) if size is None else size,
                    "raw_base64": base64.b64encode(content[:_MAX_RAW]).decode() if "\ufffd" in text else None,
                },
                dedupe_key=dedupe or f"edi-sets:{self.profile.name}:{file_name}:{hashlib.sha256(content).hexdigest()}",
            )
        )


def _event(entity: str, verb: str, subject: str, document: BaseModel) -> CloudEvent:
    return CloudEvent(
        type=event_type(entity, verb), source="/partners", subject=subject, data=document.model_dump(mode="json")
    )


async def _single(content: bytes) -> AsyncIterator[bytes]:
    """A file already read, as a stream of one chunk."""
    yield content


class _Tap:
    """Passes a stream's chunks on while keeping its size, its SHA-256 and its first bytes (for an exception)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.digest = hashlib.sha256()
        self.head = b""
        self.size = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pass()

    async def _pass(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
            if len(self.head) < _MAX_RAW:
                self.head += chunk[: _MAX_RAW - len(self.head)]
            yield chunk
