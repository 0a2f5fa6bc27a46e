"""Invoices (lines, charges, tax, totals checked against the lines) and the payments applied to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator

from crossdock.model.addresses import Address
from crossdock.model.common import CanonicalModel, CurrencyMismatchError, Entity, Money, Quantity
from crossdock.model.lines import check_line_numbers
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, Percent, Text


class InvoiceKind(StrEnum):
    """An invoice or a credit note; amounts on both are positive, the kind gives the direction."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    """Where an invoice is between drafting and payment."""

    DRAFT = "draft"
    POSTED = "posted"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceLine(CanonicalModel):
    """A billed quantity at a unit price, usually for one shipped order line."""

    line_number: int = Field(ge=1)
    order_id: CanonicalId | None = None
    order_line_number: int | None = Field(default=None, ge=1)
    shipment_id: CanonicalId | None = None
    item_id: CanonicalId | None = None
    sku: Code | None = None
    description: Text
    quantity: Quantity
    unit_price: Money
    amount: Money
    """The line amount as printed; the check allows one minor unit of difference for the ERP's rounding."""
    tax_code: Code | None = None

    @model_validator(mode="after")
    def check_amount(self) -> Self:
        """The printed amount is quantity times unit price, give or take the ERP's rounding."""
        expected = self.unit_price * self.quantity.value
        if self.amount.currency != self.unit_price.currency:
            raise ValueError(
                f"invoice line {self.line_number}: amount is in {self.amount.currency} but unit_price in "
                f"{self.unit_price.currency}"
            )
        tolerance = Decimal(1).scaleb(-self.amount.minor_units)
        if abs((self.amount - expected).amount) > tolerance:
            raise ValueError(
                f"invoice line {self.line_number}: amount {self.amount} is not quantity {self.quantity} times "
                f"unit_price {self.unit_price} = {expected.rounded()}"
            )
        return self


class ChargeKind(StrEnum):
    """Header-level charges and allowances on an invoice."""

    FREIGHT = "freight"
    HANDLING = "handling"
    FUEL_SURCHARGE = "fuel_surcharge"
    RESTOCKING_FEE = "restocking_fee"
    DISCOUNT = "discount"
    """An allowance: its amount is negative."""
    OTHER = "other"


class Charge(CanonicalModel):
    """A charge or allowance outside the lines (freight, fuel surcharge, a negative discount)."""

    kind: ChargeKind
    amount: Money
    description: Text | None = None


class TaxLine(CanonicalModel):
    """One tax (a jurisdiction's sales tax, VAT at one rate) with the amount it was charged on."""

    tax_code: Code
    rate: Percent | None = None
    taxable_amount: Money | None = None
    amount: Money


def _computed(total: Callable[[dict[str, Any], str], Money]) -> Any:
    """A default factory for a total: computed from the already-validated parts when the source gives none."""

    def factory(data: dict[str, Any]) -> Money:
        currency = data.get("currency")
        if not isinstance(currency, str):
            return Money.zero("XXX")  # the currency failed validation, so the object is rejected anyway
        try:
            return total(data, currency)
        except CurrencyMismatchError:
            # The model validator rejects the object naming the part in the wrong currency, a clearer message
            # than this factory could give; any placeholder will do meanwhile.
            return Money.zero(currency)

    return factory


def _subtotal(data: dict[str, Any], currency: str) -> Money:
    return Money.total((line.amount for line in data.get("lines", [])), currency)


def _tax_total(data: dict[str, Any], currency: str) -> Money:
    return Money.total((tax.amount for tax in data.get("taxes", [])), currency)


def _total(data: dict[str, Any], currency: str) -> Money:
    charges = Money.total((charge.amount for charge in data.get("charges", [])), currency)
    parts = [data.get("subtotal"), data.get("tax_total"), charges]
    return Money.total((p for p in parts if isinstance(p, Money)), currency)


