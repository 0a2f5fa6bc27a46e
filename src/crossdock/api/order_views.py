"""How the API sees an order: what was submitted, then what its quote-to-order process has told the world.

The process's own events (order accepted, backordered, rejected; shipments dispatched; invoices posted) are the
read model: they are committed with the step that decided them, so the API shows exactly what the ERP and the CRM
were told, without calling the ERP on every GET.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from crossdock.api.schemas import (
    InvoiceView,
    OrderLineView,
    OrderView,
    ShipmentLineView,
    ShipmentView,
)
from crossdock.events.envelope import event_type
from crossdock.ports.api import ApiOrderRecord
from crossdock.ports.store import OutboxEntry, ProcessInstance, ProcessState, UnitOfWork

_ORDER_TYPES = {
    event_type("order", verb) for verb in ("accepted", "rejected", "backordered", "cancelled", "shipped", "invoiced")
}
_SHIPMENT = event_type("shipment", "dispatched")
_INVOICE = event_type("invoice", "posted")
_STATE_STATUS = {
    ProcessState.FAILED: "on_hold",  # waiting for a person: the console shows why
    ProcessState.COMPENSATION_FAILED: "on_hold",
    ProcessState.COMPENSATING: "cancelling",
}


class OrderFacts:
    """One order's submitted document, its process and the events the process emitted."""

    def __init__(self, record: ApiOrderRecord, instance: ProcessInstance | None, events: Sequence[OutboxEntry]):
        self.record = record
        self.instance = instance
        self.events = events

    @classmethod
    def read(cls, uow: UnitOfWork, record: ApiOrderRecord) -> OrderFacts:
        """Read what the store knows about the order."""
        instance = uow.processes.get(record.process_id)
        events = uow.outbox.for_instance(record.process_id) if instance is not None else []
        return cls(record, instance, events)

    def latest_order(self) -> dict[str, Any] | None:
        """The order document of the newest order event, if the process has emitted one."""
        for entry in reversed(self.events):
            if entry.event.type in _ORDER_TYPES:
                return entry.event.data
        return None

    def shipments(self) -> list[ShipmentView]:
        """Shipments dispatched for the order."""
        return [shipment_view(e.event.data) for e in self.events if e.event.type == _SHIPMENT]

    def invoices(self) -> list[InvoiceView]:
        """Invoices posted for the order."""
        return [invoice_view(e.event.data) for e in self.events if e.event.type == _INVOICE]

    def status(self, document: dict[str, Any] | None) -> tuple[str, str | None]:
        """The order's status and, for a rejection or a hold, why."""
        instance = self.instance
        if instance is not None and instance.state in _STATE_STATUS:
            return _STATE_STATUS[instance.state], instance.error
        if document is not None:
            reason = None
            if document.get("status") == "rejected" and instance is not None and isinstance(instance.result, dict):
                reason = instance.result.get("detail")
            return str(document.get("status", "submitted")), reason
        return "submitted", None

    def updated_at(self) -> datetime | None:
        """When the process last changed."""
        return None if self.instance is None else self.instance.updated_at

    def view(self, *, shipments: bool, invoices: bool, internal: bool) -> OrderView:
        """The order as the caller may see it: shipments and invoices only with their scopes, the process id
        only for internal callers (property-level authorisation)."""
        document = self.latest_order()
        status, reason = self.status(document)
        lines = (document or self.record.document).get("lines", [])
        return OrderView(
            id=self.record.order_id,
            number=self.record.number,
            customer_reference=self.record.customer_reference,
            customer_id=self.record.customer_id,
            status=status,
            reason=reason,
            currency=str(self.record.document.get("currency", "USD")),
            submitted_at=self.record.submitted_at,
            updated_at=self.updated_at(),
            lines=[line_view(line) for line in lines],
            shipments=self.shipments() if shipments else None,
            invoices=self.invoices() if invoices else None,
            process_id=self.record.process_id if internal else None,
        )


def _quantity(raw: Any) -> tuple[Decimal, str]:
    if isinstance(raw, dict):
        return Decimal(str(raw.get("value", "0"))), str(raw.get("uom", "EA"))
    return Decimal(0), "EA"


def line_view(line: dict[str, Any]) -> OrderLineView:
    """An order line from a canonical order document."""
    ordered, uom = _quantity(line.get("ordered_quantity"))
    shipped, _ = _quantity(line.get("shipped_quantity"))
    backordered, _ = _quantity(line.get("backordered_quantity"))
    price = line.get("unit_price") or {}
    return OrderLineView(
        line_number=int(line.get("line_number", 0)),
        sku=str(line.get("sku", "")),
        ordered_quantity=ordered,
        uom=uom,
        unit_price=Decimal(str(price.get("amount", "0"))),
        shipped_quantity=shipped,
        backordered_quantity=backordered,
        sourcing=line.get("sourcing"),
        promised_date=line.get("promised_date"),
    )


def shipment_view(document: dict[str, Any]) -> ShipmentView:
    """A shipment from a canonical shipment document."""
    lines = []
    for line in document.get("lines", []):
        quantity, uom = _quantity(line.get("quantity"))
        lines.append(
            ShipmentLineView(
                order_line_number=int(line.get("order_line_number", 0)),
                sku=str(line.get("sku", "")),
                quantity=quantity,
                uom=uom,
            )
        )
    order_ids = {str(line.get("order_id")) for line in document.get("lines", []) if line.get("order_id")}
    return ShipmentView(
        id=str(document["id"]),
        number=str(document.get("number", document["id"])),
        order_id=next(iter(order_ids), ""),
        status=str(document.get("status", "shipped")),
        carrier=document.get("carrier"),
        tracking_number=document.get("tracking_number"),
        shipped_at=document.get("shipped_at"),
        lines=lines,
    )


def invoice_view(document: dict[str, Any]) -> InvoiceView:
    """An invoice from a canonical invoice document."""
    total = document.get("total") or {}
    return InvoiceView(
        id=str(document["id"]),
        number=str(document.get("number", document["id"])),
        order_ids=[str(o) for o in document.get("order_ids", [])],
        status=str(document.get("status", "posted")),
        invoice_date=document["invoice_date"],
        due_date=document.get("due_date"),
        currency=str(document.get("currency", total.get("currency", "USD"))),
        total=Decimal(str(total.get("amount", "0"))),
    )
