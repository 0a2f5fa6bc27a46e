"""Purchase orders to suppliers (to restock, or drop-shipped to an end customer) and their acknowledgements."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import CanonicalModel, Entity, Money, Quantity, Sourcing
from crossdock.model.lines import check_line_numbers, check_line_prices, zero_in_uom_of
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, Text, Timestamp


class PurchaseOrderStatus(StrEnum):
    """Where a purchase order is between drafting and receipt."""

    DRAFT = "draft"
    ISSUED = "issued"
    """Sent to the supplier (EDI 850 or e-mail)."""
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PurchaseOrderLine(CanonicalModel):
    """An item ordered from the supplier at a unit cost, and how much of it has arrived."""

    line_number: int = Field(ge=1)
    item_id: CanonicalId
    sku: Code
    vendor_part_number: Code | None = None
    """The supplier's number for the item (EDI 850 VP)."""
    description: Text | None = None
    ordered_quantity: Quantity
    received_quantity: Quantity = Field(default_factory=zero_in_uom_of("ordered_quantity"))
    """Defaults to zero in the ordered UOM; a drop-ship counts as received when the supplier ships."""
    unit_cost: Money
    requested_date: date | None = None
    promised_date: date | None = None
    sales_order_line_number: int | None = Field(default=None, ge=1)
    """For a drop-ship: the customer's order line this PO line fills."""

    @model_validator(mode="after")
    def check_quantities(self) -> Self:
        """Ordered above zero, received not negative, both in one UOM."""
        owner = f"PO line {self.line_number}"
        if self.ordered_quantity.value <= 0:
            raise ValueError(f"{owner}: ordered_quantity must be greater than zero")
        if self.received_quantity.uom != self.ordered_quantity.uom:
            raise ValueError(
                f"{owner}: received_quantity is in {self.received_quantity.uom} but ordered_quantity is in "
                f"{self.ordered_quantity.uom}; state both in one UOM"
            )
        if self.received_quantity.value < 0:
            raise ValueError(f"{owner}: received_quantity must not be negative")
        if self.unit_cost.amount < 0:
            raise ValueError(f"{owner}: unit_cost must not be negative")
        return self

    @property
    def amount(self) -> Money:
        """Ordered quantity times unit cost, rounded."""
        return (self.unit_cost * self.ordered_quantity.value).rounded()


class PurchaseOrder(Entity):
    """A purchase order: stock replenishment to our warehouse, or a drop-ship straight to a customer."""

    number: Code
    """Our PO number (EDI 850 BEG03); a business key in lineage."""
    supplier_id: CanonicalId
    kind: Sourcing = Sourcing.STOCKED
    status: PurchaseOrderStatus = PurchaseOrderStatus.DRAFT
    order_date: date
    currency: CurrencyCode
    ship_to_location_id: Code | None = None
    """Our receiving warehouse, for a stocked PO."""
    ship_to: Address | None = None
    """Where the supplier delivers: for a drop-ship, the end customer's ship-to address."""
    sales_order_id: CanonicalId | None = None
    """For a drop-ship: the customer's sales order this PO fills."""
    customer_id: CanonicalId | None = None
    """For a drop-ship: the end customer."""
    payment_terms: Code | None = None
    ship_method: Code | None = None
    requested_date: date | None = None
    buyer: Code | None = None
    lines: list[PurchaseOrderLine] = Field(default_factory=list)
    notes: Text | None = None

    @model_validator(mode="after")
    def check_purchase_order(self) -> Self:
        """Lines priced in the PO currency; a drop-ship names the end customer's order and address."""
        owner = f"PO {self.number}"
        check_line_numbers(self.lines, owner)
        check_line_prices([(line.line_number, line.unit_cost) for line in self.lines], self.currency, owner)
        if self.ship_to is not None and self.ship_to.kind != AddressKind.SHIP_TO:
            raise ValueError(f"{owner}: ship_to address has kind {self.ship_to.kind.value}; use ship_to")
        if self.status in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
            return self
        if not self.lines:
            raise ValueError(f"{owner} is {self.status.value} but has no lines; only drafts may be empty")
        if self.kind == Sourcing.DROP_SHIP:
            if self.ship_to is None:
                raise ValueError(f"drop-ship {owner} must carry the end customer's ship_to address")
            if self.sales_order_id is None:
                raise ValueError(f"drop-ship {owner} must name the sales_order_id it fills")
        elif self.ship_to_location_id is None and self.ship_to is None:
            raise ValueError(f"{owner} needs a ship_to_location_id (our receiving warehouse)")
        return self

    @property
    def total(self) -> Money:
        """The sum of the line amounts."""
        return Money.total((line.amount for line in self.lines), self.currency)

    def line(self, line_number: int) -> PurchaseOrderLine | None:
        """The line with `line_number`, or None."""
        return next((line for line in self.lines if line.line_number == line_number), None)


