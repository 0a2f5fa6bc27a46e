"""Advance ship notices (ASN) from suppliers, in the X12 856 hierarchy: shipment, order, pack, item."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.addresses import Address
from crossdock.model.common import CanonicalModel, Entity, Quantity
from crossdock.model.measures import Weight
from crossdock.model.scalars import CanonicalId, Code, Gtin, Sscc, Timestamp


class ShipNoticeItem(CanonicalModel):
    """Item level (HL I): a quantity of one PO line, identified by at least one item number."""

    po_line_number: int = Field(ge=1)
    item_id: CanonicalId | None = None
    sku: Code | None = None
    vendor_part_number: Code | None = None
    gtin: Gtin | None = None
    quantity: Quantity
    lot_number: Code | None = None
    expiry_date: date | None = None

    @model_validator(mode="after")
    def check_item(self) -> Self:
        """The item is identified somehow, and the shipped quantity is above zero."""
        owner = f"ship notice item for PO line {self.po_line_number}"
        if not (self.item_id or self.sku or self.vendor_part_number or self.gtin):
            raise ValueError(f"{owner} names no item; give item_id, sku, vendor_part_number or gtin")
        if self.quantity.value <= 0:
            raise ValueError(f"{owner}: quantity must be greater than zero")
        return self


class ShipNoticePack(CanonicalModel):
    """Pack level (HL P): a carton or pallet with its SSCC label and contents."""

    sscc: Sscc | None = None
    weight: Weight | None = None
    items: list[ShipNoticeItem] = Field(min_length=1)


class ShipNoticeOrder(CanonicalModel):
    """Order level (HL O): one purchase order's goods, packed or loose."""

    purchase_order_id: CanonicalId | None = None
    """Set once the PO number is matched to our purchase order."""
    po_number: Code
    packs: list[ShipNoticePack] = Field(default_factory=list)
    items: list[ShipNoticeItem] = Field(default_factory=list)
    """Items shipped without a pack level (a pick-and-pack ASN puts them in packs instead)."""

    @model_validator(mode="after")
    def check_contents(self) -> Self:
        """An order level carries goods."""
        if not self.packs and not self.items:
            raise ValueError(f"ship notice order {self.po_number} has no packs and no items")
        return self

    def all_items(self) -> Iterator[ShipNoticeItem]:
        """Every item of this order, loose ones and those in packs."""
        yield from self.items
        for pack in self.packs:
            yield from pack.items


class ShipNotice(Entity):
    """An advance ship notice (ASN, EDI 856): goods a supplier has dispatched, by PO, pack and item."""

    number: Code
    """The supplier's shipment identification (BSN02); a business key in lineage."""
    supplier_id: CanonicalId
    shipped_at: Timestamp
    expected_delivery: date | None = None
    carrier: Code | None = None
    """The carrier's SCAC or name."""
    ship_method: Code | None = None
    tracking_number: Code | None = None
    """Tracking, PRO or bill-of-lading number."""
    ship_to_location_id: Code | None = None
    """Our receiving warehouse; None for a drop-ship to an end customer."""
    ship_to: Address | None = None
    gross_weight: Weight | None = None
    orders: list[ShipNoticeOrder] = Field(min_length=1)

    @model_validator(mode="after")
    def check_ship_notice(self) -> Self:
        """Every SSCC once, and a destination."""
        owner = f"ship notice {self.number}"
        ssccs = [pack.sscc for order in self.orders for pack in order.packs if pack.sscc is not None]
        duplicates = sorted({s for s in ssccs if ssccs.count(s) > 1})
        if duplicates:
            raise ValueError(f"{owner} lists SSCC {', '.join(duplicates)} more than once; each label is unique")
        if self.ship_to_location_id is None and self.ship_to is None:
            raise ValueError(f"{owner} needs a ship_to_location_id (our warehouse) or a ship_to address")
        return self

    def shipped_by_po_line(self) -> dict[tuple[str, int], Quantity]:
        """Total shipped per (PO number, PO line), summed over packs; raises UomMismatchError on mixed UOMs."""
        totals: dict[tuple[str, int], Quantity] = {}
        for order in self.orders:
            for item in order.all_items():
                key = (order.po_number, item.po_line_number)
                totals[key] = totals[key] + item.quantity if key in totals else item.quantity
        return totals
