"""A scripted drop-ship supplier on the SFTP sandbox: it reads the 850s Crossdock puts in its mailbox and answers
each with an 855 (accepted) and, a little later, an 856, as a real supplier's EDI system would. `broken=True`
makes it send damaged files instead, to rehearse the failure path.

It works on the server's disk, as the partner's own system sits behind its SFTP server: it reads what Crossdock
wrote into `outbound/` and drops its answers into `inbound/`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crossdock.edi.x12 import InterchangeParties, MemoryControlNumbers, X12Writer, read_transaction_sets
from crossdock.edi.x12.maps import X12Context, po_acknowledgement_to_x12, read_purchase_order, ship_notice_to_x12
from crossdock.model.purchasing import (
    AcknowledgementLine,
    AcknowledgementStatus,
    LineAcknowledgementStatus,
    PoAcknowledgement,
    PurchaseOrder,
)
from crossdock.model.ship_notice import ShipNotice, ShipNoticeItem, ShipNoticeOrder


@dataclass
class ScriptedSupplier:
    """Answers the 850s in its mailbox with an 855 at once and an 856 after `ship_after_s`."""

    home: Path  # the supplier's directory on the SFTP server (its outbound/ holds our 850s)
    supplier_id: str  # its canonical id, as our profile names it
    parties: InterchangeParties  # its envelope toward us
    ship_after_s: float = 0.0
    broken: bool = False
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
                    self._drop(f"856_{order.number}.edi", self._ship_notice(order))
                    self.shipped.add(order.number)
                    dropped += 1
        return dropped

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
        acknowledgement = PoAcknowledgement(
            id=f"ack:{self.supplier_id}:{order.number}",
            number=f"SO-{order.number}",
            purchase_order_id=order.id,
            po_number=order.number,
            supplier_id=self.supplier_id,
            status=AcknowledgementStatus.ACCEPTED,
            acknowledged_at=datetime.now(UTC),
            lines=[
                AcknowledgementLine(
                    po_line_number=line.line_number,
                    status=LineAcknowledgementStatus.ACCEPTED,
                    sku=line.sku,
                    quantity=line.ordered_quantity,
                )
                for line in order.lines
            ],
        )
        return self._writer().write(po_acknowledgement_to_x12(acknowledgement))

    def _ship_notice(self, order: PurchaseOrder) -> bytes:
        notice = shipped_in_full(
            order, notice_id=f"asn:{self.supplier_id}:{order.number}", number=f"ASN-{order.number}"
        )
        return self._writer().write(ship_notice_to_x12(notice))


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
