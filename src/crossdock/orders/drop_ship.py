"""A drop-ship purchase's answers from its supplier, as quote-to-order follows them.

The 855 says per PO line what the supplier accepts, backorders (with the date it expects to ship) or rejects, and
for how much; the 856s say what shipped. Both arrive as signals of one type keyed by the purchase order's canonical
id (`SUPPLIER_ANSWER`), in the order they were received, so the process waits for "the supplier's next answer"
without having to know which comes first, and an answer that came early is kept until it is read.

`DropShipPurchase` is what the process knows of one purchase, rebuilt on every replay from the journaled answers:
per SKU what was ordered, what the supplier commits to, what shipped, and what was stopped in the ERP. What a
supplier rejects is stopped at once; what it commits to only in part is stopped once the committed part has shipped
(the ERP reorders the rest of a short shipment on its own, and that rest is what gets stopped). An answer read twice
(the same 855 in two files) stops nothing twice: a stopped SKU stays stopped, and stopping is idempotent in the ERP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.events.envelope import event_type
from crossdock.model.purchasing import LineAcknowledgementStatus, PoAcknowledgement
from crossdock.ports.orders import ShipmentLine

SUPPLIER_ANSWER = event_type("ship_notice", "received")
"""The signal type a supplier's answers about a drop-ship purchase travel under (855s and 856s). It keeps the 856's
event type, the only answer there was at first: instances waiting since then wake on it, and skip an 855 (they read
only ship notices)."""
ACKNOWLEDGEMENT = "acknowledgement"
SHIP_NOTICE = "ship_notice"

_ZERO = Decimal(0)


def acknowledgement_signal(ack: PoAcknowledgement) -> dict[str, Any]:
    """The signal payload an 855 becomes: its status and, per PO line, the answer with quantity and date."""
    return {
        "kind": ACKNOWLEDGEMENT,
        "number": ack.number,
        "status": ack.status.value,
        "lines": [
            {
                "po_line_number": line.po_line_number,
                "sku": line.sku,
                "status": line.status.value,
                "quantity": None if line.quantity is None else str(line.quantity.value),
                "promised_date": None if line.promised_date is None else line.promised_date.isoformat(),
                "note": line.note,
            }
            for line in ack.lines
        ],
    }


def is_acknowledgement(payload: Mapping[str, Any]) -> bool:
    """Whether a supplier answer is an 855 (ship notices carry no kind, or `ship_notice`)."""
    return payload.get("kind") == ACKNOWLEDGEMENT


@dataclass
class DropShipPurchase:
    """One drop-ship purchase order and what its supplier has said about it so far (see the module docstring)."""

    number: str
    supplier_name: str
    ordered: dict[str, Decimal]
    committed: dict[str, Decimal] = field(default_factory=dict)
    shipped: dict[str, Decimal] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    backordered: dict[str, date | None] = field(default_factory=dict)  # SKU -> when the supplier expects to ship
    promised: dict[str, date] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # SKU -> the supplier's reason for a change or refusal
    po_lines: dict[int, str] = field(default_factory=dict, repr=False)  # PO line number -> SKU
    acknowledgements: int = 0
    notices: int = 0

    @classmethod
    def issued(cls, purchase: Mapping[str, Any]) -> DropShipPurchase:
        """From what `order_drop_ship` journaled: number, supplier, and the lines in PO line order."""
        ordered: dict[str, Decimal] = {}
        for line in purchase["lines"]:
            ordered[line["sku"]] = ordered.get(line["sku"], _ZERO) + Decimal(line["quantity"])
        # PO line n is the purchase's n-th line: the canonical PO numbers its lines in that order.
        po_lines = dict(enumerate((line["sku"] for line in purchase["lines"]), start=1))
        return cls(
            number=str(purchase["number"]),
            supplier_name=str(purchase["supplier_name"]),
            ordered=ordered,
            committed=dict(ordered),
            po_lines=po_lines,
        )

    # -- answers ------------------------------------------------------------------------------------------------

    def acknowledge(self, payload: Mapping[str, Any]) -> list[str]:
        """Take an 855; the SKUs to stop in the ERP now (rejected, or committed in part and shipped that far)."""
        self.acknowledgements += 1
        lines = payload.get("lines") or []
        if not lines and payload.get("status") == "rejected":
            lines = [{"sku": sku, "status": "rejected"} for sku in self.ordered]
        for line in lines:
            sku = line.get("sku") or self.po_lines.get(int(line.get("po_line_number") or 0))
            if sku not in self.ordered:
                continue  # a line we did not order: nothing of ours to change
            status = LineAcknowledgementStatus(line.get("status") or "accepted")
            quantity = line.get("quantity")
            if status is LineAcknowledgementStatus.REJECTED:
                commits = _ZERO
            else:
                commits = self.ordered[sku] if quantity is None else min(Decimal(quantity), self.ordered[sku])
            if sku in self.stopped:
                continue  # what was stopped stays stopped; a later, kinder 855 does not reorder it
            self.committed[sku] = commits
            promised = date.fromisoformat(line["promised_date"]) if line.get("promised_date") else None
            if promised is not None:
                self.promised[sku] = promised
            if status is LineAcknowledgementStatus.BACKORDERED:
                self.backordered[sku] = promised
            else:
                self.backordered.pop(sku, None)
            if line.get("note"):
                self.notes[sku] = str(line["note"])
        return self._to_stop()

    def shipped_now(self, lines: Sequence[ShipmentLine]) -> list[str]:
        """Take an 856's quantities; the SKUs to stop now (their committed part has shipped, the rest will not)."""
        self.notices += 1
        for line in lines:
            if line.sku in self.ordered:
                self.shipped[line.sku] = self.shipped.get(line.sku, _ZERO) + line.quantity
        return self._to_stop()

    def stop(self, skus: Sequence[str]) -> None:
        """Record that the ERP stopped these SKUs."""
        self.stopped.update(skus)

    def _to_stop(self) -> list[str]:
        return sorted(
            sku
            for sku, ordered in self.ordered.items()
            if sku not in self.stopped
            and self.committed.get(sku, ordered) < ordered
            and self.shipped.get(sku, _ZERO) >= self.committed.get(sku, ordered)
        )

    # -- what is left ---------------------------------------------------------------------------------------------

    def to_ship(self) -> list[ShipmentLine]:
        """What the supplier still owes (committed less shipped): a ship notice that lists no items shipped this."""
        owed = [
            ShipmentLine(sku, self.committed.get(sku, ordered) - self.shipped.get(sku, _ZERO))
            for sku, ordered in self.ordered.items()
            if sku not in self.stopped
        ]
        return [line for line in owed if line.quantity > 0]

    @property
    def settled(self) -> bool:
        """Nothing more is expected from the supplier: every SKU shipped as committed, or stopped."""
        return not self.to_ship()

    def supplier_backorders(self) -> dict[str, Decimal]:
        """Per SKU the supplier backordered: what it still owes."""
        return {
            sku: owed
            for sku in self.backordered
            if sku not in self.stopped and (owed := self.committed.get(sku, _ZERO) - self.shipped.get(sku, _ZERO)) > 0
        }

    def refused(self) -> dict[str, Decimal]:
        """Per SKU what the supplier will not deliver (ordered less committed), once the ERP stopped it."""
        return {
            sku: self.ordered[sku] - self.committed.get(sku, self.ordered[sku])
            for sku in sorted(self.stopped)
            if self.ordered[sku] > self.committed.get(sku, self.ordered[sku])
        }

    def summary(self) -> str:
        """In a sales rep's words: what the supplier refused and what it backordered, with its reasons."""
        parts = []
        for sku, quantity in self.refused().items():
            note = f" ({self.notes[sku]})" if sku in self.notes else ""
            parts.append(f"{self.supplier_name} will not supply {sku} x{_plain(quantity)}{note}")
        for sku, quantity in self.supplier_backorders().items():
            when = self.backordered.get(sku)
            until = f" until {when.isoformat()}" if when else ""
            parts.append(f"{self.supplier_name} backordered {sku} x{_plain(quantity)}{until}")
        return "; ".join(parts)


def _plain(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"
