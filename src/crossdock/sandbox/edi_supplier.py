"""A scripted drop-ship supplier on the SFTP sandbox: it reads the 850s Crossdock puts in its mailbox and answers
each with an 855 and, a little later, an 856 (and, with `invoice=True`, an 810 for what it shipped, at the PO's
costs), as a real supplier's EDI system would. By default it accepts every line as ordered; `answers` scripts a
line's answer per SKU (rejected, backordered until a date, or changed to another quantity), and the 856 then ships
what it committed to. `broken=True` makes it send damaged files instead, to rehearse the failure path.

It works on the server's disk, as the partner's own system sits behind its SFTP server: it reads what Crossdock
wrote into `outbound/` and drops its answers into `inbound/`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from crossdock.edi.x12 import InterchangeParties, MemoryControlNumbers, X12Writer, read_transaction_sets
from crossdock.edi.x12.maps import (
    X12Context,
    invoice_to_x12,
    po_acknowledgement_to_x12,
    read_purchase_order,
    ship_notice_to_x12,
)
from crossdock.model.billing import Invoice, InvoiceLine
from crossdock.model.common import Money, Quantity
from crossdock.model.purchasing import (
    AcknowledgementLine,
    AcknowledgementStatus,
    LineAcknowledgementStatus,
    PoAcknowledgement,
    PurchaseOrder,
    PurchaseOrderLine,
)
from crossdock.model.ship_notice import ShipNotice, ShipNoticeItem, ShipNoticeOrder


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """How the supplier answers a line: its status and, unless rejected, the quantity it commits to (None: as
    ordered) and when it expects to ship a backorder."""

    status: LineAcknowledgementStatus
    quantity: Decimal | None = None
    promised: date | None = None
    note: str | None = None


@dataclass
class ScriptedSupplier:
    """Answers the 850s in its mailbox with an 855 at once and an 856 after `ship_after_s` (see the docstring)."""

    home: Path  # the supplier's directory on the SFTP server (its outbound/ holds our 850s)
    supplier_id: str  # its canonical id, as our profile names it
    parties: InterchangeParties  # its envelope toward us
    ship_after_s: float = 0.0
    broken: bool = False
    answers: Mapping[str, LineAnswer] = field(default_factory=dict)  # by SKU; a SKU not named is accepted
    invoice: bool = False
    clock: Callable[[], float] = time.time
    acknowledged: dict[str, float] = field(default_factory=dict)  # PO number -> when its 855 went out
    shipped: set[str] = field(default_factory=set)
    _numbers: MemoryControlNumbers = field(default_factory=MemoryControlNumbers)

    def run_once(self) -> int:
        """Answer what is new; return how many files it dropped."""
        dropped = 0
        for path in sorted((self.home / "outbound").glob("850_*.edi")):
            for order in self._orders(path.read_bytes()):
                if order.number not in self.acknowledged:
                    self._drop(f"855_{order.number}.edi", self._acknowledgement(order))
                    self.acknowledged[order.number] = self.clock()
                    dropped += 1
                due = self.acknowledged[order.number] + self.ship_after_s
                if order.number not in self.shipped and self.clock() >= due:
                    self.shipped.add(order.number)
                    if not self._committed(order):
                        continue  # it rejected every line: nothing ships, nothing is billed
                    self._drop(f"856_{order.number}.edi", self._ship_notice(order))
                    dropped += 1
                    if self.invoice:
                        self._drop(f"810_{order.number}.edi", self._invoice(order))
                        dropped += 1
        return dropped

    def _commits(self, line: PurchaseOrderLine) -> Decimal:
        answer = self.answers.get(line.sku)
        if answer is None:
            return line.ordered_quantity.value
        if answer.status is LineAcknowledgementStatus.REJECTED:
            return Decimal(0)
        return line.ordered_quantity.value if answer.quantity is None else answer.quantity

    def _committed(self, order: PurchaseOrder) -> list[tuple[PurchaseOrderLine, Decimal]]:
        """The lines it ships and bills, with the quantities it committed to."""
        return [(line, quantity) for line in order.lines if (quantity := self._commits(line)) > 0]

    def _orders(self, content: bytes) -> list[PurchaseOrder]:
        sets, _ = read_transaction_sets(content, strict=False)
        context = X12Context(sender_id="crossdock", receiver_id=self.supplier_id)
        return [read_purchase_order(ts, context) for ts in sets if ts.set_id == "850"]

    def _writer(self) -> X12Writer:
        return X12Writer(self.parties, self._numbers, clock=lambda: datetime.now(UTC))

    def _drop(self, name: str, content: bytes) -> None:
        if self.broken:
            content = content[: len(content) // 2] + b"*GARBLED~IEA*1*"  # cut mid-segment, as a failed upload
        inbound = self.home / "inbound"
        temporary = inbound / f".{name}.part"
        temporary.write_bytes(content)
        temporary.rename(inbound / name)

    def _acknowledgement(self, order: PurchaseOrder) -> bytes:
        lines = []
        for line in order.lines:
            answer = self.answers.get(line.sku, LineAnswer(LineAcknowledgementStatus.ACCEPTED))
            rejected = answer.status is LineAcknowledgementStatus.REJECTED
            lines.append(
                AcknowledgementLine(
                    po_line_number=line.line_number,
                    status=answer.status,
                    sku=line.sku,
                    quantity=None if rejected else Quantity.of(self._commits(line), line.ordered_quantity.uom),
                    promised_date=answer.promised,
                    note=answer.note,
                )
            )
        statuses = {line.status for line in lines}
        status = AcknowledgementStatus.ACCEPTED_WITH_CHANGES
        if statuses == {LineAcknowledgementStatus.ACCEPTED}:
            status = AcknowledgementStatus.ACCEPTED
        elif statuses == {LineAcknowledgementStatus.REJECTED}:
            status = AcknowledgementStatus.REJECTED
        acknowledgement = PoAcknowledgement(
            id=f"ack:{self.supplier_id}:{order.number}",
            number=f"SO-{order.number}",
            purchase_order_id=order.id,
            po_number=order.number,
            supplier_id=self.supplier_id,
            status=status,
            acknowledged_at=datetime.now(UTC),
            lines=lines,
        )
        return self._writer().write(po_acknowledgement_to_x12(acknowledgement))

    def _ship_notice(self, order: PurchaseOrder) -> bytes:
        notice = shipped_in_full(
            order, notice_id=f"asn:{self.supplier_id}:{order.number}", number=f"ASN-{order.number}"
        )
        committed = {line.line_number: quantity for line, quantity in self._committed(order)}
        [shipped] = notice.orders
        items = [
            item.model_copy(update={"quantity": Quantity.of(committed[item.po_line_number], item.quantity.uom)})
            for item in shipped.items
            if item.po_line_number in committed
        ]
        notice = notice.model_copy(update={"orders": [shipped.model_copy(update={"items": items})]})
        return self._writer().write(ship_notice_to_x12(notice))

    def _invoice(self, order: PurchaseOrder) -> bytes:
        """An 810 for what it shipped, at the PO's unit costs."""
        lines = [
            InvoiceLine(
                line_number=n,
                sku=line.sku,
                description=line.description or line.sku,
                quantity=Quantity.of(quantity, line.ordered_quantity.uom),
                unit_price=line.unit_cost,
                amount=(line.unit_cost * quantity).rounded(),
            )
            for n, (line, quantity) in enumerate(self._committed(order), start=1)
        ]
        invoice = Invoice(
            id=f"inv:{self.supplier_id}:{order.number}",
            number=f"INV-{order.number}",
            customer_id="crossdock",
            customer_po=order.number,
            invoice_date=datetime.now(UTC).date(),
            currency=order.currency,
            lines=lines,
            total=Money.total((line.amount for line in lines), order.currency),
        )
        return self._writer().write(invoice_to_x12(invoice))


def shipped_in_full(order: PurchaseOrder, *, notice_id: str, number: str) -> ShipNotice:
    """A supplier's ship notice for every line of a purchase order, shipped now to the order's ship-to."""
    return ShipNotice(
        id=notice_id,
        number=number,
        supplier_id=order.supplier_id,
        shipped_at=datetime.now(UTC),
        tracking_number=f"1Z{int(hashlib.sha256(order.number.encode()).hexdigest(), 16) % 10**10:010d}",
        ship_to=order.ship_to,
        orders=[
            ShipNoticeOrder(
                purchase_order_id=order.id,
                po_number=order.number,
                items=[
                    ShipNoticeItem(po_line_number=line.line_number, sku=line.sku, quantity=line.ordered_quantity)
                    for line in order.lines
                ],
            )
        ],
    )
