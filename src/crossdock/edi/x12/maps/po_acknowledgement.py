"""855 purchase order acknowledgement ↔ canonical `PoAcknowledgement` (BAK header status, ACK per line)."""

from __future__ import annotations

from datetime import date

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.common import (
    at,
    beginning_segment,
    canonical,
    date_text,
    first_id,
    loops,
    money,
    number_text,
    product_ids,
    quantity,
    to_date,
    value,
)
from crossdock.edi.x12.maps.context import X12CodeTable, X12Context
from crossdock.edi.x12.maps.purchase_order import BUYER_PART, GTIN, VENDOR_PART
from crossdock.edi.x12.tokenizer import Segment, ascii_digits
from crossdock.edi.x12.writer import OutboundSet
from crossdock.model.common import ExternalRef, Quantity
from crossdock.model.purchasing import (
    AcknowledgementLine,
    AcknowledgementStatus,
    LineAcknowledgementStatus,
    PoAcknowledgement,
)

_HEADER_STATUS = {
    "AD": AcknowledgementStatus.ACCEPTED,
    "AK": AcknowledgementStatus.ACCEPTED,
    "AT": AcknowledgementStatus.ACCEPTED,
    "AP": AcknowledgementStatus.ACCEPTED,
    "AC": AcknowledgementStatus.ACCEPTED_WITH_CHANGES,
    "AE": AcknowledgementStatus.ACCEPTED_WITH_CHANGES,
    "AH": AcknowledgementStatus.ACCEPTED_WITH_CHANGES,
    "RD": AcknowledgementStatus.REJECTED,
    "RJ": AcknowledgementStatus.REJECTED,
    "RF": AcknowledgementStatus.REJECTED,
    "RN": AcknowledgementStatus.REJECTED,
    "RO": AcknowledgementStatus.REJECTED,
    "RV": AcknowledgementStatus.REJECTED,
}
"""BAK02 → canonical status; codes not listed (NA, ZZ) count as accepted with changes."""
_HEADER_CODE = {
    AcknowledgementStatus.ACCEPTED: "AD",
    AcknowledgementStatus.ACCEPTED_WITH_CHANGES: "AC",
    AcknowledgementStatus.REJECTED: "RJ",
}
_LINE_STATUS = {
    "IA": LineAcknowledgementStatus.ACCEPTED,
    "AC": LineAcknowledgementStatus.ACCEPTED,
    "IB": LineAcknowledgementStatus.BACKORDERED,
    "BP": LineAcknowledgementStatus.BACKORDERED,
    "IR": LineAcknowledgementStatus.REJECTED,
    "ID": LineAcknowledgementStatus.REJECTED,
    "R1": LineAcknowledgementStatus.REJECTED,
    "R2": LineAcknowledgementStatus.REJECTED,
    "R3": LineAcknowledgementStatus.REJECTED,
    "R4": LineAcknowledgementStatus.REJECTED,
}
"""ACK01 → canonical line status; every other code (IC, IQ, IP, IS, DR, IH...) is a change."""
_LINE_CODE = {
    LineAcknowledgementStatus.ACCEPTED: "IA",
    LineAcknowledgementStatus.BACKORDERED: "IB",
    LineAcknowledgementStatus.REJECTED: "IR",
    LineAcknowledgementStatus.CHANGED: "IC",
}
_SHIP_DATES = ("068", "067", "069", "017", "002")
"""ACK04 / SCH05 qualifiers of the date the supplier commits to (068 current schedule ship first)."""


def _ack_line(
    segments: list[Segment], start: int, context: X12Context, currency: str, base: int
) -> AcknowledgementLine:
    po1 = segments[0]
    position = base + start
    number = value(po1, 1)
    if not ascii_digits(number) or int(number) < 1:
        raise X12MappingError(f"PO101 {number!r} is not a PO line number; the 855 must echo it", position=position)
    ids = product_ids(po1, 6)
    ack = next((s for s in segments if s[0] == "ACK"), None)
    code = value(ack, 1) if ack is not None else "IA"
    status = _LINE_STATUS.get(code, LineAcknowledgementStatus.CHANGED)
    amount, uom = value(po1, 2), value(po1, 3)
    promised: date | None = None
    if ack is not None:
        amount, uom = value(ack, 2) or amount, value(ack, 3) or uom
        if value(ack, 4) in _SHIP_DATES and value(ack, 5):
            promised = to_date(value(ack, 5), "ACK05", position)
    schedule = next((s for s in segments if s[0] == "SCH"), None)
    if promised is None and schedule is not None and value(schedule, 6):
        promised = to_date(value(schedule, 6), "SCH06", position)
    committed: Quantity | None = quantity(amount, uom, context, "ACK02", position) if amount else None
    sku = first_id(ids, BUYER_PART) or first_id(ids, VENDOR_PART) or first_id(ids, GTIN)
    price = value(po1, 4)
    return canonical(
        lambda: AcknowledgementLine(
            po_line_number=int(number),
            status=status,
            item_id=context.item_id(sku) if sku else None,
            sku=sku,
            vendor_part_number=first_id(ids, VENDOR_PART),
            quantity=committed,
            unit_cost=money(price, currency, "PO104", position) if price else None,
            promised_date=promised,
            note=None if _LINE_CODE.get(status) == code else f"ACK01 {code}",
        ),
        f"855 line {number}",
        position,
    )