class Invoice(Entity):
    """A customer invoice or credit note; totals left out are computed, totals given are checked."""

    number: Code
    kind: InvoiceKind = InvoiceKind.INVOICE
    status: InvoiceStatus = InvoiceStatus.POSTED
    customer_id: CanonicalId
    bill_to_id: CanonicalId | None = None
    bill_to: Address | None = None
    order_ids: list[CanonicalId] = Field(default_factory=list)
    shipment_ids: list[CanonicalId] = Field(default_factory=list)
    customer_po: Code | None = None
    invoice_date: date
    due_date: date | None = None
    payment_terms: Code | None = None
    currency: CurrencyCode
    lines: list[InvoiceLine] = Field(default_factory=list)
    charges: list[Charge] = Field(default_factory=list)
    taxes: list[TaxLine] = Field(default_factory=list)
    subtotal: Money = Field(default_factory=_computed(_subtotal))
    """The sum of line amounts."""
    tax_total: Money = Field(default_factory=_computed(_tax_total))
    """The sum of the tax lines."""
    total: Money = Field(default_factory=_computed(_total))
    """Subtotal plus charges plus tax: what the customer owes (or is owed, for a credit note)."""
    balance_due: Money | None = None
    """What is still open, as the ERP reports it."""

    @model_validator(mode="after")
    def check_invoice(self) -> Self:
        """One currency throughout, due after issue, and totals that add up."""
        owner = f"invoice {self.number}"
        check_line_numbers(self.lines, owner)
        amounts: list[tuple[str, Money]] = [
            *((f"line {line.line_number}", line.unit_price) for line in self.lines),
            *((f"{charge.kind.value} charge", charge.amount) for charge in self.charges),
            *((f"tax {tax.tax_code}", tax.amount) for tax in self.taxes),
            ("subtotal", self.subtotal),
            ("tax_total", self.tax_total),
            ("total", self.total),
        ]
        if self.balance_due is not None:
            amounts.append(("balance_due", self.balance_due))
        for what, money in amounts:
            if money.currency != self.currency:
                raise ValueError(f"{owner}: {what} is in {money.currency}, not the invoice currency {self.currency}")
        if self.due_date is not None and self.due_date < self.invoice_date:
            raise ValueError(f"{owner}: due_date {self.due_date} is before invoice_date {self.invoice_date}")
        self._check_total("subtotal", self.subtotal, _subtotal, "the sum of the line amounts")
        self._check_total("tax_total", self.tax_total, _tax_total, "the sum of the tax lines")
        self._check_total("total", self.total, _total, "subtotal + charges + tax_total")
        if self.status == InvoiceStatus.PAID and self.balance_due is not None and not self.balance_due.is_zero():
            raise ValueError(f"{owner} is paid but has a balance_due of {self.balance_due}")
        return self

    def _check_total(
        self, name: str, given: Money, compute: Callable[[dict[str, Any], str], Money], meaning: str
    ) -> None:
        expected = compute(dict(self), self.currency)
        if given != expected:
            raise ValueError(f"invoice {self.number}: {name} {given} is not {meaning} = {expected}")

    @property
    def charges_total(self) -> Money:
        """The sum of the header charges and allowances."""
        return Money.total((charge.amount for charge in self.charges), self.currency)


class PaymentMethod(StrEnum):
    """How a customer paid."""

    CHECK = "check"
    ACH = "ach"
    WIRE = "wire"
    CARD = "card"
    CASH = "cash"
    OTHER = "other"


class PaymentApplication(CanonicalModel):
    """Part of a payment applied to one invoice, with any early-payment discount taken."""

    invoice_id: CanonicalId
    invoice_number: Code | None = None
    amount: Money
    discount_taken: Money | None = None


class Payment(Entity):
    """A customer payment and the invoices it settles; what is not applied stays on account."""

    number: Code
    """The receipt number or the check number."""
    customer_id: CanonicalId
    received_on: date
    amount: Money
    method: PaymentMethod
    reference: Text | None = None
    """The bank reference or remittance advice id."""
    applications: list[PaymentApplication] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_payment(self) -> Self:
        """Positive amounts in one currency, each invoice once, no more applied than received."""
        owner = f"payment {self.number}"
        if self.amount.amount <= 0:
            raise ValueError(f"{owner}: amount must be greater than zero, got {self.amount}")
        invoices: set[str] = set()
        for application in self.applications:
            for money in (application.amount, application.discount_taken):
                if money is not None and money.currency != self.amount.currency:
                    raise ValueError(
                        f"{owner}: the application to invoice {application.invoice_id} is in {money.currency}, "
                        f"not the payment currency {self.amount.currency}"
                    )
            if application.amount.amount <= 0:
                raise ValueError(f"{owner}: the application to invoice {application.invoice_id} must be positive")
            if application.invoice_id in invoices:
                raise ValueError(f"{owner} applies to invoice {application.invoice_id} twice; combine the two")
            invoices.add(application.invoice_id)
        applied = self.applied
        if applied > self.amount:
            raise ValueError(f"{owner} applies {applied} but only {self.amount} was received")
        return self

    @property
    def applied(self) -> Money:
        """The cash applied to invoices (discounts taken not included)."""
        return Money.total((a.amount for a in self.applications), self.amount.currency)

    @property
    def unapplied(self) -> Money:
        """What stays on the customer's account."""
        return self.amount - self.applied
