"""Quotes and sales orders: lines that are stocked or drop-shipped, backorders, and the order status lifecycle."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import CanonicalModel, Entity, Money, Quantity, Sourcing
from crossdock.model.lines import check_line_numbers, check_line_prices, zero_in_uom_of
from crossdock.model.party import SalesChannel
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, Text


class InvalidTransitionError(ValueError):
    """A document was asked to move to a status its lifecycle does not allow from where it is."""


class SalesLineBase(CanonicalModel):
    """What quote and order lines share: the item, its customer part number and the net unit price."""

    line_number: int = Field(ge=1)
    item_id: CanonicalId
    sku: Code
    description: Text | None = None
    customer_part_number: Code | None = None
    """The number the customer orders the item by (EDI buyer's part number)."""
    unit_price: Money
    """Net price per UOM of the line's quantity, after discounts."""

    def extended(self, quantity: Quantity) -> Money:
        """`quantity` at the unit price, rounded to the currency's minor unit."""
        return (self.unit_price * quantity.value).rounded()


class QuoteStatus(StrEnum):
    """Where a quote is in its lifecycle."""

    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class QuoteLine(SalesLineBase):
    """A quoted item, quantity and price."""

    quantity: Quantity

    @model_validator(mode="after")
    def check_quantity(self) -> Self:
        """A quoted quantity is greater than zero."""
        if self.quantity.value <= 0:
            raise ValueError(f"quote line {self.line_number}: quantity must be greater than zero")
        return self

    @property
    def amount(self) -> Money:
        """Quantity times unit price, rounded."""
        return self.extended(self.quantity)


class Quote(Entity):
    """A sales quote to a customer, valid until a date."""

    number: Code
    customer_id: CanonicalId
    ship_to_id: CanonicalId | None = None
    contact_id: CanonicalId | None = None
    currency: CurrencyCode
    quote_date: date
    valid_until: date | None = None
    status: QuoteStatus = QuoteStatus.DRAFT
    sales_rep: Code | None = None
    customer_reference: Text | None = None
    """The customer's RFQ or project reference."""
    lines: list[QuoteLine] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_quote(self) -> Self:
        """Validity after the quote date; unique line numbers priced in the quote currency."""
        owner = f"quote {self.number}"
        if self.valid_until is not None and self.valid_until < self.quote_date:
            raise ValueError(f"{owner}: valid_until {self.valid_until} is before quote_date {self.quote_date}")
        check_line_numbers(self.lines, owner)
        check_line_prices([(line.line_number, line.unit_price) for line in self.lines], self.currency, owner)
        return self

    @property
    def subtotal(self) -> Money:
        """The sum of the line amounts."""
        return Money.total((line.amount for line in self.lines), self.currency)


class SalesOrderStatus(StrEnum):
    """Where a sales order is in its lifecycle; `next_statuses()` says where it may go."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    BACKORDERED = "backordered"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    INVOICED = "invoiced"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    def next_statuses(self) -> frozenset[SalesOrderStatus]:
        """The statuses an order may move to from this one (empty for closed, rejected and cancelled)."""
        return _ORDER_TRANSITIONS[self]

    def can_become(self, target: SalesOrderStatus) -> bool:
        """True if an order may move from this status to `target`; staying put is always allowed."""
        return target == self or target in _ORDER_TRANSITIONS[self]

    def check_transition(self, target: SalesOrderStatus) -> None:
        """Raise InvalidTransitionError, naming the allowed statuses, if the order may not move to `target`."""
        if not self.can_become(target):
            allowed = ", ".join(sorted(s.value for s in self.next_statuses())) or "nothing (it is final)"
            raise InvalidTransitionError(
                f"a sales order cannot go from {self.value} to {target.value}; from {self.value} it may go to {allowed}"
            )


_S = SalesOrderStatus
# Cancelling stops once goods have left: a partly shipped order is short-closed through shipped and invoiced.
_ORDER_TRANSITIONS: dict[SalesOrderStatus, frozenset[SalesOrderStatus]] = {
    _S.DRAFT: frozenset({_S.SUBMITTED, _S.CANCELLED}),
    _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.CANCELLED}),
    _S.ACCEPTED: frozenset({_S.BACKORDERED, _S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.CANCELLED}),
    _S.BACKORDERED: frozenset({_S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.CANCELLED}),
    _S.PARTIALLY_SHIPPED: frozenset({_S.BACKORDERED, _S.SHIPPED}),
    _S.SHIPPED: frozenset({_S.INVOICED}),
    _S.INVOICED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.CANCELLED: frozenset(),
}


class SalesOrderLine(SalesLineBase):
    """An ordered item: stocked or drop-shipped, with requested and promised dates and shipped/backordered counts."""

    sourcing: Sourcing = Sourcing.STOCKED
    supplier_id: CanonicalId | None = None
    """The drop-ship supplier, once purchasing has chosen one."""
    ordered_quantity: Quantity
    shipped_quantity: Quantity = Field(default_factory=zero_in_uom_of("ordered_quantity"))
    """Defaults to zero in the ordered UOM."""
    backordered_quantity: Quantity = Field(default_factory=zero_in_uom_of("ordered_quantity"))
    """Waiting for stock; defaults to zero in the ordered UOM."""
    requested_date: date | None = None
    promised_date: date | None = None

    @model_validator(mode="after")
    def check_quantities(self) -> Self:
        """One UOM per line; ordered above zero; backorders no larger than what is still open."""
        owner = f"order line {self.line_number}"
        ordered = self.ordered_quantity
        for name, quantity in (("shipped", self.shipped_quantity), ("backordered", self.backordered_quantity)):
            if quantity.uom != ordered.uom:
                raise ValueError(
                    f"{owner}: {name}_quantity is in {quantity.uom} but ordered_quantity is in {ordered.uom}; "
                    "state a line's quantities in its ordered UOM"
                )
            if quantity.value < 0:
                raise ValueError(f"{owner}: {name}_quantity must not be negative")
        if ordered.value <= 0:
            raise ValueError(f"{owner}: ordered_quantity must be greater than zero")
        if self.backordered_quantity > self.open_quantity:
            raise ValueError(
                f"{owner}: backorders {self.backordered_quantity} but only {self.open_quantity} is still open"
            )
        if self.supplier_id is not None and self.sourcing != Sourcing.DROP_SHIP:
            raise ValueError(f"{owner} names a supplier_id but is stocked; supplier_id is for drop-ship lines")
        return self

    @property
    def open_quantity(self) -> Quantity:
        """Ordered less shipped, never below zero (an over-shipment leaves nothing open)."""
        remaining = self.ordered_quantity - self.shipped_quantity
        return remaining if remaining.value > 0 else Quantity.zero(remaining.uom)

    @property
    def amount(self) -> Money:
        """Ordered quantity times unit price, rounded."""
        return self.extended(self.ordered_quantity)


class SalesOrder(Entity):
    """A customer's sales order: who buys, is billed and receives, the lines, and the status."""

    number: Code
    """Our order number; a business key in lineage ("where is order 4711?")."""
    customer_id: CanonicalId
    """The sold-to account."""
    bill_to_id: CanonicalId | None = None
    ship_to_id: CanonicalId | None = None
    """The ship-to account; or give a one-time `ship_to` address (a drop-ship to an end customer)."""
    ship_to: Address | None = None
    customer_po: Code | None = None
    """The customer's purchase order number (EDI 850 BEG03); customers ask by it."""
    quote_id: CanonicalId | None = None
    order_date: date
    currency: CurrencyCode
    status: SalesOrderStatus = SalesOrderStatus.DRAFT
    channel: SalesChannel | None = None
    sales_rep: Code | None = None
    payment_terms: Code | None = None
    """The payment terms code agreed for this order."""
    ship_method: Code | None = None
    requested_date: date | None = None
    lines: list[SalesOrderLine] = Field(default_factory=list)
    notes: Text | None = None

    @model_validator(mode="after")
    def check_order(self) -> Self:
        """Unique lines priced in the order currency; a live order has at least one line and a ship-to."""
        owner = f"sales order {self.number}"
        check_line_numbers(self.lines, owner)
        check_line_prices([(line.line_number, line.unit_price) for line in self.lines], self.currency, owner)
        if self.ship_to is not None and self.ship_to.kind != AddressKind.SHIP_TO:
            raise ValueError(f"{owner}: ship_to address has kind {self.ship_to.kind.value}; use ship_to")
        if self.status not in (SalesOrderStatus.DRAFT, SalesOrderStatus.REJECTED, SalesOrderStatus.CANCELLED):
            if not self.lines:
                raise ValueError(f"{owner} is {self.status.value} but has no lines; only drafts may be empty")
            if self.ship_to_id is None and self.ship_to is None:
                raise ValueError(
                    f"{owner} has no ship-to: set ship_to_id (a ship-to account) or ship_to (a one-time address)"
                )
        return self

    @property
    def subtotal(self) -> Money:
        """The sum of the line amounts, before tax and charges."""
        return Money.total((line.amount for line in self.lines), self.currency)

    @property
    def is_drop_ship(self) -> bool:
        """True if any line is drop-shipped."""
        return any(line.sourcing == Sourcing.DROP_SHIP for line in self.lines)

    def line(self, line_number: int) -> SalesOrderLine | None:
        """The line with `line_number`, or None."""
        return next((line for line in self.lines if line.line_number == line_number), None)

    def with_status(self, status: SalesOrderStatus) -> SalesOrder:
        """A copy in `status`; raise InvalidTransitionError if the lifecycle does not allow the move."""
        self.status.check_transition(status)
        return self.revised(status=status)
