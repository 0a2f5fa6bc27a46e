"""Order status derived from the ERP sale, and the canonical documents built from it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import Money, Quantity, Sourcing
from crossdock.model.sales import SalesOrder, SalesOrderLine, SalesOrderStatus
from crossdock.orders import documents
from crossdock.orders.wire import erp_sale_from_json, erp_sale_to_json
from crossdock.ports.orders import (
    ErpInvoice,
    ErpInvoiceLine,
    ErpSale,
    ErpSaleLine,
    ErpShipment,
    SaleState,
    ShipmentKind,
    ShipmentLine,
    ShipmentState,
)


def order() -> SalesOrder:
    return SalesOrder(
        id="ord_1",
        number="CRM-00000101",
        customer_id="cus_1",
        order_date=date(2026, 11, 22),
        currency="USD",
        status=SalesOrderStatus.SUBMITTED,
        ship_to=Address(
            kind=AddressKind.SHIP_TO,
            country="US",
            lines=["1 Dock Rd"],
            city="Columbus",
            region="OH",
            postal_code="43215",
        ),
        lines=[
            SalesOrderLine(
                line_number=1,
                item_id="itm_a",
                sku="A-100",
                unit_price=Money(currency="USD", amount=Decimal("2.50")),
                ordered_quantity=Quantity.of(10, "EA"),
            ),
            SalesOrderLine(
                line_number=2,
                item_id="itm_b",
                sku="B-200",
                unit_price=Money(currency="USD", amount=Decimal("40.00")),
                ordered_quantity=Quantity.of(2, "EA"),
            ),
        ],
    )


def sale(
    shipped: tuple[int, int], shipments: tuple[ErpShipment, ...] = (), invoices: tuple[ErpInvoice, ...] = ()
) -> ErpSale:
    return ErpSale(
        sale_id="7",
        number="SO7",
        reference="CRM-00000101",
        state=SaleState.PROCESSING,
        currency="USD",
        total=Decimal("105.00"),
        lines=[
            ErpSaleLine("71", "A-100", Decimal(10), Decimal("2.50"), Sourcing.STOCKED, Decimal(shipped[0])),
            ErpSaleLine("72", "B-200", Decimal(2), Decimal("40.00"), Sourcing.DROP_SHIP, Decimal(shipped[1])),
            ErpSaleLine("73", "FREIGHT", Decimal(1), Decimal("0"), Sourcing.STOCKED, is_freight=True),
        ],
        shipments=shipments,
        invoices=invoices,
    )


WAITING = ErpShipment("s2", "OUT2", ShipmentKind.WAREHOUSE, ShipmentState.WAITING, [ShipmentLine("A-100", Decimal(4))])
DONE = ErpShipment("s1", "OUT1", ShipmentKind.WAREHOUSE, ShipmentState.DONE, [ShipmentLine("A-100", Decimal(6))])
INVOICE = ErpInvoice(
    "i1",
    "INV1",
    "posted",
    Decimal("105.00"),
    "USD",
    date(2026, 11, 22),
    lines=[ErpInvoiceLine("A-100", "Widget", Decimal(10), Decimal("2.50"), Decimal("25.00"))],
)


def test_status_follows_what_the_erp_shipped_and_invoiced() -> None:
    assert documents.order_status(None) is SalesOrderStatus.REJECTED
    assert documents.order_status(sale((0, 0))) is SalesOrderStatus.ACCEPTED
    assert documents.order_status(sale((6, 0), (DONE, WAITING))) is SalesOrderStatus.BACKORDERED
    assert documents.order_status(sale((10, 0), (DONE,))) is SalesOrderStatus.PARTIALLY_SHIPPED
    assert documents.order_status(sale((10, 2), (DONE,))) is SalesOrderStatus.SHIPPED
    assert documents.order_status(sale((10, 2), (DONE,), (INVOICE,))) is SalesOrderStatus.INVOICED
    cancelled = ErpSale("7", "SO7", "x", SaleState.CANCELLED, "USD", Decimal(0), [])
    assert documents.order_status(cancelled) is SalesOrderStatus.CANCELLED


def test_the_order_as_now_carries_shipped_and_backordered_quantities_per_line() -> None:
    current = documents.order_as_now(
        order(), sale((6, 0), (DONE, WAITING)), {"B-200": Sourcing.DROP_SHIP}, {1: date(2026, 11, 29)}
    )
    first, second = current.lines
    assert (first.shipped_quantity.value, first.backordered_quantity.value) == (6, 4)
    assert first.promised_date == date(2026, 11, 29)
    assert second.sourcing is Sourcing.DROP_SHIP
    assert current.status is SalesOrderStatus.BACKORDERED


def test_a_sale_whose_lines_were_edited_in_the_erp_is_refused_with_the_reason() -> None:
    edited = sale((0, 0))
    edited = ErpSale(
        edited.sale_id, edited.number, edited.reference, edited.state, "USD", edited.total, edited.lines[:1]
    )
    with pytest.raises(ValueError, match="edited the sale's lines"):
        documents.paired_lines(order(), edited)


def test_shipment_and_invoice_documents_are_valid_canonical_objects() -> None:
    shipment = documents.shipment_document(order(), DONE, date(2026, 11, 22), None)
    assert shipment.id == "ord_1.shp.s1"
    assert [(line.sku, line.quantity.value, line.order_line_number) for line in shipment.lines] == [("A-100", 6, 1)]
    invoice = documents.invoice_document(order(), INVOICE)
    assert invoice.total.amount == Decimal("25.00")
    assert invoice.order_ids == ["ord_1"]


def test_a_sale_survives_the_journal_round_trip() -> None:
    original = sale((6, 0), (DONE, WAITING), (INVOICE,))
    assert erp_sale_to_json(erp_sale_from_json(erp_sale_to_json(original))) == erp_sale_to_json(original)
