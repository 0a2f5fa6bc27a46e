"""Inventory positions: what a site has on hand, has promised, and can still promise (ATP) for one item."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import model_validator

from crossdock.model.common import Entity, Quantity
from crossdock.model.scalars import CanonicalId, Code, Timestamp


class InventoryPosition(Entity):
    """One item's stock at one location at `as_of`; every quantity is in the same UOM (usually the base UOM)."""

    item_id: CanonicalId
    sku: Code
    location_id: Code
    """The warehouse or site code (a business key; WMS and ERP agree on it through the cross-reference)."""
    on_hand: Quantity
    """Physically present; may be negative where the ERP lets shipments post before receipts."""
    allocated: Quantity
    """Reserved for open orders."""
    available_to_promise: Quantity
    """ATP as the system of record computes it; it may count receipts due within the lead time."""
    on_order: Quantity
    """Open purchase order quantity not yet received."""
    as_of: Timestamp
    """When the source measured these quantities; newer positions replace older ones."""
    next_receipt_date: date | None = None

    @model_validator(mode="after")
    def check_position(self) -> Self:
        """All quantities share one UOM; allocated and on-order are not negative."""
        owner = f"inventory position of {self.sku} at {self.location_id}"
        for name in ("allocated", "available_to_promise", "on_order"):
            quantity: Quantity = getattr(self, name)
            if quantity.uom != self.on_hand.uom:
                raise ValueError(
                    f"{owner}: {name} is in {quantity.uom} but on_hand is in {self.on_hand.uom}; "
                    "state every quantity in one UOM"
                )
        for name in ("allocated", "on_order"):
            if getattr(self, name).value < 0:
                raise ValueError(f"{owner}: {name} must not be negative")
        return self

    @property
    def free_stock(self) -> Quantity:
        """On hand less allocated: what could be picked now for a new order."""
        return self.on_hand - self.allocated
