"""Quote-to-order's decisions on the process engine, against an in-memory order desk (the real one is Tryton, in the
integration and fault tests): refusals, backorders, drop-ship waits, compensation, idempotent starts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import Money, Quantity, Sourcing
from crossdock.model.sales import SalesOrder, SalesOrderLine, SalesOrderStatus
from crossdock.orders.policy import OrderPolicy, StepDrill
from crossdock.orders.quote_to_order import NAME, SHIP_NOTICE, OrderSystems, QuoteToOrder, process_input
from crossdock.ports.orders import (
    CustomerStanding,
    DispatchResult,
    ErpInvoice,
    ErpInvoiceLine,
    ErpPurchase,
    ErpSale,
    ErpSaleLine,
    ErpShipment,
    ItemSupply,
    OrderStatusReport,
    PriceQuery,
    SaleDraft,
    SaleState,
    ShipmentKind,
    ShipmentLine,
    ShipmentState,
)
from crossdock.ports.store import CrossReference
from crossdock.process import ProcessEngine, ProcessState
from crossdock.store.memory import MemoryStore


class ShelfDesk:
    """An ERP with a stock shelf, list prices and one customer: enough to exercise every branch."""

    system = "erp"

    def __init__(self, stock: dict[str, int], *, credit_limit: str = "100000", drop_ship: Sequence[str] = ()) -> None:
        self.stock = {sku: Decimal(n) for sku, n in stock.items()}
        self.prices = {sku: Decimal("10.00") for sku in [*stock, *drop_ship]}
        self.drop_ship = set(drop_ship)
        self.credit_limit = Decimal(credit_limit)
        self.sales: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    async def customer_standing(self, customer_local_id: str) -> CustomerStanding:
        return CustomerStanding(customer_local_id, "Harbor Supply", True, False, "USD", self.credit_limit, Decimal(0))

    async def contract_prices(self, customer_local_id: str, queries: Sequence[PriceQuery]) -> dict[str, Decimal]:
        return {q.sku: self.prices[q.sku] for q in queries if q.sku in self.prices}

    async def item_supply(self, skus: Sequence[str]) -> dict[str, ItemSupply]:
        return {
            sku: ItemSupply(
                sku,
                sku,
                Sourcing.DROP_SHIP if sku in self.drop_ship else Sourcing.STOCKED,
                self.stock.get(sku, Decimal(0)),
                "u",
                lead_time_days=5,
            )
            for sku in skus
            if sku in self.prices
        }

    async def find_sale(self, reference: str) -> ErpSale | None:
        sale = next((s for s in self.sales.values() if s["reference"] == reference and s["state"] != "cancelled"), None)
        return None if sale is None else self._sale(sale)

    async def create_sale(self, draft: SaleDraft) -> ErpSale:
        self.calls.append("create_sale")
        found = await self.find_sale(draft.reference)
        if found is not None:
            return found
        sale_id = str(len(self.sales) + 1)
        self.sales[sale_id] = {
            "id": sale_id,
            "reference": draft.reference,
            "state": "quotation",
            "lines": [[line.sku, line.quantity, line.unit_price, Decimal(0)] for line in draft.lines],
            "waiting": [],
            "purchases": [],
            "shipments": [],
            "invoiced": Decimal(0),
        }
        return self._sale(self.sales[sale_id])

    async def confirm_sale(self, sale_id: str) -> ErpSale:
        self.sales[sale_id]["state"] = "processing"
        return self._sale(self.sales[sale_id])

    async def read_sale(self, sale_id: str) -> ErpSale:
        return self._sale(self.sales[sale_id])

    async def dispatch(self, sale_id: str, *, ship_partial: bool) -> DispatchResult:
        sale = self.sales[sale_id]
        shipped, short = [], []
        for line in sale["lines"]:
            sku, quantity, _, done = line
            if sku in self.drop_ship or done >= quantity:
                continue
            take = min(self.stock[sku], quantity - done)
            if take < quantity - done and not ship_partial:
                take = Decimal(0)
            if take:
                self.stock[sku] -= take
                line[3] += take
                shipped.append(ShipmentLine(sku, take))
            if line[3] < quantity:
                short.append(ShipmentLine(sku, quantity - line[3]))
        sale["waiting"] = short
        shipment = None
        if shipped:
            shipment = ErpShipment(
                f"s{len(sale['shipments']) + 1}", "OUT", ShipmentKind.WAREHOUSE, ShipmentState.DONE, shipped
            )
            sale["shipments"].append(shipment)
        return DispatchResult(shipment, short)

    async def order_drop_ship(self, sale_id: str) -> list[ErpPurchase]:
        sale = self.sales[sale_id]
        if not sale["purchases"]:
            lines = [ShipmentLine(sku, q) for sku, q, _, _ in sale["lines"] if sku in self.drop_ship]
            sale["purchases"].append(ErpPurchase(f"p{sale_id}", f"PO{sale_id}", "confirmed", "9", "Acme", lines))
        return list(sale["purchases"])

    async def complete_drop_shipment(self, sale_id: str, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        sale = self.sales[sale_id]
        for line in sale["lines"]:
            if line[0] in self.drop_ship:
                line[3] = line[1]
        shipment = ErpShipment("d1", "DROP", ShipmentKind.DROP_SHIP, ShipmentState.DONE, list(shipped))
        sale["shipments"].append(shipment)
        return shipment

    async def invoice(self, sale_id: str) -> list[ErpInvoice]:
        self.sales[sale_id]["invoiced"] = sum((line[3] * line[2] for line in self.sales[sale_id]["lines"]), Decimal(0))
        return list(self._sale(self.sales[sale_id]).invoices)

    async def cancel_sale(self, sale_id: str) -> ErpSale:
        self.calls.append("cancel_sale")
        self.sales[sale_id]["state"] = "cancelled"
        return self._sale(self.sales[sale_id])

    def _sale(self, sale: dict[str, Any]) -> ErpSale:
        lines = [
            ErpSaleLine(str(i), sku, q, p, Sourcing.DROP_SHIP if sku in self.drop_ship else Sourcing.STOCKED, done)
            for i, (sku, q, p, done) in enumerate(sale["lines"])
        ]
        shipments = list(sale["shipments"])
        if sale["waiting"]:
            shipments.append(ErpShipment("w", None, ShipmentKind.WAREHOUSE, ShipmentState.WAITING, sale["waiting"]))
        invoices = []
        if sale["invoiced"]:
            amount = sale["invoiced"]
            invoices = [
                ErpInvoice(
                    "i1",
                    "INV1",
                    "posted",
                    amount,
                    "USD",
                    lines=[ErpInvoiceLine(None, "goods", Decimal(1), amount, amount)],
                )
            ]
        total = sum((q * p for _, q, p, _ in sale["lines"]), Decimal(0))
        return ErpSale(
            sale["id"],
            f"SO{sale['id']}",
            sale["reference"],
            SaleState(sale["state"]),
            "USD",
            total,
            lines,
            shipments,
            invoices,
            sale["purchases"],
        )


class Board:
    """A CRM that remembers the last report per order."""

    system = "crm"

    def __init__(self) -> None:
        self.reports: dict[str, OrderStatusReport] = {}

    async def report_order_status(self, report: OrderStatusReport) -> None:
        self.reports[report.order_local_id] = report

    async def read_order_status(self, order_local_id: str) -> OrderStatusReport:
        return self.reports[order_local_id]


def an_order(*lines: tuple[str, int], number: str = "SF-1", po: str = "PO-1") -> SalesOrder:
    return SalesOrder(
        id=f"ord-{number}",
        number=number,
        customer_id="cus-1",
        customer_po=po,
        order_date=date(2026, 11, 22),
        currency="USD",
        status=SalesOrderStatus.SUBMITTED,
        ship_to=Address(
            kind=AddressKind.SHIP_TO, country="US", lines=["1 Dock"], city="Columbus", region="OH", postal_code="43215"
        ),
        lines=[
            SalesOrderLine(
                line_number=n,
                item_id=f"itm-{sku}",
                sku=sku,
                unit_price=Money(currency="USD", amount=Decimal("10.00")),
                ordered_quantity=Quantity.of(quantity, "EA"),
            )
            for n, (sku, quantity) in enumerate(lines, start=1)
        ],
    )


async def run(
    desk: ShelfDesk, order: SalesOrder, policy: OrderPolicy | None = None, *, rounds: int = 5
) -> tuple[ProcessEngine, Board, str]:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cus-1", "erp", "7"))
        uow.commit()
    board = Board()
    systems = OrderSystems(erp=desk, crm=board, store=store, policy=policy or OrderPolicy())
    engine = ProcessEngine(store, definitions=[QuoteToOrder(systems).definition()], owner="test")
    instance = engine.start(
        NAME, business_key=order.number, input=process_input(order, crm_system="crm", crm_order_id="801A")
    )
    for _ in range(rounds):
        await engine.run_due()
    return engine, board, instance


async def test_an_order_in_stock_ships_invoices_and_tells_the_crm() -> None:
    desk = ShelfDesk({"A": 50})
    engine, board, instance = await run(desk, an_order(("A", 5)))
    view = engine.show(instance)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result["outcome"] == "invoiced"
    assert board.reports["801A"].status == "invoiced"
    assert desk.stock["A"] == 45
    engine.close()


async def test_an_order_over_credit_is_rejected_before_the_erp_sees_it() -> None:
    desk = ShelfDesk({"A": 50}, credit_limit="20")
    engine, board, instance = await run(desk, an_order(("A", 5)))
    view = engine.show(instance)
    assert view is not None
    assert view.result["reason"] == "over_credit"
    assert board.reports["801A"].status == "rejected"
    assert desk.sales == {}
    engine.close()


async def test_a_short_line_ships_what_is_there_and_sleeps_on_the_backorder() -> None:
    desk = ShelfDesk({"A": 3})
    engine, board, instance = await run(desk, an_order(("A", 5)))
    view = engine.show(instance)
    assert view is not None
    assert view.state is ProcessState.SLEEPING
    report = board.reports["801A"]
    assert (report.status, report.lines[0].shipped_quantity, report.lines[0].backordered_quantity) == (
        "backordered",
        3,
        2,
    )
    engine.close()


async def test_a_drop_ship_line_waits_for_the_suppliers_ship_notice() -> None:
    desk = ShelfDesk({"A": 10}, drop_ship=["D"])
    engine, board, instance = await run(desk, an_order(("A", 1), ("D", 2)))
    view = engine.show(instance)
    assert view is not None
    assert view.state is ProcessState.WAITING
    assert view.waiting_for == (SHIP_NOTICE, "ord-SF-1.po.p1")  # the PO's canonical id
    assert board.reports["801A"].status == "partially_shipped"
    await engine.deliver(
        event_type=SHIP_NOTICE, correlation_key="ord-SF-1.po.p1", payload={"lines": []}, event_id="asn-1"
    )
    await engine.run_due()
    assert engine.show(instance).state is ProcessState.COMPLETED  # type: ignore[union-attr]
    assert board.reports["801A"].status == "invoiced"
    engine.close()


async def test_a_step_failing_for_good_cancels_the_erp_sale_and_tells_the_crm() -> None:
    desk = ShelfDesk({"A": 10})
    policy = OrderPolicy(drills=(StepDrill("dispatch", "DRILL-*"),))
    engine, board, instance = await run(desk, an_order(("A", 1), po="DRILL-1"), policy)
    view = engine.show(instance)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    assert desk.calls.count("cancel_sale") == 1
    assert board.reports["801A"].status == "cancelled"
    engine.close()


@pytest.mark.parametrize("price", ["9.00", "9.85"])
async def test_a_price_below_contract_beyond_tolerance_is_refused(price: str) -> None:
    desk = ShelfDesk({"A": 10})
    order = an_order(("A", 1))
    order = order.revised(lines=[order.lines[0].revised(unit_price=Money(currency="USD", amount=Decimal(price)))])
    engine, _, instance = await run(desk, order)
    view = engine.show(instance)
    assert view is not None
    assert view.result["outcome"] == ("rejected" if price == "9.00" else "invoiced")
    engine.close()


async def test_the_same_order_twice_is_one_process_and_one_erp_sale() -> None:
    desk = ShelfDesk({"A": 10})
    engine, _, instance = await run(desk, an_order(("A", 1)))
    again = engine.start(NAME, business_key="SF-1", input=process_input(an_order(("A", 1))))
    await engine.run_due()
    assert again == instance
    assert len(desk.sales) == 1
    engine.close()


def test_timedelta_policy_defaults_are_days_not_seconds() -> None:
    assert OrderPolicy().supplier_answer_timeout == timedelta(days=14)
