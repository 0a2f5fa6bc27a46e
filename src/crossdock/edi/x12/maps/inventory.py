"""846 inventory advice → canonical `InventoryPosition`s, one per item and location."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.common import (
    at,
    beginning_segment,
    canonical,
    first_id,
    loops,
    product_ids,
    read_party,
    to_date,
    to_decimal,
    to_time,
    value,
)
from crossdock.edi.x12.maps.context import X12Context
from crossdock.edi.x12.maps.purchase_order import BUYER_PART, GTIN, VENDOR_PART
from crossdock.edi.x12.tokenizer import Segment
from crossdock.model.common import ExternalRef, Quantity
from crossdock.model.inventory import InventoryPosition

QUANTITY_QUALIFIERS: Mapping[str, str] = {"17": "on_hand", "33": "available_to_promise", "63": "on_order"}
"""QTY01 qualifiers read by default: 17 on hand, 33 available for sale, 63 on order. Partners that report
allocations do so under codes of their own: pass them in `qualifiers` (e.g. {"QA": "allocated"})."""
_LOCATION_ENTITIES = ("WH", "SF", "ST", "RL", "SU")
"""N101 codes naming the stocking location (warehouse first)."""


def _location(segments: list[Segment], base: int) -> str | None:
    found: dict[str, str] = {}
    index = 0
    while index < len(segments):
        if segments[index][0] == "N1":
            party, index = read_party(segments, index, base)
            if party.id_code:
                found.setdefault(party.entity, party.id_code)
            continue
        index += 1
    return next((found[entity] for entity in _LOCATION_ENTITIES if entity in found), None)


def read_inventory_advice(
    transaction: TransactionSet, context: X12Context, *, qualifiers: Mapping[str, str] = QUANTITY_QUALIFIERS
) -> list[InventoryPosition]:
    """An 846 as inventory positions; a quantity the file does not state is zero, except on-hand, which falls
    back to the available quantity (what a supplier's advice usually carries)."""
    segments = transaction.segments
    base = transaction.position
    bia = beginning_segment(segments, "BIA", "846", "inventory advice", base)
    as_of = at(
        to_date(value(bia, 4), "BIA04", base + 1),
        to_time(value(bia, 5), "BIA05", base + 1) if value(bia, 5) else None,
        context,
    )
    first_item = next((i for i, s in enumerate(segments) if s[0] == "LIN"), len(segments))
    header_location = _location(segments[1:first_item], base + 1) or context.ship_to_location_id
    positions: list[InventoryPosition] = []
    for start, item in loops(segments, "LIN", ("CTT", "SE")):
        position = base + start
        ids = product_ids(item[0], 2)
        sku = first_id(ids, ("SK", *VENDOR_PART, *BUYER_PART, *GTIN))
        if sku is None:
            raise X12MappingError("LIN names no item number; add an SK, VP or UP id", position=position)
        location = _location(item, position) or header_location
        if location is None:
            raise X12MappingError(
                f"no location for item {sku}: add an N1*WH with an id, or set X12Context.ship_to_location_id",
                position=position,
            )
        amounts: dict[str, Decimal] = {}
        uom = "EA"
        receipt = None
        for offset, segment in enumerate(item):
            if segment[0] == "QTY" and value(segment, 1) in qualifiers:
                field = qualifiers[value(segment, 1)]
                amounts[field] = amounts.get(field, Decimal(0)) + to_decimal(
                    value(segment, 2), "QTY02", position + offset
                )
                composite = value(segment, 3)
                uom = context.codes.uom(composite.split(transaction.delimiters.component)[0]) if composite else uom
            elif segment[0] in ("DTM", "SCH") and value(segment, 1 if segment[0] == "DTM" else 5) == "018":
                receipt = receipt or to_date(
                    value(segment, 2 if segment[0] == "DTM" else 6), "DTM02", position + offset
                )
        amounts.setdefault("on_hand", amounts.get("available_to_promise", Decimal(0)))
        quantities = {
            name: Quantity.of(amounts.get(name, Decimal(0)), uom)
            for name in ("on_hand", "allocated", "available_to_promise", "on_order")
        }
        positions.append(
            canonical(
                partial(
                    InventoryPosition,
                    id=context.document_id("stock", f"{location}:{sku}"),
                    external_refs=[ExternalRef(system=context.system, local_id=f"{location}:{sku}")],
                    item_id=context.item_id(sku),
                    sku=sku,
                    location_id=location,
                    as_of=as_of,
                    next_receipt_date=receipt,
                    **quantities,
                ),
                f"846 item {sku}",
                position,
            )
        )
    return positions
