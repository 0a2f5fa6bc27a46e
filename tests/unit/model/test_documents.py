"""Shipments, invoices, payments, returns, purchase orders, acknowledgements and ship notices."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import ValidationError

from crossdock.model import Money, Quantity, Weight

from . import examples


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


class TestShipment:
    def test_typical_shipment(self) -> None:
        shipment = examples.shipment()
        assert shipment.order_ids == ["ord_4711"]
        assert shipment.total_weight == Weight(value=210, unit="KG")

    def test_status_needs_its_dates(self) -> None:
        shipment = examples.shipment()
        with pytest.raises(ValidationError, match="shipment SH-9001 is shipped but has no shipped_at"):
            shipment.revised(shipped_at=None)
        with pytest.raises(ValidationError, match="is delivered but has no delivered_at"):
            shipment.revised(status="delivered")
        with pytest.raises(ValidationError, match=r"delivered_at .* is before shipped_at"):
            shipment.revised(status="delivered", delivered_at=examples.NOW - timedelta(days=1))

    def test_packages_hold_this_shipments_lines_under_unique_labels(self) -> None:
        shipment = examples.shipment()
        package = shipment.packages[0].model_dump()
        with pytest.raises(ValidationError, match="two packages carry the same SSCC"):
            shipment.revised(packages=[package, package])
        stray = {**package, "contents": [{"line_number": 7, "quantity": Quantity.of(1, "CS")}]}
        with pytest.raises(ValidationError, match="a package holds line 7, which it does not have"):
            shipment.revised(packages=[stray])
        wrong_uom = {**package, "contents": [{"line_number": 1, "quantity": Quantity.of(480, "EA")}]}
        with pytest.raises(ValidationError, match="holds line 1 in EA, but the line is in CS"):
            shipment.revised(packages=[wrong_uom])

    def test_drop_ship_names_the_supplier(self) -> None:
        with pytest.raises(ValidationError, match="is a drop-ship but names no supplier_id"):
            examples.shipment().revised(kind="drop_ship")


class TestInvoice:
    def test_missing_totals_are_computed(self) -> None:
        invoice = examples.invoice()
        assert invoice.subtotal == usd("170.00")
        assert invoice.charges_total == usd("35.00")
        assert invoice.tax_total == usd("6.80")
        assert invoice.total == usd("211.80")

    def test_given_totals_are_checked(self) -> None:
        with pytest.raises(
            ValidationError,
            match=re.escape("invoice INV-5001: total USD 200.00 is not subtotal + charges + tax_total = USD 211.80"),
        ):
            examples.invoice().revised(total=usd("200"))
        with pytest.raises(ValidationError, match=re.escape("subtotal USD 1.00 is not the sum of the line amounts")):
            examples.invoice().revised(subtotal=usd("1"))

    def test_line_amount_allows_one_minor_unit_of_rounding(self) -> None:
        line = examples.invoice().lines[0]
        odd = line.revised(unit_price=usd("0.333"), quantity=Quantity.of(3, "CS"), amount=usd("1.00"))
        assert odd.amount == usd("1.00")
        with pytest.raises(
            ValidationError,
            match=re.escape("invoice line 1: amount USD 171.00 is not quantity 40 CS times unit_price USD 4.25"),
        ):
            line.revised(amount=usd("171.00"))

    def test_one_currency_and_sensible_dates(self) -> None:
        invoice = examples.invoice()
        with pytest.raises(ValidationError, match="freight charge is in EUR, not the invoice currency USD"):
            invoice.revised(charges=[{"kind": "freight", "amount": Money.of(5, "EUR")}])
        with pytest.raises(ValidationError, match="due_date 2026-11-01 is before invoice_date 2026-11-22"):
            invoice.revised(due_date=invoice.invoice_date.replace(day=1))
        with pytest.raises(ValidationError, match=re.escape("is paid but has a balance_due of USD 1.00")):
            invoice.revised(status="paid", balance_due=usd("1"))


class TestPayment:
    def test_applied_and_unapplied(self) -> None:
        payment = examples.payment()
        assert payment.applied == usd("208.40")
        assert payment.unapplied == usd("0")

    def test_cannot_apply_more_than_received_or_twice(self) -> None:
        payment = examples.payment()
        application = payment.applications[0].model_dump()
        with pytest.raises(
            ValidationError, match=re.escape("payment CHK-20331 applies USD 416.80 but only USD 208.40 was received")
        ):
            payment.revised(applications=[application, {**application, "invoice_id": "inv_other"}])
        with pytest.raises(ValidationError, match="applies to invoice inv_5001 twice; combine the two"):
            payment.revised(amount=usd("1000"), applications=[application, application])
        with pytest.raises(ValidationError, match="amount must be greater than zero"):
            payment.revised(amount=usd("0"), applications=[])


class TestReturn:
    def test_inspected_lines_need_a_disposition(self) -> None:
        rma = examples.return_authorization()
        assert rma.credit_total == usd("8.50")
        line = rma.lines[0].model_dump()
        with pytest.raises(ValidationError, match="return RMA-31 is inspected but line 1 has no disposition"):
            rma.revised(lines=[{**line, "disposition": None}])
        assert rma.revised(status="received", lines=[{**line, "disposition": None}]).lines[0].disposition is None
        with_fee = rma.revised(restocking_fee=usd("1.50"))
        assert with_fee.credit_total == usd("7.00")

    def test_received_in_the_authorized_uom(self) -> None:
        line = examples.return_authorization().lines[0]
        with pytest.raises(ValidationError, match="received_quantity is in EA but quantity is in CS"):
            line.revised(received_quantity=Quantity.of(24, "EA"))


class TestPurchasing:
    def test_drop_ship_po_carries_the_end_customers_order_and_address(self) -> None:
        po = examples.purchase_order()
        assert po.total == usd("240.00")
        with pytest.raises(ValidationError, match="drop-ship PO PO-7001 must carry the end customer's ship_to address"):
            po.revised(ship_to=None)
        with pytest.raises(ValidationError, match="drop-ship PO PO-7001 must name the sales_order_id it fills"):
            po.revised(sales_order_id=None)
        with pytest.raises(ValidationError, match="needs a ship_to_location_id"):
            po.revised(kind="stocked", ship_to=None)
        assert po.revised(kind="stocked", ship_to=None, ship_to_location_id="ATL").ship_to_location_id == "ATL"

    def test_acknowledgement_lines_agree_with_the_po_status(self) -> None:
        ack = examples.po_acknowledgement()
        assert ack.line(1) is not None
        assert ack.line(2) is None
        with pytest.raises(ValidationError, match="is accepted but has changed, backordered or rejected lines"):
            ack.revised(status="accepted")
        with pytest.raises(ValidationError, match="is rejected but accepts some lines"):
            ack.revised(status="rejected")
        rejected = ack.revised(status="rejected", lines=[{"po_line_number": 1, "status": "rejected"}])
        assert rejected.lines[0].quantity is None
        with pytest.raises(ValidationError, match="PO line 1 is changed but has no quantity"):
            ack.revised(lines=[{"po_line_number": 1, "status": "changed"}])

    def test_ship_notice_hierarchy(self) -> None:
        asn = examples.ship_notice()
        assert asn.shipped_by_po_line() == {("PO-7001", 1): Quantity.of(2, "EA")}
        order = asn.orders[0].model_dump()
        with pytest.raises(ValidationError, match="lists SSCC 000123456789012350 more than once"):
            asn.revised(orders=[order, order])
        item = {"po_line_number": 1, "quantity": Quantity.of(1, "EA")}
        with pytest.raises(ValidationError, match="names no item; give item_id, sku, vendor_part_number or gtin"):
            asn.revised(orders=[{"po_number": "PO-7001", "items": [item]}])
        with pytest.raises(ValidationError, match="ship notice order PO-7001 has no packs and no items"):
            asn.revised(orders=[{"po_number": "PO-7001"}])
        loose = asn.revised(orders=[order, {"po_number": "PO-7001", "items": [{**item, "sku": "LAD-8"}]}])
        assert loose.shipped_by_po_line() == {("PO-7001", 1): Quantity.of(3, "EA")}