def read_po_acknowledgement(transaction: TransactionSet, context: X12Context) -> PoAcknowledgement:
    """An 855 from supplier `context.sender_id` as a canonical PoAcknowledgement of our PO."""
    segments = transaction.segments
    base = transaction.position
    bak = beginning_segment(segments, "BAK", "855", "an acknowledgement", base)
    po_number = value(bak, 3)
    acknowledged = to_date(value(bak, 9) or value(bak, 4), "BAK09", base + 1)
    currency = next((value(s, 2) for s in segments if s[0] == "CUR" and value(s, 2)), context.currency)
    lines = [_ack_line(line, start, context, currency, base) for start, line in loops(segments, "PO1", ("CTT", "SE"))]
    status = _HEADER_STATUS.get(value(bak, 2), AcknowledgementStatus.ACCEPTED_WITH_CHANGES)
    statuses = {line.status for line in lines}
    # Suppliers send BAK02 AD ("acknowledged") over lines they reject; the line answers are what the buyer acts on.
    if status == AcknowledgementStatus.ACCEPTED and statuses - {LineAcknowledgementStatus.ACCEPTED}:
        status = AcknowledgementStatus.ACCEPTED_WITH_CHANGES
    if status == AcknowledgementStatus.REJECTED and statuses - {LineAcknowledgementStatus.REJECTED}:
        status = AcknowledgementStatus.ACCEPTED_WITH_CHANGES
    number = value(bak, 8) or value(bak, 6) or None
    return canonical(
        lambda: PoAcknowledgement(
            id=context.document_id("poack", po_number),
            external_refs=[ExternalRef(system=context.system, local_id=number)] if number else [],
            number=number,
            purchase_order_id=context.own_document_id("po", po_number),
            po_number=po_number,
            supplier_id=context.sender_id,
            status=status,
            acknowledged_at=at(acknowledged, None, context),
            lines=lines,
        ),
        f"855 for PO {po_number}",
        base,
    )


def po_acknowledgement_to_x12(acknowledgement: PoAcknowledgement, codes: X12CodeTable | None = None) -> OutboundSet:
    """A canonical PoAcknowledgement as an 855 body (BAK, CUR, PO1 + ACK per line, CTT)."""
    codes = codes or X12CodeTable()
    day = date_text(acknowledgement.acknowledged_at.date())
    body: list[Segment] = [
        [
            "BAK",
            "00",
            _HEADER_CODE[acknowledgement.status],
            acknowledgement.po_number,
            day,
            "",
            "",
            "",
            acknowledgement.number or "",
            day,
        ]
    ]
    currencies = {line.unit_cost.currency for line in acknowledgement.lines if line.unit_cost is not None}
    if currencies:
        body.append(["CUR", "SE", currencies.pop()])
    for line in acknowledgement.lines:
        amount = number_text(line.quantity.value) if line.quantity is not None else ""
        uom = codes.x12_uom(line.quantity.uom) if line.quantity is not None else ""
        price = number_text(line.unit_cost.amount) if line.unit_cost is not None else ""
        po1 = ["PO1", str(line.po_line_number), amount, uom, price, ""]
        if line.sku:
            po1 += ["BP", line.sku]
        if line.vendor_part_number:
            po1 += ["VP", line.vendor_part_number]
        body.append(po1)
        ack = ["ACK", _LINE_CODE[line.status], amount, uom]
        if line.promised_date is not None:
            ack += ["068", date_text(line.promised_date)]
        body.append(ack)
    body.append(["CTT", str(len(acknowledgement.lines))])
    return OutboundSet("855", body)
