"""Every shared sample reads into the canonical model with the values the file holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from crossdock.edi.x12 import validate
from crossdock.edi.x12.maps import (
    read_invoice,
    read_po_acknowledgement,
    read_purchase_order,
    read_ship_notice,
    sales_order_request,
)
from crossdock.model import AcknowledgementStatus, LineAcknowledgementStatus, SalesOrderStatus

from .support import CONTEXT, FIXTURE_FILES, fixture, only_set


def test_every_sample_is_valid_against_its_spec() -> None:
    assert len(FIXTURE_FILES) == 5
    for path in FIXTURE_FILES:
        transaction = only_set(path.read_bytes(), strict=False)
        assert validate(transaction) == [], path.name


def test_vics_850() -> None:
    order = read_purchase_order(only_set(fixture("node-x12_850_4010VICS.edi")), CONTEXT)
    assert order.number == "08292233294"
    assert order.order_date == date(2010, 11, 27)
    assert order.requested_date == date(2010, 12, 14)
    assert order.ship_to is not None
    assert (order.ship_to.name, order.ship_to.city, order.ship_to.region) == ("XYZ RETAIL", "SOLON", "OH")
    assert order.ship_to.lines == ["31875 SOLON RD"]
    assert order.ship_to_location_id == "0003947268292"
    assert len(order.lines) == 6
    assert [line.ordered_quantity.value for line in order.lines] == [120, 220, 126, 76, 72, 696]
    first = order.lines[0]
    assert (first.sku, first.vendor_part_number, first.description) == ("065322-117", "AB3542", "SMALL WIDGET")
    assert first.unit_cost.amount == Decimal("9.25")
    assert order.lines[5].description == "ORANGE WIDGET"
    assert order.total.amount == Decimal("13045.94")  # the file's AMT*1 agrees with the lines
    assert order.payment_terms == "NET46"


def test_drop_ship_850_becomes_a_sales_order_request() -> None:
    order = read_purchase_order(only_set(fixture("edinet_850_dropship.edi"), strict=False), CONTEXT)
    assert order.number == "1000012"
    assert order.ship_to is not None
    assert (order.ship_to.name, order.ship_to.city, order.ship_to.postal_code) == (
        "John Doe",
        "Hauppauge",
        "11788-1234",
    )
    assert order.ship_method == "UPSG"
    assert [(line.sku, line.ordered_quantity.value, line.unit_cost.amount) for line in order.lines] == [
        ("0054321", 1, Decimal("19.95"))
    ]
    sales_order = sales_order_request(order, "cus_1")
    assert sales_order.status == SalesOrderStatus.SUBMITTED
    assert sales_order.customer_po == "1000012"
    assert sales_order.ship_to == order.ship_to
    assert sales_order.lines[0].customer_part_number == "0054321"


def test_855_line_answers() -> None:
    acknowledgement = read_po_acknowledgement(only_set(fixture("node-x12_855_4010.edi")), CONTEXT)
    assert acknowledgement.po_number == "POTEST1112"
    # BAK02 says AD, but lines 2 and 3 are rejected: the canonical status says so.
    assert acknowledgement.status == AcknowledgementStatus.ACCEPTED_WITH_CHANGES
    assert acknowledgement.acknowledged_at == datetime(2020, 10, 15, tzinfo=UTC)
    statuses = [(line.po_line_number, line.status) for line in acknowledgement.lines]
    accepted, rejected = LineAcknowledgementStatus.ACCEPTED, LineAcknowledgementStatus.REJECTED
    assert statuses == [(1, accepted), (2, rejected), (3, rejected), (4, accepted)]
    assert [line.quantity.value for line in acknowledgement.lines if line.quantity] == [3, 0, 0, 2]
    assert acknowledgement.lines[0].sku == "9780446360265"
    assert acknowledgement.lines[0].promised_date == date(2004, 12, 31)
    assert acknowledgement.lines[0].quantity is not None
    assert acknowledgement.lines[0].quantity.uom == "EA"  # UN (unit) is our EA


def test_856_hierarchy() -> None:
    notice = read_ship_notice(only_set(fixture("x12types_856_4060.edi")), CONTEXT)
    assert notice.number == "829716"
    assert notice.shipped_at == datetime(2011, 12, 6, 14, 24, 28, tzinfo=UTC)
    assert notice.tracking_number == "5787970539"
    assert notice.carrier == "XXXX"
    assert notice.gross_weight is not None
    assert notice.gross_weight.value == Decimal("60.31")
    assert notice.ship_to_location_id == "MAIN"  # the file names no ship-to; the context's warehouse is used
    assert [order.po_number for order in notice.orders] == ["99999817"]
    items = notice.orders[0].items
    assert [(i.po_line_number, i.vendor_part_number, i.quantity.value) for i in items] == [
        (1, "87787D", 24),
        (2, "99887D", 6),
    ]
    assert notice.shipped_by_po_line()[("99999817", 1)].value == 24


def test_810_invoice() -> None:
    invoice = read_invoice(only_set(fixture("stupidedi_810_ghx_trimmed.edi")), CONTEXT)
    assert invoice.number == "7104015650"
    assert invoice.invoice_date == date(2019, 8, 9)
    assert invoice.customer_po == "AUT2730875"
    assert invoice.due_date == date(2019, 9, 23)
    assert invoice.payment_terms == "Net 45 Days"
    assert invoice.bill_to is not None
    assert (invoice.bill_to.name, invoice.bill_to.city, invoice.bill_to.postal_code) == (
        "SENTARA HEALTHCARE",
        "NORFOLK",
        "23502-3819",
    )
    assert [(line.sku, line.quantity.value, line.quantity.uom) for line in invoice.lines] == [
        ("M1530S-1", 5, "BX"),
        ("XL88Q", 2, "EA"),
    ]
    assert invoice.lines[0].description == "TAPE SURG MICROPORE 1INX1-1/2Y"
    assert invoice.total.amount == Decimal("86.68")  # TDS*8668, checked against the lines
