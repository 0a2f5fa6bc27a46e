"""The business rules quote-to-order applies: price tolerance, backorders, tax and shipping.

Rules are plain data, built by the composition root from the `orders:` section of crossdock.yaml, so a distributor
changes them without code. Tax and shipping are rule tables to start with; both are protocols, so a tax engine
(Avalara, Vertex) or a rate shop can replace them later without touching the process.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Protocol


class BackorderPolicy(enum.StrEnum):
    """What to do with stocked lines the warehouse cannot fill today."""

    SHIP_PARTIAL = "ship_partial"  # ship what is in stock now, backorder the rest
    HOLD = "hold"  # ship nothing until everything is in stock (ship-complete customers)


@dataclass(frozen=True, slots=True)
class ShipTo:
    """Where an order goes, as far as tax and shipping rules care."""

    country: str | None
    subdivision: str | None  # region code: `TX`, `ON`


@dataclass(frozen=True, slots=True)
class TaxRule:
    """Orders shipped to `country` (and `subdivision`, if set) get these ERP tax codes on every goods line."""

    country: str
    tax_codes: tuple[str, ...]
    subdivision: str | None = None

    def matches(self, ship_to: ShipTo) -> bool:
        """True when the rule covers the ship-to."""
        if ship_to.country != self.country:
            return False
        return self.subdivision is None or self.subdivision == ship_to.subdivision


@dataclass(frozen=True, slots=True)
class ShippingRule:
    """Orders with a goods subtotal of at least `min_subtotal` ship by `method` for `freight` (0: free freight)."""

    min_subtotal: Decimal
    method: str
    freight: Decimal


@dataclass(frozen=True, slots=True)
class ShippingQuote:
    """The method and freight charge the shipping rules chose."""

    method: str | None
    freight: Decimal


class TaxRules(Protocol):
    """Chooses tax codes for an order's goods lines."""

    def tax_codes(self, ship_to: ShipTo) -> tuple[str, ...]:
        """The ERP tax codes for lines shipped to `ship_to`; empty for none."""
        ...


class ShippingRules(Protocol):
    """Chooses how an order ships and what freight it pays."""

    def quote(self, ship_to: ShipTo, subtotal: Decimal) -> ShippingQuote:
        """The shipping method and freight for a goods subtotal."""
        ...


@dataclass(frozen=True, slots=True)
class TaxTable:
    """The first matching rule wins; rules naming a subdivision should come before their country's catch-all."""

    rules: Sequence[TaxRule] = ()

    def tax_codes(self, ship_to: ShipTo) -> tuple[str, ...]:
        """The codes of the first rule that matches, else none."""
        return next((rule.tax_codes for rule in self.rules if rule.matches(ship_to)), ())


@dataclass(frozen=True, slots=True)
class ShippingTable:
    """The rule with the highest `min_subtotal` not above the order's subtotal wins (free freight over $500...)."""

    rules: Sequence[ShippingRule] = ()

    def quote(self, ship_to: ShipTo, subtotal: Decimal) -> ShippingQuote:
        """The method and freight of the best matching rule; no rule means no freight line."""
        eligible = [rule for rule in self.rules if rule.min_subtotal <= subtotal]
        if not eligible:
            return ShippingQuote(method=None, freight=Decimal(0))
        best = max(eligible, key=lambda rule: rule.min_subtotal)
        return ShippingQuote(method=best.method, freight=best.freight)


@dataclass(frozen=True, slots=True)
class PriceTolerance:
    """How far a quoted unit price may sit below the contract price before the order is refused.

    Only prices below the contract count: a customer paying more than the contract is the rep's business, not a
    margin leak. Either limit allows the difference (percent of the contract price, or an absolute amount).
    """

    percent: Decimal = Decimal(2)
    absolute: Decimal = Decimal("0.01")

    def allows(self, quoted: Decimal, contract: Decimal) -> bool:
        """True when `quoted` is close enough to `contract`."""
        shortfall = contract - quoted
        if shortfall <= 0:
            return True
        return shortfall <= self.absolute or shortfall <= contract * self.percent / 100


@dataclass(frozen=True, slots=True)
class StepDrill:
    """A rehearsal of failure: step `step` fails for good for orders whose customer PO matches `customer_po`.

    For game days and the fault suite: the order desk sees a real compensation (the ERP sale cancelled, the CRM
    told) on orders it chose, in the real systems, without anyone breaking the ERP on purpose.
    """

    step: str  # a step name or its prefix before `:` (`dispatch` matches `dispatch:1`)
    customer_po: str  # a glob: `DRILL-*`

    def matches(self, step: str, customer_po: str | None) -> bool:
        """True when this drill fails `step` of an order with `customer_po`."""
        return (
            customer_po is not None
            and step.split(":", 1)[0] == self.step
            and fnmatch.fnmatchcase(customer_po, self.customer_po)
        )


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    """Everything quote-to-order decides by rule rather than by code."""

    price_tolerance: PriceTolerance = PriceTolerance()
    backorder: BackorderPolicy = BackorderPolicy.SHIP_PARTIAL
    # Customers (canonical ids) that want complete shipments whatever the default says.
    ship_complete_customers: frozenset[str] = frozenset()
    backorder_recheck: timedelta = timedelta(hours=4)
    backorder_give_up: timedelta = timedelta(days=30)
    supplier_answer_timeout: timedelta = timedelta(days=14)
    # Promise dates for backorders: when replenishment should land (used when the ERP knows no lead time).
    default_lead_time_days: int = 7
    tax: TaxRules = field(default_factory=TaxTable)
    shipping: ShippingRules = field(default_factory=ShippingTable)
    drills: tuple[StepDrill, ...] = ()

    def backorder_policy_for(self, customer_id: str) -> BackorderPolicy:
        """The customer's backorder policy: hold for ship-complete customers, else the default."""
        return BackorderPolicy.HOLD if customer_id in self.ship_complete_customers else self.backorder
