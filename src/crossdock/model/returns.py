"""Customer returns (RMAs): what comes back, why, how much arrived, and what happens to it (disposition)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.common import CanonicalModel, Entity, Money, Quantity
from crossdock.model.lines import check_line_numbers, zero_in_uom_of
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, Text


class ReturnStatus(StrEnum):
    """Where a return is between the customer's request and the credit note."""

    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    """An RMA number was issued; the customer may ship."""
    RECEIVED = "received"
    INSPECTED = "inspected"
    CREDITED = "credited"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ReturnReason(StrEnum):
    """Why the customer sends goods back."""

    DAMAGED = "damaged"
    """Damaged in transit."""
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    """We shipped something other than what was ordered."""
    ORDERED_IN_ERROR = "ordered_in_error"
    OVERSHIPPED = "overshipped"
    EXPIRED = "expired"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


class Disposition(StrEnum):
    """What happens to returned goods after inspection."""

    RESTOCK = "restock"
    SCRAP = "scrap"
    RETURN_TO_VENDOR = "return_to_vendor"
    REPAIR = "repair"
    QUARANTINE = "quarantine"
    """Held until someone decides."""


class ReturnLine(CanonicalModel):
    """One returned item: the quantity authorized, the quantity received, the reason and the disposition."""

    line_number: int = Field(ge=1)
    order_id: CanonicalId | None = None
    order_line_number: int | None = Field(default=None, ge=1)
    invoice_id: CanonicalId | None = None
    item_id: CanonicalId
    sku: Code
    quantity: Quantity
    """The quantity authorized for return."""
    received_quantity: Quantity = Field(default_factory=zero_in_uom_of("quantity"))
    """Defaults to zero in the authorized UOM."""
    reason: ReturnReason
    reason_note: Text | None = None
    disposition: Disposition | None = None
    """Set at inspection."""
    credit_amount: Money | None = None
    """What the customer is credited for this line."""

    @model_validator(mode="after")
    def check_quantities(self) -> Self:
        """Authorized above zero, received not negative, both in one UOM."""
        owner = f"return line {self.line_number}"
        if self.quantity.value <= 0:
            raise ValueError(f"{owner}: quantity must be greater than zero")
        if self.received_quantity.uom != self.quantity.uom:
            raise ValueError(
                f"{owner}: received_quantity is in {self.received_quantity.uom} but quantity is in "
                f"{self.quantity.uom}; state both in one UOM"
            )
        if self.received_quantity.value < 0:
            raise ValueError(f"{owner}: received_quantity must not be negative")
        return self


_INSPECTED = (ReturnStatus.INSPECTED, ReturnStatus.CREDITED, ReturnStatus.CLOSED)


class ReturnAuthorization(Entity):
    """A customer return under an RMA number: lines, reasons, received quantities and dispositions."""

    rma_number: Code
    """The return merchandise authorization number; a business key in lineage."""
    customer_id: CanonicalId
    order_id: CanonicalId | None = None
    status: ReturnStatus = ReturnStatus.REQUESTED
    requested_on: date
    authorized_on: date | None = None
    currency: CurrencyCode
    lines: list[ReturnLine] = Field(min_length=1)
    restocking_fee: Money | None = None
    credit_note_id: CanonicalId | None = None
    """The credit note (an `Invoice` of kind credit_note) that settled the return."""

    @model_validator(mode="after")
    def check_return(self) -> Self:
        """Money in the return currency; every received line has a disposition once inspected."""
        owner = f"return {self.rma_number}"
        check_line_numbers(self.lines, owner)
        if self.restocking_fee is not None and self.restocking_fee.currency != self.currency:
            raise ValueError(f"{owner}: restocking_fee is in {self.restocking_fee.currency}, not {self.currency}")
        for line in self.lines:
            if line.credit_amount is not None and line.credit_amount.currency != self.currency:
                raise ValueError(
                    f"{owner} line {line.line_number}: credit_amount is in {line.credit_amount.currency}, "
                    f"not {self.currency}"
                )
            if self.status in _INSPECTED and line.disposition is None and not line.received_quantity.is_zero():
                raise ValueError(
                    f"{owner} is {self.status.value} but line {line.line_number} has no disposition; "
                    "say what happens to it (restock, scrap, return_to_vendor, repair, quarantine)"
                )
        if self.authorized_on is not None and self.authorized_on < self.requested_on:
            raise ValueError(f"{owner}: authorized_on {self.authorized_on} is before requested_on")
        return self

    @property
    def credit_total(self) -> Money:
        """Line credits less the restocking fee."""
        credits = Money.total((line.credit_amount for line in self.lines if line.credit_amount), self.currency)
        return credits - self.restocking_fee if self.restocking_fee else credits
