"""The API's request and response bodies: the public contract, kept apart from the canonical model on purpose.

Requests forbid unknown fields, and name read-only fields (an order's id, number, status, shipments) as such
when a caller tries to set them (mass assignment, OWASP API3). Quantities and money are decimal strings, so no
client loses a cent to binary floating point.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,34}$")]
CanonicalRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Uom = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]
# Bounded so a caller cannot make the server do arithmetic on 10^10000; six decimals cover every UOM we know.
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), max_digits=18, decimal_places=6, allow_inf_nan=False)]
PositiveQuantity = Annotated[
    Decimal, Field(gt=0, le=Decimal("1e7"), max_digits=18, decimal_places=6, allow_inf_nan=False)
]

ORDER_READ_ONLY = ("id", "number", "status", "submitted_at", "process_id", "shipments", "invoices", "erp_order_number")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


def _refuse_read_only(raw: Any, fields: tuple[str, ...], what: str) -> Any:
    if isinstance(raw, dict):
        present = sorted(name for name in fields if name in raw)
        if present:
            raise ValueError(
                f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} read-only on {what}; leave out"
            )
    return raw


class ShipToIn(_Request):
    """Where the goods go: a one-time ship-to address."""

    name: Line | None = None
    lines: list[Line] = Field(min_length=1, max_length=4, description="street lines, first to last")
    city: Line
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,40}$")] | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{1,12}$")] | None = None
    country: Country


class OrderLineIn(_Request):
    """One item the buyer orders, at the price on its purchase order."""

    sku: Sku
    quantity: PositiveQuantity
    uom: Uom = "EA"
    unit_price: Amount = Field(description="net price per UOM the buyer expects; checked against the contract price")
    requested_date: date | None = None


class OrderSubmission(_Request):
    """A purchase order from a customer or a channel, submitted as a sales order."""

    customer_reference: Reference = Field(description="the buyer's own PO number; one order per reference and client")
    customer_id: CanonicalRef | None = Field(
        default=None, description="the buying account; partners leave it out (they order for themselves)"
    )
    currency: Currency = "USD"
    ship_to: ShipToIn
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    requested_date: date | None = None
    notes: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] | None = None


class OrderSubmissionExplained(OrderSubmission):
    """`OrderSubmission`, naming read-only fields as such: the route validates with it only a body that
    `OrderSubmission` refused (a Python `before` validator on every order cost a quarter of its validation)."""

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, raw: Any) -> Any:
        return _refuse_read_only(raw, ORDER_READ_ONLY, "an order")


class OrderAccepted(_Response):
    """The answer to a submission: taken, durably, and being worked on."""

    id: str
    number: str
    customer_reference: str
    status: str = "submitted"
    process_id: str
    submitted_at: datetime
    links: dict[str, str]


class OrderLineView(_Response):
    """An order line as it stands."""

    line_number: int
    sku: str
    ordered_quantity: Decimal
    uom: str
    unit_price: Decimal
    shipped_quantity: Decimal = Decimal(0)
    backordered_quantity: Decimal = Decimal(0)
    sourcing: str | None = None
    promised_date: date | None = None


class ShipmentLineView(_Response):
    """What one shipment carried of one order line."""

    order_line_number: int
    sku: str
    quantity: Decimal
    uom: str


class ShipmentView(_Response):
    """A shipment of the order (from our warehouse or drop-shipped by a supplier)."""

    id: str
    number: str
    order_id: str
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    lines: list[ShipmentLineView] = Field(default_factory=list)


class InvoiceView(_Response):
    """An invoice for the order."""

    id: str
    number: str
    order_ids: list[str] = Field(default_factory=list)
    status: str
    invoice_date: date
    due_date: date | None = None
    currency: str
    total: Decimal


class OrderView(_Response):
    """An order as it stands now: status, lines, and (with the scopes for them) shipments and invoices."""

    id: str
    number: str
    customer_reference: str | None
    customer_id: str
    status: str
    reason: str | None = None
    currency: str
    submitted_at: datetime
    updated_at: datetime | None = None
    lines: list[OrderLineView]
    shipments: list[ShipmentView] | None = Field(default=None, description="present with the shipments:read scope")
    invoices: list[InvoiceView] | None = Field(default=None, description="present with the invoices:read scope")
    process_id: str | None = Field(default=None, description="internal callers only")


class OrderPage(_Response):
    """A page of orders, oldest first; pass `next_after` as `after` for the next page."""

    items: list[OrderView]
    next_after: str | None = None


class ShipmentPage(_Response):
    """A page of shipments."""

    items: list[ShipmentView]
    next_after: str | None = None


class InvoicePage(_Response):
    """A page of invoices."""

    items: list[InvoiceView]
    next_after: str | None = None


class TokenResponse(_Response):
    """A successful token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenError(_Response):
    """A refused token request (RFC 6749 §5.2)."""

    error: str
    error_description: str | None = None


class Problem(_Response):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
