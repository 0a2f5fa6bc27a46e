"""856 ship notice ↔ canonical `ShipNotice`: the HL hierarchy shipment → order → (pack) → item."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.common import (
    at,
    beginning_segment,
    canonical,
    date_text,
    first_id,
    number_text,
    party_segments,
    product_ids,
    quantity,
    read_party,
    to_date,
    to_decimal,
    to_time,
    value,
    weight_unit,
)
from crossdock.edi.x12.maps.context import X12CodeTable, X12Context
from crossdock.edi.x12.maps.purchase_order import BUYER_PART, GTIN, VENDOR_PART
from crossdock.edi.x12.tokenizer import Segment, ascii_digits
from crossdock.edi.x12.writer import OutboundSet
from crossdock.model.addresses import AddressKind
from crossdock.model.common import ExternalRef
from crossdock.model.measures import Weight
from crossdock.model.scalars import gs1_check_digit_ok
from crossdock.model.ship_notice import ShipNotice, ShipNoticeItem, ShipNoticeOrder, ShipNoticePack

_TRACKING = ("CN", "2I", "BM")
"""REF qualifiers of a tracking number, preferred first: carrier's reference (PRO), tracking, bill of lading."""


@dataclass
class _Level:
    """One HL loop: its id, parent, level code and segments (HL first)."""

    id: str
    parent: str
    code: str
    position: int
    segments: list[Segment]
    children: list[_Level] = field(default_factory=list)


def _levels(transaction: TransactionSet) -> list[_Level]:
    segments = transaction.segments
    levels: list[_Level] = []
    for index, segment in enumerate(segments):
        if segment[0] == "HL":
            levels.append(
                _Level(value(segment, 1), value(segment, 2), value(segment, 3), transaction.position + index, [])
            )
        elif segment[0] in ("CTT", "SE"):
            break
        if levels:
            levels[-1].segments.append(segment)
    by_id = {level.id: level for level in levels}
    for level in levels:
        parent = by_id.get(level.parent)
        if parent is not None and parent is not level:
            parent.children.append(level)
        elif level.parent:
            raise X12MappingError(
                f"HL {level.id} names parent {level.parent!r}, which is not in the set", position=level.position
            )
    return levels


def _weight(segments: list[Segment], position: int) -> Weight | None:
    td1 = next((s for s in segments if s[0] == "TD1" and value(s, 7)), None)
    if td1 is None:
        return None
    unit = weight_unit(value(td1, 8) or "LB")
    if unit is None:
        return None
    number = to_decimal(value(td1, 7), "TD107", position)
    return canonical(lambda: Weight(value=number, unit=unit), "TD1 weight", position)


def _item(level: _Level, sequence: int, context: X12Context) -> ShipNoticeItem:
    lin = next((s for s in level.segments if s[0] == "LIN"), None)
    sn1 = next((s for s in level.segments if s[0] == "SN1"), None)
    if sn1 is None:
        raise X12MappingError(f"item level HL {level.id} has no SN1 quantity; add one", position=level.position)
    ids = product_ids(lin, 2) if lin is not None else {}
    gtin = first_id(ids, GTIN)
    if gtin is not None and not (len(gtin) in (8, 12, 13, 14) and gs1_check_digit_ok(gtin)):
        gtin = None  # not a valid GTIN (sample data, internal numbers): keep it out of the GTIN field
    sku = first_id(ids, BUYER_PART)
    line = value(lin, 1) if lin is not None else ""
    line = line if ascii_digits(line) else value(sn1, 1)
    lot = next((value(s, 2) for s in level.segments if s[0] == "REF" and value(s, 1) == "LT"), None)
    expiry = next((value(s, 2) for s in level.segments if s[0] == "DTM" and value(s, 1) == "036"), None)
    shipped = quantity(value(sn1, 2), value(sn1, 3), context, "SN102", level.position)
    return canonical(
        lambda: ShipNoticeItem(
            po_line_number=int(line) if ascii_digits(line) and int(line) > 0 else sequence,
            item_id=context.item_id(sku) if sku else None,
            sku=sku,
            vendor_part_number=first_id(ids, VENDOR_PART),
            gtin=gtin,
            quantity=shipped,
            lot_number=lot or None,
            expiry_date=to_date(expiry, "DTM02", level.position) if expiry else None,
        ),
        f"item level HL {level.id}",
        level.position,
    )


def _items_below(level: _Level, context: X12Context) -> list[ShipNoticeItem]:
    return [_item(child, n, context) for n, child in enumerate(level.children, 1) if child.code == "I"]


def _order(level: _Level, context: X12Context) -> ShipNoticeOrder:
    prf = next((s for s in level.segments if s[0] == "PRF"), None)
    if prf is None or not value(prf, 1):
        raise X12MappingError(
            f"order level HL {level.id} has no PRF with the PO number; add one", position=level.position
        )
    po_number = value(prf, 1)
    packs = []
    # Tare levels (pallets) only group packs: their packs belong to the order all the same.
    pack_levels = [c for c in level.children if c.code == "P"]
    for tare in (c for c in level.children if c.code == "T"):
        pack_levels += [c for c in tare.children if c.code == "P"]
    for pack in pack_levels:
        sscc = next((value(s, 2) for s in pack.segments if s[0] == "MAN" and value(s, 1) in ("GM", "AA")), None)
        items = _items_below(pack, context)
        if items:
            weight = _weight(pack.segments, pack.position)
            build = partial(ShipNoticePack, sscc=sscc, weight=weight, items=items)
            packs.append(canonical(build, f"pack HL {pack.id}", pack.position))
    items = _items_below(level, context)
    return canonical(
        lambda: ShipNoticeOrder(
            purchase_order_id=context.own_document_id("po", po_number), po_number=po_number, packs=packs, items=items
        ),
        f"order level HL {level.id}",
        level.position,
    )


