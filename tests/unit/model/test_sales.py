"""Quotes and sales orders: line checks, totals, backorders and the order status lifecycle."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from pydantic import ValidationError

from crossdock.model import InvalidTransitionError, Money, Quantity, SalesOrderStatus, Sourcing

from . import examples

S = SalesOrderStatus


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


class TestStatusLifecycle:
    @pytest.mark.parametrize(
        "path",
        [
            [S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.SHIPPED, S.INVOICED, S.CLOSED],
            [S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.BACKORDERED, S.PARTIALLY_SHIPPED, S.SHIPPED],
            [S.ACCEPTED, S.PARTIALLY_SHIPPED, S.BACKORDERED, S.SHIPPED],
            [S.DRAFT, S.SUBMITTED, S.REJECTED],
            [S.DRAFT, S.CANCELLED],
            [S.ACCEPTED, S.BACKORDERED, S.CANCELLED],
        ],
    )
    def test_the_happy_and_unhappy_paths_are_allowed(self, path: list[SalesOrderStatus]) -> None:
        for current, target in itertools.pairwise(path):
            assert current.can_become(target), (current, target)

    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (S.DRAFT, S.ACCEPTED),
            (S.SUBMITTED, S.SHIPPED),
            (S.SHIPPED, S.DRAFT),
            (S.PARTIALLY_SHIPPED, S.CANCELLED),
            (S.SHIPPED, S.CLOSED),
            (S.INVOICED, S.SHIPPED),
        ],
    )
    def test_skipping_or_going_back_is_refused(self, current: SalesOrderStatus, target: SalesOrderStatus) -> None:
        assert not current.can_become(target)
        with pytest.raises(InvalidTransitionError, match=f"cannot go from {current.value} to {target.value}"):
            current.check_transition(target)

    @pytest.mark.parametrize("final", [S.CLOSED, S.REJECTED, S.CANCELLED])
    def test_final_statuses_go_nowhere(self, final: SalesOrderStatus) -> None:
        assert final.next_statuses() == frozenset()
        with pytest.raises(InvalidTransitionError, match="it may go to nothing \\(it is final\\)"):
            final.check_transition(S.DRAFT)

    def test_every_status_has_a_rule_and_may_stay_put(self) -> None:
        for status in S:
            assert status.can_become(status)
            assert status not in status.next_statuses()

    def test_error_lists_where_the_order_may_go(self) -> None:
        with pytest.raises(
            InvalidTransitionError,
            match="from accepted it may go to backordered, cancelled, partially_shipped, shipped",
        ):
            S.ACCEPTED.check_transition(S.CLOSED)

    def test_with_status_returns_a_validated_copy(self) -> None:
        order = examples.sales_order()
        shipped = order.with_status(S.PARTIALLY_SHIPPED)
        assert shipped.status == S.PARTIALLY_SHIPPED
        assert order.status == S.BACKORDERED
        with pytest.raises(InvalidTransitionError):
            order.with_status(S.DRAFT)


class TestSalesOrder:
    def test_totals_and_lines(self) -> None:
        order = examples.sales_order()
        assert order.lines[0].amount == usd("255.00")
        assert order.subtotal == usd("633.00")
        assert order.is_drop_ship
        line = order.line(1)
        assert line is not None
        assert line.open_quantity == Quantity.of(60, "CS")
        assert order.lines[1].shipped_quantity == Quantity.of(0, "EA")  # defaults to zero in the ordered UOM
        assert order.line(9) is None

    def test_line_prices_are_in_the_order_currency(self) -> None:
        order = examples.sales_order()
        line = order.lines[0].model_dump()
        with pytest.raises(
            ValidationError,
            match="sales order SO-4711 line 1: price currency EUR differs from the document currency USD",
        ):
            order.revised(lines=[{**line, "unit_price": Money.of(1, "EUR")}])

    def test_line_numbers_are_unique(self) -> None:
        order = examples.sales_order()
        line = order.lines[0].model_dump()
        with pytest.raises(ValidationError, match="sales order SO-4711 has more than one line numbered 1"):
            order.revised(lines=[line, line])

    def test_a_live_order_has_lines_and_a_ship_to(self) -> None:
        order = examples.sales_order()
        with pytest.raises(ValidationError, match="is backordered but has no lines; only drafts may be empty"):
            order.revised(lines=[])
        with pytest.raises(ValidationError, match=r"has no ship-to: set ship_to_id .* or ship_to"):
            order.revised(ship_to_id=None)
        assert order.revised(status="draft", lines=[], ship_to_id=None).lines == []
        one_time = order.revised(ship_to_id=None, ship_to=examples.ship_to_address())
        assert one_time.ship_to is not None

    def test_line_quantities_share_the_ordered_uom_and_backorders_fit(self) -> None:
        line = examples.sales_order().lines[0]
        with pytest.raises(ValidationError, match="shipped_quantity is in EA but ordered_quantity is in CS"):
            line.revised(shipped_quantity=Quantity.of(1, "EA"))
        with pytest.raises(ValidationError, match="backorders 50 CS but only 30 CS is still open"):
            line.revised(shipped_quantity=Quantity.of(30, "CS"), backordered_quantity=Quantity.of(50, "CS"))
        with pytest.raises(ValidationError, match="ordered_quantity must be greater than zero"):
            line.revised(ordered_quantity=Quantity.of(0, "CS"), backordered_quantity=Quantity.of(0, "CS"))
        over = line.revised(shipped_quantity=Quantity.of(61, "CS"), backordered_quantity=Quantity.of(0, "CS"))
        assert over.open_quantity == Quantity.of(0, "CS")  # over-shipments happen; nothing is left open

    def test_supplier_only_on_drop_ship_lines(self) -> None:
        line = examples.sales_order().lines[1]
        assert line.sourcing == Sourcing.DROP_SHIP
        with pytest.raises(ValidationError, match="names a supplier_id but is stocked"):
            line.revised(sourcing="stocked")


class TestQuote:
    def test_quote_totals_and_dates(self) -> None:
        quote = examples.quote()
        assert quote.subtotal == usd("255.00")
        with pytest.raises(ValidationError, match="valid_until 2026-11-01 is before quote_date 2026-11-02"):
            quote.revised(valid_until=date(2026, 11, 1))
        with pytest.raises(ValidationError, match="quote line 1: quantity must be greater than zero"):
            quote.lines[0].revised(quantity=Quantity.of(0, "CS"))
