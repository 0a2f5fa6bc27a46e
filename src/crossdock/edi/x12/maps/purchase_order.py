"""850 purchase order ↔ canonical `PurchaseOrder`, and an inbound customer 850 as a sales order request."""

from __future__ import annotations

from datetime import date

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.common import (
    beginning_segment,
    canonical,
    date_text,
    first_id,
    loops,
    money,
    number_text,
    party_segments,
    product_ids,
    quantity,
    read_party,
    to_date,
    value,
)
from crossdock.edi.x12.maps.context import X12CodeTable, X12Context
from crossdock.edi.x12.tokenizer import Segment, ascii_digits
from crossdock.edi.x12.writer import OutboundSet
from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import ExternalRef, Sourcing
from crossdock.model.purchasing import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from crossdock.model.sales import SalesOrder, SalesOrderLine, SalesOrderStatus

BUYER_PART = ("BP", "SK", "IN", "CB", "PI")
"""Qualifiers of the buyer's own item number, most specific first (BP buyer's part, SK SKU, CB catalog)."""
VENDOR_PART = ("VP", "VN", "VC", "VA")
GTIN = ("UP", "UK", "EN", "UA", "UI", "EA")
_DROP_SHIP = "DS"


def _terms(segment: Segment) -> str | None:
    """ITD12 description, else NET and ITD07 net days."""
    described = value(segment, 12)
    net_days = value(segment, 7)
    return described or (f"NET{net_days}" if net_days else None)


def _line(segments: list[Segment], start: int, context: X12Context, currency: str, base: int) -> PurchaseOrderLine:
    po1 = segments[0]
    position = base + start
    number = value(po1, 1)
    ids = product_ids(po1, 6)
    vendor_part = first_id(ids, VENDOR_PART)
    sku = first_id(ids, BUYER_PART) or vendor_part or first_id(ids, GTIN)
    if sku is None:
        raise X12MappingError(f"PO1 line {number} names no item (BP, SK, VP or UP id); add one", position=position)
    description = requested = promised = None
    for segment in segments[1:]:
        if segment[0] == "PID" and value(segment, 1) == "F" and description is None:
            description = value(segment, 5) or None
        elif segment[0] == "DTM" and value(segment, 1) == "002":
            requested = to_date(value(segment, 2), "DTM02", position)
        elif segment[0] == "DTM" and value(segment, 1) == "067":
            promised = to_date(value(segment, 2), "DTM02", position)
    ordered = quantity(value(po1, 2), value(po1, 3), context, f"PO102 of line {number}", position)
    unit_cost = money(value(po1, 4) or "0", currency, f"PO104 of line {number}", position)
    return canonical(
        lambda: PurchaseOrderLine(
            line_number=int(number) if ascii_digits(number) else start,
            item_id=context.item_id(sku),
            sku=sku,
            vendor_part_number=vendor_part,
            description=description,
            ordered_quantity=ordered,
            unit_cost=unit_cost,
            requested_date=requested,
            promised_date=promised,
        ),
        f"PO1 line {number}",
        position,
    )


def read_purchase_order(transaction: TransactionSet, context: X12Context) -> PurchaseOrder:
    """An 850 as a canonical PurchaseOrder sent by `context.sender_id` to `context.receiver_id` (the supplier)."""
    segments = transaction.segments
    base = transaction.position
    beg = beginning_segment(segments, "BEG", "850", "a purchase order", base)
    number = value(beg, 3)
    order_date = to_date(value(beg, 5), "BEG05", base + 1)
    first_line = next((i for i, s in enumerate(segments) if s[0] == "PO1"), len(segments))
    currency = context.currency
    sales_order_id = buyer = terms = ship_method = None
    requested: date | None = None
    ship_to: Address | None = None
    ship_to_location: str | None = None
    index = 1
    while index < first_line:
        segment = segments[index]
        tag = segment[0]
        if tag == "N1":
            party, index = read_party(segments, index, base)
            if party.entity == "ST":
                ship_to = party.address(AddressKind.SHIP_TO, context)
                ship_to_location = party.id_code or None
            continue
        if tag == "CUR" and value(segment, 2):
            currency = value(segment, 2)
        elif tag == "REF" and value(segment, 1) == "CO":
            sales_order_id = value(segment, 2) or None
        elif tag == "PER" and value(segment, 1) == "BD":
            buyer = value(segment, 2) or None
        elif tag == "ITD":
            terms = terms or _terms(segment)
        elif tag == "DTM" and value(segment, 1) == "002":
            requested = to_date(value(segment, 2), "DTM02", base + index)
        elif tag == "TD5":
            routing = value(segment, 5) or value(segment, 3)
            ship_method = context.codes.ship_method(routing) if routing else ship_method
        index += 1
    lines = [
        _line(line, start, context, currency, base) for start, line in loops(segments, "PO1", ("CTT", "SE", "AMT"))
    ]
    cancelled = value(beg, 1) == "01"
    return canonical(
        lambda: PurchaseOrder(
            id=context.document_id("po", number),
            external_refs=[ExternalRef(system=context.system, local_id=number)],
            number=number,
            supplier_id=context.receiver_id,
            kind=Sourcing.DROP_SHIP if value(beg, 2) == _DROP_SHIP else Sourcing.STOCKED,
            status=PurchaseOrderStatus.CANCELLED if cancelled else PurchaseOrderStatus.ISSUED,
            order_date=order_date,
            currency=currency,
            ship_to_location_id=ship_to_location,
            ship_to=ship_to,
            sales_order_id=sales_order_id,
            payment_terms=terms,
            ship_method=ship_method,
            requested_date=requested,
            buyer=buyer,
            lines=lines,
        ),
        f"850 purchase order {number}",
        base,
    )


