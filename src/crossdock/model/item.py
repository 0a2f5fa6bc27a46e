"""Items (SKUs): units of measure and pack sizes, weights, GTINs, customer and vendor part numbers."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.common import CanonicalModel, Entity, Quantity, Sourcing
from crossdock.model.measures import Dimensions, Weight
from crossdock.model.scalars import CanonicalId, Code, Gtin, PositiveDecimal, Text, UomCode


class UnknownUomError(ValueError):
    """An item was asked to convert to or from a UOM it has no pack size for."""


class ItemStatus(StrEnum):
    """Where an item is in its lifecycle."""

    NEW = "new"
    """Set up but not yet sellable."""
    ACTIVE = "active"
    PHASE_OUT = "phase_out"
    """Sold from remaining stock, not re-ordered."""
    DISCONTINUED = "discontinued"
    """No longer sold or bought; open demand must be substituted or cancelled."""


class PackSize(CanonicalModel):
    """One level of an item's UOM hierarchy: how many base units it holds, and its own GTIN, weight and size."""

    uom: UomCode
    units: PositiveDecimal
    """Base units in one of this UOM: 12 for a case of 12 each, 480 for a pallet of 40 such cases."""
    gtin: Gtin | None = None
    """The GTIN printed on this level (a UPC on the each, a GTIN-14 on the case)."""
    gross_weight: Weight | None = None
    dimensions: Dimensions | None = None


class CustomerPartNumber(CanonicalModel):
    """The number a customer orders an item by (EDI 850 buyer's part number)."""

    customer_id: CanonicalId
    part_number: Code


class VendorPartNumber(CanonicalModel):
    """The number a supplier sells an item by, and whether that supplier is the preferred source."""

    supplier_id: CanonicalId
    part_number: Code
    preferred: bool = False
    purchase_uom: UomCode | None = None
    """The UOM we buy in from this supplier, if not the item's purchase UOM."""


class Item(Entity):
    """A stock-keeping unit with its UOM hierarchy (each, case, pallet) and its trade identifiers."""

    sku: Code
    """Our item number; unique among active items and a business key in lineage."""
    description: Text
    long_description: Text | None = None
    status: ItemStatus = ItemStatus.ACTIVE
    category: Code | None = None
    """The product category code (a path such as `fasteners/screws` if the ERP has a tree)."""
    base_uom: UomCode
    """The smallest unit stock is counted in; every pack size converts to it."""
    packs: list[PackSize] = Field(default_factory=list)
    """Pack sizes above the base unit. The base unit may be listed too (with units 1) to give its GTIN or weight."""
    sales_uom: UomCode | None = None
    purchase_uom: UomCode | None = None
    sourcing: Sourcing = Sourcing.STOCKED
    """Stocked in our warehouses, or drop-shipped by a supplier."""
    manufacturer: Text | None = None
    manufacturer_part_number: Code | None = None
    customer_part_numbers: list[CustomerPartNumber] = Field(default_factory=list)
    vendor_part_numbers: list[VendorPartNumber] = Field(default_factory=list)
    tax_class: Code | None = None

    @model_validator(mode="after")
    def check_item(self) -> Self:
        """Pack sizes are unique and consistent, default UOMs exist, drop-ship items name their supplier."""
        owner = f"item {self.sku}"
        seen: set[str] = set()
        for pack in self.packs:
            if pack.uom in seen:
                raise ValueError(f"{owner} lists pack size {pack.uom} twice; keep one")
            seen.add(pack.uom)
            if pack.uom == self.base_uom and pack.units != 1:
                raise ValueError(
                    f"{owner}: the base UOM {self.base_uom} holds 1 base unit by definition, not {pack.units}"
                )
        gtins = [p.gtin for p in self.packs if p.gtin is not None]
        if len(gtins) != len(set(gtins)):
            raise ValueError(f"{owner}: two pack sizes share a GTIN; each level needs its own")
        for field, uom in (("sales_uom", self.sales_uom), ("purchase_uom", self.purchase_uom)):
            if uom is not None and uom != self.base_uom and uom not in seen:
                raise ValueError(f"{owner}: {field} {uom} has no pack size; known UOMs: {', '.join(self.uoms)}")
        customer_numbers = [(c.customer_id, c.part_number) for c in self.customer_part_numbers]
        if len(customer_numbers) != len(set(customer_numbers)):
            raise ValueError(f"{owner} lists the same customer part number twice")
        if sum(v.preferred for v in self.vendor_part_numbers) > 1:
            raise ValueError(f"{owner} has more than one preferred supplier; mark one")
        if self.sourcing == Sourcing.DROP_SHIP and not self.vendor_part_numbers:
            raise ValueError(f"{owner} is drop-shipped but names no supplier; add a vendor_part_numbers entry for it")
        return self

    @property
    def uoms(self) -> list[str]:
        """Every UOM the item can be counted in, base first."""
        return [self.base_uom, *(p.uom for p in self.packs if p.uom != self.base_uom)]

    @property
    def gtin(self) -> str | None:
        """The GTIN (UPC) of the base unit, if listed."""
        return next((p.gtin for p in self.packs if p.uom == self.base_uom), None)

    def pack(self, uom: str) -> PackSize | None:
        """The pack size for `uom`, or None."""
        return next((p for p in self.packs if p.uom == uom), None)

    def units_per(self, uom: str) -> Decimal:
        """How many base units one `uom` holds; raise UnknownUomError if the item has no such pack size."""
        if uom == self.base_uom:
            return Decimal(1)
        pack = self.pack(uom)
        if pack is None:
            raise UnknownUomError(f"item {self.sku} has no pack size for UOM {uom}; known UOMs: {', '.join(self.uoms)}")
        return pack.units

    def convert(self, quantity: Quantity, to_uom: str) -> Quantity:
        """`quantity` in `to_uom`, via the base unit (2 CS of 12 is 24 EA; 6 EA is 0.5 CS)."""
        base_units = quantity.value * self.units_per(quantity.uom)
        return Quantity.of(base_units / self.units_per(to_uom), to_uom)

    def customer_part_number(self, customer_id: str) -> str | None:
        """The number `customer_id` orders this item by, if any."""
        return next((c.part_number for c in self.customer_part_numbers if c.customer_id == customer_id), None)

    def preferred_supplier(self) -> VendorPartNumber | None:
        """The preferred supplier's part number, else the first listed, else None."""
        vendors = self.vendor_part_numbers
        return next((v for v in vendors if v.preferred), vendors[0] if vendors else None)
