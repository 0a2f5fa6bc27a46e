"""A drop-ship supplier's 855 on quote-to-order: what it rejects is stopped in the ERP and shown cancelled in the CRM,
what it backorders is shown backordered with its date, a part commitment is stopped once that part shipped, the
same 855 twice stops nothing twice, and instances of version 1 skip 855s. The ERP is an in-memory order desk (the
real one, Tryton, is in `tests/integration/tryton/test_supplier_answers.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.model.common import Quantity
from crossdock.model.purchasing import (
    AcknowledgementLine,
    AcknowledgementStatus,
    LineAcknowledgementStatus,
    PoAcknowledgement,
)
from crossdock.orders.drop_ship import DropShipPurchase, acknowledgement_signal
from crossdock.orders.policy import OrderPolicy
from crossdock.orders.quote_to_order import NAME, SHIP_NOTICE, OrderSystems, QuoteToOrder, process_input
from crossdock.ports.orders import ErpSale, ErpSaleLine, ErpShipment, ShipmentKind, ShipmentLine, ShipmentState
from crossdock.ports.store import CrossReference
from crossdock.process import ProcessEngine, ProcessState
from crossdock.store.memory import MemoryStore
from tests.unit.orders.test_quote_to_order import Board, ShelfDesk, an_order

PO_KEY = "ord-SF-1.po.p1"  # the canonical id of the purchase ShelfDesk makes for sale 1


class SupplierDesk(ShelfDesk):
    """ShelfDesk whose drop shipments ship the quantities given, and which stops what a supplier refuses."""

    def __init__(self, drop_ship: Sequence[str]) -> None:
        super().__init__({}, drop_ship=drop_ship)
        self.cancelled: dict[str, Decimal] = {}
        self.stops: list[list[str]] = []

    async def complete_drop_shipment(self, sale_id: str, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        sale = self.sales[sale_id]
        by_sku = {line.sku: line.quantity for line in shipped}
        for line in sale["lines"]:
            line[3] += by_sku.get(line[0], Decimal(0))
        shipment = ErpShipment(
            f"d{len(sale['shipments']) + 1}", "DROP", ShipmentKind.DROP_SHIP, ShipmentState.DONE, shipped
        )
        sale["shipments"].append(shipment)
        return shipment

    async def stop_drop_ship(self, sale_id: str, skus: Sequence[str]) -> ErpSale:
        self.stops.append(list(skus))
        for sku, quantity, _, done in self.sales[sale_id]["lines"]:
            if sku in skus:
                self.cancelled[sku] = quantity - done  # what is open, closed (again: the same)
        return self._sale(self.sales[sale_id])

    def _sale(self, sale: dict[str, Any]) -> ErpSale:
        erp = super()._sale(sale)
        lines = [
            ErpSaleLine(
                line.line_id,
                line.sku,
                line.quantity,
                line.unit_price,
                line.sourcing,
                line.shipped_quantity,
                cancelled_quantity=self.cancelled.get(line.sku, Decimal(0)),
            )
            for line in erp.lines
        ]
        return ErpSale(erp.sale_id, erp.number, erp.reference, erp.state, erp.currency, erp.total, lines, *_rest(erp))


def _rest(sale: ErpSale) -> tuple[Any, ...]:
    return (sale.shipments, sale.invoices, sale.purchases)


def acknowledgement(*lines: tuple[int, str, str, int | None], promised: date | None = None) -> dict[str, Any]:
    """An 855's signal: (PO line, SKU, line status, quantity) per line."""
    statuses = {status for _, _, status, _ in lines}
    overall = (
        AcknowledgementStatus.ACCEPTED if statuses == {"accepted"} else AcknowledgementStatus.ACCEPTED_WITH_CHANGES
    )
    if statuses == {"rejected"}:
        overall = AcknowledgementStatus.REJECTED
    ack = PoAcknowledgement(
        id="ack-1",
        purchase_order_id=PO_KEY,
        po_number="PO1",
        supplier_id="sup-1",
        status=overall,
        acknowledged_at="2026-11-23T09:00:00Z",
        lines=[
            AcknowledgementLine(
                po_line_number=n,
                sku=sku,
                status=LineAcknowledgementStatus(status),
                quantity=None if quantity is None else Quantity.of(quantity, "EA"),
                promised_date=promised if status == "backordered" else None,
                note="discontinued" if status == "rejected" else None,
            )
            for n, sku, status, quantity in lines
        ],
    )
    return acknowledgement_signal(ack)


async def start(desk: SupplierDesk, *lines: tuple[str, int], version: int = 2) -> tuple[ProcessEngine, Board, str]:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cus-1", "erp", "7"))
        uow.commit()
    board = Board()
    systems = OrderSystems(erp=desk, crm=board, store=store, policy=OrderPolicy())
    engine = ProcessEngine(store, definitions=QuoteToOrder(systems).definitions()[:version], owner="test")
    instance = engine.start(
        NAME, business_key="SF-1", input=process_input(an_order(*lines), crm_system="crm", crm_order_id="801A")
    )
    for _ in range(3):
        await engine.run_due()
    return engine, board, instance


async def answer(engine: ProcessEngine, payload: dict[str, Any], event_id: str) -> None:
    await engine.deliver(event_type=SHIP_NOTICE, correlation_key=PO_KEY, payload=payload, event_id=event_id)
    for _ in range(2):
        await engine.run_due()


