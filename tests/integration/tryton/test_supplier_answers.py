"""A drop-ship supplier's answers on a real Tryton: what its 855 refuses is stopped on the purchase and the sale (and
stopping twice changes nothing), a part commitment is stopped once that part shipped, and its 810 is booked as the
purchase's supplier invoice under its own number, once, or raised for payables when the amounts disagree."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crossdock.connectors.tryton.client import TrytonClient
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.connectors.tryton.orders import TrytonOrderDesk
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.log.memory import MemoryEventLog
from crossdock.model.billing import Invoice, InvoiceLine
from crossdock.model.common import Money, Quantity
from crossdock.orders import documents
from crossdock.orders.supplier_invoices import SupplierInvoiceBooking
from crossdock.ports.orders import ErpPurchase, SaleDraft, SaleLineDraft, ShipmentKind, ShipmentLine, ShipmentState
from crossdock.ports.store import CrossReference
from crossdock.sandbox import tryton_stock
from crossdock.store.memory import MemoryStore

pytestmark = pytest.mark.tryton

TAX = "US Sales Tax 6.25%"
PO_ID = "ord-77.po"


@pytest.fixture
async def desk(connector: TrytonConnector) -> TrytonOrderDesk:
    """The order desk of the session's Tryton."""
    return connector.order_desk()


@pytest.fixture
def client(connector: TrytonConnector) -> TrytonClient:
    """The connector's client, for what a person does in Tryton."""
    return connector.client


async def drop_ship_sale(
    client: TrytonClient, desk: TrytonOrderDesk, unique: str, *quantities: int
) -> tuple[str, ErpPurchase, list[str]]:
    """A confirmed sale of drop-shipped items (one line each, at 100, bought at 60) and its confirmed purchase."""
    supplier = await tryton_stock.create_supplier(client, f"Valves Inc {unique}")
    skus = []
    for n, _ in enumerate(quantities):
        sku = f"V{n}-{unique}"
        await tryton_stock.create_item(client, sku, f"Valve {n}", "100")
        await tryton_stock.make_drop_ship_item(client, sku, supplier, 5, unit_cost="60")
        skus.append(sku)
    (country,) = await client.search("country.country", [("code", "=", "US")], limit=1)
    address = {"street": "9 Canal St", "city": "Atlanta", "postal_code": "30303", "country": country}
    (party,) = await client.create("party.party", [{"name": f"Plant {unique}", "addresses": [["create", [address]]]}])
    lines = [
        SaleLineDraft(sku, Decimal(q), Decimal(100), tax_codes=(TAX,)) for sku, q in zip(skus, quantities, strict=True)
    ]
    created = await desk.create_sale(SaleDraft(f"SO-V-{unique}", str(party), "USD", lines))
    sale = await desk.confirm_sale(created.sale_id)
    (purchase,) = await desk.order_drop_ship(sale.sale_id)
    return sale.sale_id, purchase, skus