class AcknowledgementStatus(StrEnum):
    """The supplier's answer for the whole PO (X12 855 BAK02: AD accepted, AC/AE with changes, RJ rejected)."""

    ACCEPTED = "accepted"
    """Every line accepted as ordered."""
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"
    """Accepted, with some lines changed, backordered or rejected."""
    REJECTED = "rejected"


class LineAcknowledgementStatus(StrEnum):
    """The supplier's answer for one PO line (X12 855 ACK01)."""

    ACCEPTED = "accepted"
    """IA: accepted as ordered."""
    REJECTED = "rejected"
    """IR: will not be supplied."""
    BACKORDERED = "backordered"
    """IB: accepted, to ship later."""
    CHANGED = "changed"
    """IC: accepted with a different quantity, price or date."""


class AcknowledgementLine(CanonicalModel):
    """The supplier's answer for one PO line, with what it commits to."""

    po_line_number: int = Field(ge=1)
    status: LineAcknowledgementStatus
    item_id: CanonicalId | None = None
    sku: Code | None = None
    vendor_part_number: Code | None = None
    quantity: Quantity | None = None
    """The quantity the supplier commits to; None for a rejected line."""
    unit_cost: Money | None = None
    """The confirmed unit cost, when the supplier states one."""
    promised_date: date | None = None
    """When the supplier will ship (for a backorder, the expected date)."""
    note: Text | None = None
    """The supplier's reason for a change or rejection."""

    @model_validator(mode="after")
    def check_commitment(self) -> Self:
        """A line that is not rejected states the quantity the supplier commits to."""
        if self.status != LineAcknowledgementStatus.REJECTED and self.quantity is None:
            raise ValueError(
                f"acknowledgement of PO line {self.po_line_number} is {self.status.value} but has no quantity"
            )
        if self.quantity is not None and self.quantity.value < 0:
            raise ValueError(f"acknowledgement of PO line {self.po_line_number}: quantity must not be negative")
        return self


class PoAcknowledgement(Entity):
    """A supplier's acknowledgement of a purchase order (EDI 855): the PO's status and each line's."""

    number: Code | None = None
    """The supplier's acknowledgement or sales order number."""
    purchase_order_id: CanonicalId
    po_number: Code
    supplier_id: CanonicalId
    status: AcknowledgementStatus
    acknowledged_at: Timestamp
    lines: list[AcknowledgementLine] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_acknowledgement(self) -> Self:
        """Each PO line answered once; line answers agree with the PO-level status; one currency."""
        owner = f"acknowledgement of PO {self.po_number}"
        numbers = [line.po_line_number for line in self.lines]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"{owner} answers a PO line more than once")
        statuses = {line.status for line in self.lines}
        if self.status == AcknowledgementStatus.ACCEPTED and statuses - {LineAcknowledgementStatus.ACCEPTED}:
            raise ValueError(
                f"{owner} is accepted but has changed, backordered or rejected lines; use status accepted_with_changes"
            )
        if self.status == AcknowledgementStatus.REJECTED and statuses - {LineAcknowledgementStatus.REJECTED}:
            raise ValueError(f"{owner} is rejected but accepts some lines; use status accepted_with_changes")
        currencies = {line.unit_cost.currency for line in self.lines if line.unit_cost is not None}
        if len(currencies) > 1:
            raise ValueError(f"{owner} states unit costs in {', '.join(sorted(currencies))}; use one currency")
        return self

    def line(self, po_line_number: int) -> AcknowledgementLine | None:
        """The answer for PO line `po_line_number`, or None if the supplier did not mention it."""
        return next((line for line in self.lines if line.po_line_number == po_line_number), None)
