"""Outbound shipments to customers: lines against order lines, packages with SSCCs, carrier and tracking."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.addresses import Address
from crossdock.model.common import CanonicalModel, Entity, Quantity
from crossdock.model.lines import check_line_numbers
from crossdock.model.measures import Dimensions, Weight, WeightUnit
from crossdock.model.scalars import CanonicalId, Code, Sscc, Timestamp


class ShipmentStatus(StrEnum):
    """Where a shipment is between the pick list and the customer's dock."""

    PLANNED = "planned"
    PICKING = "picking"
    PACKED = "packed"
    SHIPPED = "shipped"
    """Handed to the carrier (dispatched)."""
    DELIVERED = "delivered"
    """Proof of delivery received."""
    CANCELLED = "cancelled"


class ShipmentKind(StrEnum):
    """Who ships: our warehouse, or a supplier shipping a drop-ship order for us."""

    OUTBOUND = "outbound"
    DROP_SHIP = "drop_ship"


class ShipmentLine(CanonicalModel):
    """A quantity of one order line in this shipment."""

    line_number: int = Field(ge=1)
    order_id: CanonicalId
    order_number: Code | None = None
    order_line_number: int = Field(ge=1)
    item_id: CanonicalId
    sku: Code
    quantity: Quantity
    lot_number: Code | None = None


class PackageContent(CanonicalModel):
    """How much of one shipment line is in a package."""

    line_number: int = Field(ge=1)
    """The shipment line (not the order line)."""
    quantity: Quantity


class Package(CanonicalModel):
    """A carton or pallet: its SSCC label, weight, size, tracking number and contents."""

    sscc: Sscc | None = None
    tracking_number: Code | None = None
    """The parcel carrier's number for this package; freight shipments track on the shipment instead."""
    weight: Weight | None = None
    dimensions: Dimensions | None = None
    contents: list[PackageContent] = Field(default_factory=list)


class Shipment(Entity):
    """Goods leaving for a customer: which order lines, in which packages, with which carrier and tracking."""

    number: Code
    """The shipment or delivery number; a business key in lineage."""
    kind: ShipmentKind = ShipmentKind.OUTBOUND
    status: ShipmentStatus = ShipmentStatus.PLANNED
    customer_id: CanonicalId
    ship_to_id: CanonicalId | None = None
    ship_to: Address
    """The address the goods go to, as printed on the label."""
    ship_from_location_id: Code | None = None
    """Our warehouse; None for a drop-ship, which leaves from the supplier."""
    supplier_id: CanonicalId | None = None
    """The supplier shipping a drop-ship."""
    carrier: Code | None = None
    """The carrier's SCAC or name (UPSN, FDEG, a regional LTL carrier)."""
    ship_method: Code | None = None
    """Service level: ground, next day air, LTL, will-call."""
    tracking_number: Code | None = None
    """The master tracking, PRO or bill-of-lading number for the whole shipment."""
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None
    expected_delivery: date | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)
    packages: list[Package] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_shipment(self) -> Self:
        """Dates match the status, SSCCs are unique, packages hold only this shipment's lines in their UOMs."""
        owner = f"shipment {self.number}"
        shipped = self.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED)
        if shipped and self.shipped_at is None:
            raise ValueError(f"{owner} is {self.status.value} but has no shipped_at")
        if self.status == ShipmentStatus.DELIVERED and self.delivered_at is None:
            raise ValueError(f"{owner} is delivered but has no delivered_at")
        if self.shipped_at and self.delivered_at and self.delivered_at < self.shipped_at:
            raise ValueError(f"{owner}: delivered_at {self.delivered_at} is before shipped_at {self.shipped_at}")
        if self.kind == ShipmentKind.DROP_SHIP and self.supplier_id is None:
            raise ValueError(f"{owner} is a drop-ship but names no supplier_id")
        check_line_numbers(self.lines, owner)
        for line in self.lines:
            if line.quantity.value <= 0:
                raise ValueError(f"{owner} line {line.line_number}: quantity must be greater than zero")
        ssccs = [p.sscc for p in self.packages if p.sscc is not None]
        if len(ssccs) != len(set(ssccs)):
            raise ValueError(f"{owner}: two packages carry the same SSCC; each label is unique")
        uoms = {line.line_number: line.quantity.uom for line in self.lines}
        for package in self.packages:
            for content in package.contents:
                uom = uoms.get(content.line_number)
                if uom is None:
                    raise ValueError(f"{owner}: a package holds line {content.line_number}, which it does not have")
                if content.quantity.uom != uom:
                    raise ValueError(
                        f"{owner}: a package holds line {content.line_number} in {content.quantity.uom}, "
                        f"but the line is in {uom}"
                    )
        return self

    @property
    def order_ids(self) -> list[str]:
        """The orders this shipment fills, in line order, each once."""
        return list(dict.fromkeys(line.order_id for line in self.lines))

    @property
    def total_weight(self) -> Weight | None:
        """The sum of package weights in kilograms, or None if no package states one."""
        weights = [p.weight.to(WeightUnit.KG) for p in self.packages if p.weight is not None]
        if not weights:
            return None
        total = weights[0]
        for weight in weights[1:]:
            total = total + weight
        return total