async def test_a_refused_line_is_stopped_on_purchase_and_sale_and_the_rest_still_ships(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sale_id, purchase, (kept, refused, part) = await drop_ship_sale(client, desk, unique, 4, 4, 4)

    stopped = await desk.stop_drop_ship(sale_id, [refused])
    assert [(line.sku, line.cancelled_quantity) for line in stopped.lines] == [(kept, 0), (refused, 4), (part, 0)]
    open_drops = [s for s in stopped.shipments if s.state is ShipmentState.WAITING]
    assert [sorted(line.sku for line in s.lines) for s in open_drops] == [sorted([kept, part])]  # ordered again
    assert await desk.stop_drop_ship(sale_id, [refused]) == stopped  # the same 855 twice

    # The supplier committed to 3 of `part`: it ships them with `kept`, and the rest of `part` is stopped.
    await desk.complete_drop_shipment(sale_id, [ShipmentLine(kept, Decimal(4)), ShipmentLine(part, Decimal(3))])
    done = await desk.stop_drop_ship(sale_id, [part])
    assert [(line.sku, line.shipped_quantity, line.cancelled_quantity) for line in done.lines] == [
        (kept, 4, 0),
        (refused, 0, 4),
        (part, 3, 1),
    ]
    assert not [s for s in done.shipments if s.kind is ShipmentKind.DROP_SHIP and s.state is ShipmentState.WAITING]
    await desk.invoice(sale_id)
    sale = await desk.read_sale(sale_id)
    assert documents.order_status(sale).value == "invoiced"
    [invoice] = sale.invoices
    assert [(line.sku, line.quantity) for line in invoice.lines] == [(kept, 4), (part, 3)]  # billed what shipped
    (row,) = await client.read("purchase.purchase", [int(purchase.purchase_id)], ["shipment_state"])
    assert row["shipment_state"] == "received"  # no exception left on the purchase


class Books:
    """The booking service on a memory log and store, with the purchase cross-referenced as the 850 leaves it."""

    def __init__(self, desk: TrytonOrderDesk, purchase: ErpPurchase) -> None:
        self.store, self.log = MemoryStore(), MemoryEventLog(partitions=2)
        with self.store.unit_of_work() as uow:
            uow.xrefs.link(CrossReference("purchase_order", PO_ID, desk.system, purchase.purchase_id))
            uow.commit()
        self.booking = SupplierInvoiceBooking(self.log, self.store, desk, consumer="test", goods_wait_s=0)

    async def receive(self, invoice: Invoice, event_id: str) -> int:
        """Log the 810 as the partner flow does, and run one pass of the booking service."""
        event = CloudEvent(
            type=event_type("invoice", "received"),
            source="/partners/valves",
            subject=invoice.id,
            data=invoice.model_dump(mode="json"),
            id=event_id,
            partnerid="sup-valves",
        )
        await self.log.append([event])
        return await self.booking.run_once(wait_s=0)

    def exceptions(self) -> list[Any]:
        with self.store.unit_of_work(read_only=True) as uow:
            return [e for e in uow.exceptions.list(limit=10) if e.owner_queue == "payables"]


def supplier_invoice(number: str, purchase: ErpPurchase, lines: list[tuple[str, int, str]]) -> Invoice:
    return Invoice(
        id=f"inv-{number}",
        number=number,
        customer_id="crossdock",
        order_ids=[PO_ID],
        customer_po=purchase.number,
        invoice_date=date(2026, 11, 24),
        currency="USD",
        lines=[
            InvoiceLine(
                line_number=n,
                sku=sku,
                description=sku,
                quantity=Quantity.of(quantity, "EA"),
                unit_price=Money(currency="USD", amount=Decimal(price)),
                amount=Money(currency="USD", amount=Decimal(price) * quantity),
            )
            for n, (sku, quantity, price) in enumerate(lines, start=1)
        ],
    )


async def test_an_810_that_agrees_is_posted_once_under_the_suppliers_number(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sale_id, purchase, (sku,) = await drop_ship_sale(client, desk, unique, 2)
    books = Books(desk, purchase)
    early = supplier_invoice(f"SINV-{unique}", purchase, [(sku, 2, "60.00")])
    assert await books.receive(early, "810-early") == 0  # ahead of its goods: no draft invoice yet, it waits
    assert (await desk.read_purchase(purchase.purchase_id)).invoices == []

    await desk.complete_drop_shipment(sale_id, [])  # the goods arrive: Tryton drafts the supplier invoice
    assert await books.booking.run_once(wait_s=0) == 1  # the waiting 810 again
    posted = [i for i in (await desk.read_purchase(purchase.purchase_id)).invoices if i.reference == early.number]
    assert [(i.state, i.total, i.invoice_date) for i in posted] == [("posted", Decimal("120.00"), date(2026, 11, 24))]

    assert await books.receive(early, "810-resent") == 1  # the same 810 in another file: booked already
    invoices = (await desk.read_purchase(purchase.purchase_id)).invoices
    assert [(i.state, i.reference) for i in invoices] == [("posted", early.number)]
    assert books.exceptions() == []


async def test_an_810_off_the_po_is_raised_for_payables_and_posts_nothing(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sale_id, purchase, (sku,) = await drop_ship_sale(client, desk, unique, 2)
    await desk.complete_drop_shipment(sale_id, [])
    books = Books(desk, purchase)
    dear = supplier_invoice(f"SINV-{unique}", purchase, [(sku, 2, "65.00")])
    assert await books.receive(dear, "810-dear") == 1

    [raised] = books.exceptions()
    assert f"{sku} is billed at 65.00, the PO's unit cost is 60" in raised.reason
    assert "it totals 130.00 USD, the receipt 120.00" in raised.reason
    assert raised.subject == dear.number
    invoices = (await desk.read_purchase(purchase.purchase_id)).invoices
    assert [(i.state, i.reference) for i in invoices] == [("draft", None)]  # untouched, for a person to settle

    assert await books.receive(dear, "810-dear-again") == 1
    assert len(books.exceptions()) == 1  # the same exception, not a second one
    fixed = supplier_invoice(f"SINV-{unique}-C", purchase, [(sku, 2, "60.00")])
    assert await books.receive(fixed, "810-fixed") == 1  # the supplier's corrected invoice
    invoices = (await desk.read_purchase(purchase.purchase_id)).invoices
    assert [(i.state, i.reference) for i in invoices] == [("posted", fixed.number)]