def state_of(engine: ProcessEngine, instance: str) -> ProcessState:
    view = engine.show(instance)
    assert view is not None
    return view.state


async def test_a_rejected_line_is_stopped_in_the_erp_and_shows_cancelled_in_the_crm() -> None:
    desk = SupplierDesk(drop_ship=["D1", "D2"])
    engine, board, instance = await start(desk, ("D1", 2), ("D2", 3))
    await answer(engine, acknowledgement((1, "D1", "accepted", 2), (2, "D2", "rejected", None)), "ack-a")

    assert desk.stops == [["D2"]]
    report = board.reports["801A"]
    assert [(line.line_local_id, line.cancelled_quantity) for line in report.lines] == [("1", 0), ("2", 3)]
    assert report.reason is not None
    assert "will not supply D2 x3 (discontinued)" in report.reason
    assert state_of(engine, instance) is ProcessState.WAITING  # for D1's ship notice

    await answer(engine, {"kind": "ship_notice", "lines": []}, "asn-a")
    assert state_of(engine, instance) is ProcessState.COMPLETED
    assert desk.sales["1"]["lines"][0][3] == 2  # the notice listed nothing: what was committed shipped
    assert board.reports["801A"].status == "invoiced"
    engine.close()


async def test_the_same_855_twice_stops_nothing_twice() -> None:
    desk = SupplierDesk(drop_ship=["D1", "D2"])
    engine, board, _ = await start(desk, ("D1", 2), ("D2", 3))
    ack = acknowledgement((1, "D1", "accepted", 2), (2, "D2", "rejected", None))
    await answer(engine, ack, "ack-file-1")
    first = board.reports["801A"]
    await answer(engine, ack, "ack-file-1")  # the same file read again: one signal
    await answer(engine, ack, "ack-file-2")  # the same 855 resent in another file
    assert desk.stops == [["D2"]]
    assert board.reports["801A"] == first
    engine.close()


async def test_a_backordered_line_shows_backordered_until_the_suppliers_date() -> None:
    desk = SupplierDesk(drop_ship=["D1"])
    engine, board, instance = await start(desk, ("D1", 4))
    when = date(2026, 12, 14)
    await answer(engine, acknowledgement((1, "D1", "backordered", 4), promised=when), "ack-b")

    report = board.reports["801A"]
    assert (report.status, report.promised_date) == ("backordered", when)
    assert [line.backordered_quantity for line in report.lines] == [4]
    assert report.reason is not None
    assert "backordered D1 x4 until 2026-12-14" in report.reason
    assert desk.stops == []

    await answer(engine, {"kind": "ship_notice", "lines": [{"sku": "D1", "quantity": {"value": "4"}}]}, "asn-b")
    assert state_of(engine, instance) is ProcessState.COMPLETED
    assert board.reports["801A"].status == "invoiced"
    engine.close()


async def test_a_part_commitment_is_stopped_once_that_part_shipped() -> None:
    desk = SupplierDesk(drop_ship=["D1"])
    engine, board, instance = await start(desk, ("D1", 5))
    await answer(engine, acknowledgement((1, "D1", "changed", 2)), "ack-c")
    assert desk.stops == []  # the 2 are still to ship
    await answer(engine, {"kind": "ship_notice", "lines": [{"sku": "D1", "quantity": {"value": "2"}}]}, "asn-c")

    assert desk.stops == [["D1"]]
    assert state_of(engine, instance) is ProcessState.COMPLETED
    [line] = board.reports["801A"].lines
    assert (line.shipped_quantity, line.cancelled_quantity) == (2, 3)
    assert board.reports["801A"].status == "invoiced"
    engine.close()


async def test_an_855_rejecting_everything_cancels_the_order() -> None:
    desk = SupplierDesk(drop_ship=["D1"])
    engine, board, instance = await start(desk, ("D1", 1))
    await answer(engine, acknowledgement((1, "D1", "rejected", None)), "ack-d")

    view = engine.show(instance)
    assert view is not None
    assert (view.state, view.result["outcome"]) == (ProcessState.COMPLETED, "cancelled")
    assert board.reports["801A"].status == "cancelled"
    engine.close()


async def test_an_instance_of_version_1_skips_an_855_and_completes_on_the_ship_notice() -> None:
    desk = SupplierDesk(drop_ship=["D1", "D2"])
    engine, _board, instance = await start(desk, ("D1", 2), ("D2", 3), version=1)
    await answer(engine, acknowledgement((1, "D1", "accepted", 2), (2, "D2", "rejected", None)), "ack-e")
    assert desk.stops == []
    assert state_of(engine, instance) is ProcessState.WAITING
    await answer(engine, {"lines": []}, "asn-e")  # a ship notice as version 1 knew them
    assert state_of(engine, instance) is ProcessState.COMPLETED
    engine.close()


def test_a_later_855_does_not_reorder_what_was_stopped() -> None:
    purchase = DropShipPurchase.issued(
        {"number": "PO1", "supplier_name": "Acme", "lines": [{"sku": "D1", "quantity": "3"}]}
    )
    assert purchase.acknowledge({"lines": [{"po_line_number": 1, "status": "rejected"}]}) == ["D1"]
    purchase.stop(["D1"])
    assert purchase.acknowledge({"lines": [{"po_line_number": 1, "status": "accepted", "quantity": "3"}]}) == []
    assert purchase.settled
    assert purchase.refused() == {"D1": Decimal(3)}