def read_ship_notice(transaction: TransactionSet, context: X12Context) -> ShipNotice:
    """An 856 from supplier `context.sender_id` as a canonical ShipNotice."""
    segments = transaction.segments
    base = transaction.position
    bsn = beginning_segment(segments, "BSN", "856", "a ship notice", base)
    number = value(bsn, 2)
    shipped_at = at(
        to_date(value(bsn, 3), "BSN03", base + 1), to_time(value(bsn, 4) or "0000", "BSN04", base + 1), context
    )
    levels = _levels(transaction)
    shipment = next((level for level in levels if level.code == "S"), None)
    if shipment is None:
        raise X12MappingError("the 856 has no shipment level (HL*...*S); it cannot be read", position=base)
    carrier = ship_method = tracking = None
    expected = None
    ship_to = None
    location = context.ship_to_location_id
    index = 0
    while index < len(shipment.segments):
        segment = shipment.segments[index]
        tag = segment[0]
        if tag == "N1":
            party, index = read_party(shipment.segments, index, shipment.position)
            if party.entity == "ST":
                ship_to = party.address(AddressKind.SHIP_TO, context)
                location = party.id_code or (location if ship_to is None else None)
            continue
        if tag == "TD5":
            carrier = carrier or (value(segment, 3) if value(segment, 2) == "2" else None) or None
            routing = value(segment, 5)
            ship_method = ship_method or (context.codes.ship_method(routing) if routing else None)
        elif tag == "REF" and value(segment, 1) in _TRACKING and value(segment, 2):
            if tracking is None or _TRACKING.index(value(segment, 1)) < _TRACKING.index(tracking[0]):
                tracking = (value(segment, 1), value(segment, 2))
        elif tag == "DTM" and value(segment, 1) in ("017", "067"):
            expected = to_date(value(segment, 2), "DTM02", shipment.position + index)
        index += 1
    orders = [_order(level, context) for level in levels if level.code == "O"]
    return canonical(
        lambda: ShipNotice(
            id=context.document_id("asn", number),
            external_refs=[ExternalRef(system=context.system, local_id=number)],
            number=number,
            supplier_id=context.sender_id,
            shipped_at=shipped_at,
            expected_delivery=expected,
            carrier=carrier,
            ship_method=ship_method,
            tracking_number=tracking[1] if tracking else None,
            ship_to_location_id=location,
            ship_to=ship_to,
            gross_weight=_weight(shipment.segments, shipment.position),
            orders=orders,
        ),
        f"856 ship notice {number}",
        base,
    )


def _weight_segment(weight: Weight | None) -> list[Segment]:
    if weight is None:
        return []
    return [["TD1", "", "", "", "", "", "G", number_text(weight.value), weight.unit.value]]


def _item_segments(item: ShipNoticeItem, hl_id: int, parent: int, codes: X12CodeTable) -> list[Segment]:
    lin = ["LIN", str(item.po_line_number)]
    for qualifier, code in (
        ("BP", item.sku),
        ("VP", item.vendor_part_number),
        ("UP" if item.gtin and len(item.gtin) == 12 else "EN", item.gtin),
    ):
        if code:
            lin += [qualifier, code]
    segments: list[Segment] = [["HL", str(hl_id), str(parent), "I"]]
    if len(lin) > 2:
        segments.append(lin)
    segments.append(["SN1", "", number_text(item.quantity.value), codes.x12_uom(item.quantity.uom)])
    if item.lot_number:
        segments.append(["REF", "LT", item.lot_number])
    if item.expiry_date:
        segments.append(["DTM", "036", date_text(item.expiry_date)])
    return segments


def ship_notice_to_x12(notice: ShipNotice, codes: X12CodeTable | None = None) -> OutboundSet:
    """A canonical ShipNotice as an 856 body: BSN, then HL S → O → (P) → I levels, CTT."""
    codes = codes or X12CodeTable()
    packed = any(order.packs for order in notice.orders)
    shipped = notice.shipped_at.astimezone(notice.shipped_at.tzinfo)
    body: list[Segment] = [
        [
            "BSN",
            "00",
            notice.number,
            date_text(shipped.date()),
            shipped.strftime("%H%M%S"),
            "0001" if packed else "0002",
        ],
        ["HL", "1", "", "S"],
        *_weight_segment(notice.gross_weight),
    ]
    if notice.carrier or notice.ship_method:
        td5 = ["TD5", "", "2" if notice.carrier else "", notice.carrier or "", ""]
        body.append([*td5, codes.x12_ship_method(notice.ship_method)] if notice.ship_method else td5)
    if notice.tracking_number:
        body.append(["REF", "CN", notice.tracking_number])
    if notice.expected_delivery:
        body.append(["DTM", "017", date_text(notice.expected_delivery)])
    if notice.ship_to is not None or notice.ship_to_location_id:
        body.extend(party_segments("ST", notice.ship_to, notice.ship_to_location_id))
    hl = 1
    for order in notice.orders:
        hl += 1
        order_hl = hl
        body += [["HL", str(order_hl), "1", "O"], ["PRF", order.po_number]]
        for pack in order.packs:
            hl += 1
            pack_hl = hl
            body += [["HL", str(pack_hl), str(order_hl), "P"], *_weight_segment(pack.weight)]
            if pack.sscc:
                body.append(["MAN", "GM", pack.sscc])
            for item in pack.items:
                hl += 1
                body += _item_segments(item, hl, pack_hl, codes)
        for item in order.items:
            hl += 1
            body += _item_segments(item, hl, order_hl, codes)
    body.append(["CTT", str(hl)])
    return OutboundSet("856", body)