def _line_segments(line: PurchaseOrderLine, codes: X12CodeTable) -> list[Segment]:
    po1 = [
        "PO1",
        str(line.line_number),
        number_text(line.ordered_quantity.value),
        codes.x12_uom(line.ordered_quantity.uom),
        number_text(line.unit_cost.amount),
        "",
        "BP",
        line.sku,
    ]
    if line.vendor_part_number:
        po1 += ["VP", line.vendor_part_number]
    segments = [po1]
    if line.description:
        segments.append(["PID", "F", "", "", "", line.description])
    if line.requested_date:
        segments.append(["DTM", "002", date_text(line.requested_date)])
    if line.promised_date:
        segments.append(["DTM", "067", date_text(line.promised_date)])
    return segments


def purchase_order_to_x12(order: PurchaseOrder, codes: X12CodeTable | None = None) -> OutboundSet:
    """A canonical PurchaseOrder as an 850 body (BEG, CUR, REF, PER, ITD, DTM, TD5, N1 loop, PO1 loops, CTT)."""
    codes = codes or X12CodeTable()
    body: list[Segment] = [
        [
            "BEG",
            "01" if order.status == PurchaseOrderStatus.CANCELLED else "00",
            _DROP_SHIP if order.kind == Sourcing.DROP_SHIP else "SA",
            order.number,
            "",
            date_text(order.order_date),
        ],
        ["CUR", "BY", order.currency],
    ]
    if order.sales_order_id:
        body.append(["REF", "CO", order.sales_order_id])
    if order.buyer:
        body.append(["PER", "BD", order.buyer])
    if order.payment_terms:
        body.append(["ITD", *[""] * 11, order.payment_terms])
    if order.requested_date:
        body.append(["DTM", "002", date_text(order.requested_date)])
    if order.ship_method:
        body.append(["TD5", "", "", "", "", codes.x12_ship_method(order.ship_method)])
    if order.ship_to is not None or order.ship_to_location_id:
        body.extend(party_segments("ST", order.ship_to, order.ship_to_location_id))
    for line in order.lines:
        body.extend(_line_segments(line, codes))
    body.append(["CTT", str(len(order.lines))])
    return OutboundSet("850", body)


def sales_order_request(order: PurchaseOrder, customer_id: str, *, order_id: str | None = None) -> SalesOrder:
    """A customer's 850 (read as a PurchaseOrder) as a submitted sales order: their part numbers, our SKUs."""
    lines = [
        SalesOrderLine(
            line_number=line.line_number,
            item_id=line.item_id,
            sku=line.vendor_part_number or line.sku,
            description=line.description,
            customer_part_number=line.sku,
            unit_price=line.unit_cost,
            ordered_quantity=line.ordered_quantity,
            requested_date=line.requested_date,
        )
        for line in order.lines
    ]
    return SalesOrder(
        id=order_id or f"so-{order.id}".replace(":", "-"),
        external_refs=order.external_refs,
        number=order.number,
        customer_id=customer_id,
        ship_to=order.ship_to,
        ship_to_id=None if order.ship_to is not None else order.ship_to_location_id,
        customer_po=order.number,
        order_date=order.order_date,
        currency=order.currency,
        status=SalesOrderStatus.SUBMITTED,
        payment_terms=order.payment_terms,
        ship_method=order.ship_method,
        requested_date=order.requested_date,
        lines=lines,
    )
