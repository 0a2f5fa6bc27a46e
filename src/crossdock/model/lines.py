"""Checks and defaults that every document with numbered lines shares (orders, invoices, returns, POs, ASNs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossdock.model.common import Money, Quantity


def zero_in_uom_of(field: str) -> Any:
    """A default factory: zero in the UOM of the already-validated quantity `field` of the same object."""

    def factory(data: dict[str, Any]) -> Quantity:
        reference = data.get(field)
        # When `field` itself failed validation the object is rejected anyway; any zero will do meanwhile.
        return Quantity.zero(reference.uom if isinstance(reference, Quantity) else "EA")

    return factory


def check_line_numbers(lines: Sequence[Any], owner: str) -> None:
    """Raise ValueError if two lines of one document share a line number."""
    numbers = [line.line_number for line in lines]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ValueError(f"{owner} has more than one line numbered {', '.join(map(str, duplicates))}")


def check_line_prices(prices: Sequence[tuple[int, Money]], currency: str, owner: str) -> None:
    """Raise ValueError if a line is priced in another currency than its document."""
    for line_number, price in prices:
        if price.currency != currency:
            raise ValueError(
                f"{owner} line {line_number}: price currency {price.currency} differs from the document "
                f"currency {currency}"
            )
