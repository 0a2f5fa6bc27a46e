"""OrderDesk answers to and from JSON, so a journaled step can hand back the same typed value on replay.

Decimals travel as strings (never floats), dates as ISO strings, enums as their values. Fields added later are read
with their defaults when an older journal lacks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.model.common import Sourcing
from crossdock.ports.orders import (
    ErpInvoice,
    ErpInvoiceLine,
    ErpPurchase,
    ErpSale,
    ErpSaleLine,
    ErpShipment,
    ItemSupply,
    SaleState,
    ShipmentKind,
    ShipmentLine,
    ShipmentState,
)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _lines_to_json(lines: Any) -> list[dict[str, str]]:
    return [{"sku": line.sku, "quantity": str(line.quantity)} for line in lines]


def _lines_from_json(lines: list[dict[str, str]]) -> list[ShipmentLine]:
    return [ShipmentLine(line["sku"], Decimal(line["quantity"])) for line in lines]


def erp_sale_to_json(sale: ErpSale) -> dict[str, Any]:
    """A sale as journal-safe JSON."""
    return {
        "sale_id": sale.sale_id,
        "number": sale.number,
        "reference": sale.reference,
        "state": sale.state.value,
        "currency": sale.currency,
        "total": str(sale.total),
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "sourcing": line.sourcing.value,
                "shipped_quantity": str(line.shipped_quantity),
                "is_freight": line.is_freight,
                "cancelled_quantity": str(line.cancelled_quantity),
            }
            for line in sale.lines
        ],
        "shipments": [
            {
                "shipment_id": s.shipment_id,
                "number": s.number,
                "kind": s.kind.value,
                "state": s.state.value,
                "lines": _lines_to_json(s.lines),
                "tracking": s.tracking,
                "shipped_on": _day(s.shipped_on),
            }
            for s in sale.shipments
        ],
        "invoices": [invoice_to_json(i) for i in sale.invoices],
        "purchases": [
            {
                "purchase_id": p.purchase_id,
                "number": p.number,
                "state": p.state,
                "supplier_id": p.supplier_id,
                "supplier_name": p.supplier_name,
                "lines": _lines_to_json(p.lines),
                "currency": p.currency,
                "unit_costs": {sku: str(cost) for sku, cost in p.unit_costs.items()},
                "invoices": [invoice_to_json(i) for i in p.invoices],
            }
            for p in sale.purchases
        ],
    }


def erp_sale_from_json(data: Mapping[str, Any]) -> ErpSale:
    """The sale `erp_sale_to_json` wrote."""
    return ErpSale(
        sale_id=data["sale_id"],
        number=data["number"],
        reference=data["reference"],
        state=SaleState(data["state"]),
        currency=data["currency"],
        total=Decimal(data["total"]),
        lines=[
            ErpSaleLine(
                line_id=line["line_id"],
                sku=line["sku"],
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                sourcing=Sourcing(line["sourcing"]),
                shipped_quantity=Decimal(line["shipped_quantity"]),
                is_freight=line["is_freight"],
                cancelled_quantity=Decimal(line.get("cancelled_quantity", "0")),
            )
            for line in data["lines"]
        ],
        shipments=[
            ErpShipment(
                shipment_id=s["shipment_id"],
                number=s["number"],
                kind=ShipmentKind(s["kind"]),
                state=ShipmentState(s["state"]),
                lines=_lines_from_json(s["lines"]),
                tracking=s["tracking"],
                shipped_on=_parse_day(s["shipped_on"]),
            )
            for s in data["shipments"]
        ],
        invoices=[invoice_from_json(i) for i in data["invoices"]],
        purchases=[
            ErpPurchase(
                purchase_id=p["purchase_id"],
                number=p["number"],
                state=p["state"],
                supplier_id=p["supplier_id"],
                supplier_name=p["supplier_name"],
                lines=_lines_from_json(p["lines"]),
                currency=p["currency"],
                unit_costs={sku: Decimal(cost) for sku, cost in p["unit_costs"].items()},
                invoices=[invoice_from_json(i) for i in p.get("invoices", ())],
            )
            for p in data["purchases"]
        ],
    )


def invoice_to_json(invoice: ErpInvoice) -> dict[str, Any]:
    """An invoice (customer or supplier) as journal-safe JSON."""
    return {
        "invoice_id": invoice.invoice_id,
        "number": invoice.number,
        "state": invoice.state,
        "total": str(invoice.total),
        "currency": invoice.currency,
        "invoice_date": _day(invoice.invoice_date),
        "tax_amount": str(invoice.tax_amount),
        "reference": invoice.reference,
        "lines": [
            {
                "sku": line.sku,
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in invoice.lines
        ],
    }


def invoice_from_json(data: Mapping[str, Any]) -> ErpInvoice:
    """The invoice `invoice_to_json` wrote."""
    return ErpInvoice(
        invoice_id=data["invoice_id"],
        number=data["number"],
        state=data["state"],
        total=Decimal(data["total"]),
        currency=data["currency"],
        invoice_date=_parse_day(data["invoice_date"]),
        tax_amount=Decimal(data["tax_amount"]),
        lines=[
            ErpInvoiceLine(
                sku=line["sku"],
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                amount=Decimal(line["amount"]),
            )
            for line in data["lines"]
        ],
        reference=data.get("reference"),
    )


def supply_to_json(supply: Mapping[str, ItemSupply]) -> dict[str, Any]:
    """Item supply per SKU as journal-safe JSON."""
    return {
        sku: {
            "local_id": item.local_id,
            "sourcing": item.sourcing.value,
            "available": str(item.available),
            "unit": item.unit,
            "supplier_id": item.supplier_id,
            "lead_time_days": item.lead_time_days,
        }
        for sku, item in supply.items()
    }


def supply_from_json(data: Mapping[str, Any]) -> dict[str, ItemSupply]:
    """The supply `supply_to_json` wrote."""
    return {
        sku: ItemSupply(
            sku=sku,
            local_id=item["local_id"],
            sourcing=Sourcing(item["sourcing"]),
            available=Decimal(item["available"]),
            unit=item["unit"],
            supplier_id=item["supplier_id"],
            lead_time_days=item["lead_time_days"],
        )
        for sku, item in data.items()
    }
