"""Price lists and customer contract prices, both with quantity breaks and validity dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from crossdock.model.common import CanonicalModel, Entity, Money
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, NonNegativeDecimal, Text, UomCode


class PriceBreak(CanonicalModel):
    """The unit price that applies from `min_quantity` upwards (in the entry's UOM)."""

    min_quantity: NonNegativeDecimal
    unit_price: Money


def _check_breaks(breaks: Sequence[PriceBreak], currency: str, owner: str) -> None:
    quantities = [b.min_quantity for b in breaks]
    if quantities != sorted(set(quantities)):
        raise ValueError(f"{owner}: price breaks must be in ascending min_quantity order, each quantity once")
    for price_break in breaks:
        if price_break.unit_price.currency != currency:
            raise ValueError(
                f"{owner}: break at {price_break.min_quantity} is priced in {price_break.unit_price.currency}, "
                f"not the list currency {currency}"
            )
        if price_break.unit_price.amount < 0:
            raise ValueError(f"{owner}: break at {price_break.min_quantity} has a negative price")


def _pick_break(breaks: Sequence[PriceBreak], quantity: Decimal) -> Money | None:
    eligible = [b for b in breaks if b.min_quantity <= quantity]
    return eligible[-1].unit_price if eligible else None


def _check_validity(valid_from: date | None, valid_to: date | None, owner: str) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValueError(f"{owner}: valid_to {valid_to} is before valid_from {valid_from}")


def _valid_on(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


class PriceListEntry(CanonicalModel):
    """An item's price in one UOM, with its quantity breaks (the first break is the base price)."""

    item_id: CanonicalId
    sku: Code
    uom: UomCode
    breaks: list[PriceBreak] = Field(min_length=1)


class PriceList(Entity):
    """A price list: the base list, or one for a customer group, in one currency."""

    code: Code
    name: Text
    currency: CurrencyCode
    customer_group: Code | None = None
    """The `Customer.price_group` this list applies to; None for the base list."""
    valid_from: date | None = None
    valid_to: date | None = None
    """Inclusive."""
    entries: list[PriceListEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_price_list(self) -> Self:
        """Dates in order, one entry per (SKU, UOM), breaks ascending and in the list currency."""
        owner = f"price list {self.code}"
        _check_validity(self.valid_from, self.valid_to, owner)
        seen: set[tuple[str, str]] = set()
        for entry in self.entries:
            key = (entry.item_id, entry.uom)
            if key in seen:
                raise ValueError(f"{owner} prices {entry.sku} per {entry.uom} twice; keep one entry")
            seen.add(key)
            _check_breaks(entry.breaks, self.currency, f"{owner}, {entry.sku} per {entry.uom}")
        return self

    def price_for(self, item_id: str, uom: str, quantity: Decimal, on: date) -> Money | None:
        """The unit price for `quantity` of an item in `uom` on day `on`, or None if the list has none."""
        if not _valid_on(self.valid_from, self.valid_to, on):
            return None
        entry = next((e for e in self.entries if e.item_id == item_id and e.uom == uom), None)
        return _pick_break(entry.breaks, quantity) if entry else None


class ContractPrice(Entity):
    """A price agreed with one customer or customer group for one item and UOM, for a period."""

    contract_number: Code | None = None
    customer_id: CanonicalId | None = None
    customer_group: Code | None = None
    """A `Customer.price_group`; give this or `customer_id`, not both."""
    item_id: CanonicalId
    sku: Code
    uom: UomCode
    currency: CurrencyCode
    breaks: list[PriceBreak] = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    """Inclusive; None for open-ended contracts."""

    @model_validator(mode="after")
    def check_contract(self) -> Self:
        """Exactly one of customer or group; dates in order; breaks ascending and in the contract currency."""
        owner = f"contract price {self.contract_number or self.id} for {self.sku}"
        if (self.customer_id is None) == (self.customer_group is None):
            raise ValueError(f"{owner} applies to a customer_id or a customer_group; give exactly one")
        _check_validity(self.valid_from, self.valid_to, owner)
        _check_breaks(self.breaks, self.currency, owner)
        return self

    def price_for(self, quantity: Decimal, on: date) -> Money | None:
        """The contract unit price for `quantity` (in the contract UOM) on day `on`, or None."""
        if not _valid_on(self.valid_from, self.valid_to, on):
            return None
        return _pick_break(self.breaks, quantity)
