"""The order rules: price tolerance, tax and shipping tables, backorder policy per customer."""

from __future__ import annotations

from decimal import Decimal

from crossdock.orders.policy import (
    BackorderPolicy,
    OrderPolicy,
    PriceTolerance,
    ShippingRule,
    ShippingTable,
    ShipTo,
    TaxRule,
    TaxTable,
)


def test_a_price_above_contract_is_always_allowed() -> None:
    assert PriceTolerance(Decimal(0), Decimal(0)).allows(Decimal("12.00"), Decimal("10.00"))


def test_a_price_below_contract_is_allowed_within_either_limit() -> None:
    tolerance = PriceTolerance(percent=Decimal(2), absolute=Decimal("0.05"))
    assert tolerance.allows(Decimal("9.80"), Decimal("10.00"))  # 2 % exactly
    assert tolerance.allows(Decimal("0.46"), Decimal("0.50"))  # 8 % but only 4 cents
    assert not tolerance.allows(Decimal("9.79"), Decimal("10.00"))


def test_the_first_matching_tax_rule_wins_and_subdivisions_narrow_it() -> None:
    table = TaxTable(
        (
            TaxRule("US", ("TX-STATE",), subdivision="TX"),
            TaxRule("US", ("US-DEFAULT",)),
            TaxRule("CA", ("GST",)),
        )
    )
    assert table.tax_codes(ShipTo("US", "TX")) == ("TX-STATE",)
    assert table.tax_codes(ShipTo("US", "OH")) == ("US-DEFAULT",)
    assert table.tax_codes(ShipTo("CA", "ON")) == ("GST",)
    assert table.tax_codes(ShipTo("MX", None)) == ()


def test_the_highest_threshold_reached_sets_method_and_freight() -> None:
    table = ShippingTable(
        (
            ShippingRule(Decimal(0), "GROUND", Decimal("25.00")),
            ShippingRule(Decimal(500), "GROUND", Decimal(0)),
            ShippingRule(Decimal(5000), "LTL", Decimal(0)),
        )
    )
    assert table.quote(ShipTo("US", "OH"), Decimal("120")).freight == Decimal("25.00")
    assert table.quote(ShipTo("US", "OH"), Decimal("500")).freight == 0
    assert table.quote(ShipTo("US", "OH"), Decimal("9000")).method == "LTL"
    assert ShippingTable().quote(ShipTo("US", "OH"), Decimal(1)).method is None


def test_ship_complete_customers_hold_whatever_the_default() -> None:
    policy = OrderPolicy(backorder=BackorderPolicy.SHIP_PARTIAL, ship_complete_customers=frozenset({"cus_1"}))
    assert policy.backorder_policy_for("cus_1") is BackorderPolicy.HOLD
    assert policy.backorder_policy_for("cus_2") is BackorderPolicy.SHIP_PARTIAL


def test_a_drill_names_a_step_and_the_orders_it_fails() -> None:
    from crossdock.orders.policy import StepDrill

    drill = StepDrill("dispatch", "DRILL-*")
    assert drill.matches("dispatch:1", "DRILL-7")
    assert not drill.matches("dispatch:1", "PO-7")
    assert not drill.matches("invoice:1", "DRILL-7")
    assert not drill.matches("dispatch:1", None)
