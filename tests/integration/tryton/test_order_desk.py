"""The OrderDesk port on a real Tryton: standing, prices, supply, sales, dispatch with backorders, drop-ship,
invoices and cancelling, each operation idempotent, each refusal a classified ConnectorError."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crossdock.config import SecretRef
from crossdock.connectors.tryton.client import TrytonClient
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.connectors.tryton.orders import TrytonOrderDesk
from crossdock.model.common import Sourcing
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.orders import (
    AddressDraft,
    OrderDesk,
    PriceQuery,
    SaleDraft,
    SaleLineDraft,
    SaleState,
    ShipmentKind,
    ShipmentLine,
    ShipmentState,
)
from crossdock.sandbox import tryton_stock
from tests.integration.tryton.conftest import SYSTEM

pytestmark = pytest.mark.tryton

TAX = "US Sales Tax 6.25%"


@pytest.fixture
async def desk(connector: TrytonConnector) -> TrytonOrderDesk:
    """The order desk of the session's Tryton, on the connector's session."""
    return connector.order_desk()


@pytest.fixture
async def strict_connector(make_settings: Callable[..., TrytonSettings]) -> AsyncIterator[TrytonConnector]:
    """A connector that does not acknowledge Tryton's warnings by itself."""
    connector = TrytonConnector(SYSTEM, make_settings(acknowledge_warnings=False))
    yield connector
    await connector.close()


@pytest.fixture
def client(connector: TrytonConnector) -> TrytonClient:
    """The connector's client, for what a person does in Tryton around the desk."""
    return connector.client


async def customer(client: TrytonClient, name: str) -> str:
    """A customer party with one address (bill-to and ship-to); its id as the port gives it."""
    (country,) = await client.search("country.country", [("code", "=", "US")], limit=1)
    address = {"street": "1 Peachtree St", "city": "Atlanta", "postal_code": "30303", "country": country}
    (party,) = await client.create("party.party", [{"name": name, "addresses": [["create", [address]]]}])
    return str(party)


def order(reference: str, party: str, *lines: tuple[str, int, str], **changes: Any) -> SaleDraft:
    """A sale draft in USD with (sku, quantity, unit price) lines taxed at the sales tax."""
    taxed = [SaleLineDraft(sku, Decimal(qty), Decimal(price), tax_codes=(TAX,)) for sku, qty, price in lines]
    return dataclasses.replace(SaleDraft(reference, party, "USD", taxed), **changes)


async def available(desk: TrytonOrderDesk, sku: str) -> Decimal:
    """Available-to-promise of one SKU."""
    return (await desk.item_supply([sku]))[sku].available


async def reserve(client: TrytonClient, shipment_id: str) -> None:
    """What the warehouse's assignment run does: reserve stock for a waiting shipment."""
    await client.execute("stock.shipment.out", "assign_try", [int(shipment_id)])


async def refused(call: Awaitable[object], kind: ErrorKind = ErrorKind.DATA_QUALITY) -> str:
    """Await `call`, which must fail with a ConnectorError of `kind`; its message."""
    with pytest.raises(ConnectorError) as caught:
        await call
    assert caught.value.kind is kind, str(caught.value)
    return str(caught.value)


async def test_the_desk_is_the_order_desk_port_on_the_connectors_session(connector: TrytonConnector) -> None:
    desk = connector.order_desk()
    assert isinstance(desk, OrderDesk)
    assert desk.system == SYSTEM


async def test_standing_reports_limit_hold_and_credit_used_without_double_counting(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    party = await customer(client, f"Standing {unique}")
    sku = f"ST-{unique}"
    await tryton_stock.create_item(client, sku, "Hinge", "20")
    fresh = await desk.customer_standing(party)
    assert (fresh.name, fresh.active, fresh.credit_hold, fresh.currency) == (f"Standing {unique}", True, False, "USD")
    assert (fresh.credit_limit, fresh.credit_used, fresh.available_credit) == (None, Decimal(0), None)

    await tryton_stock.set_credit_limit(client, int(party), 1000)
    await tryton_stock.set_credit_hold(client, int(party), True)
    held = await desk.customer_standing(party)
    assert (held.credit_hold, held.credit_limit) == (True, Decimal(1000))

    # A confirmed sale counts while not invoiced; once invoiced it counts as the receivable, and only once.
    sale = await desk.create_sale(order(f"SO-ST-{unique}", party, (sku, 10, "20")))
    await desk.confirm_sale(sale.sale_id)
    assert (await desk.customer_standing(party)).credit_used == Decimal("212.50")
    await tryton_stock.receive_stock(client, {sku: 10})
    await desk.dispatch(sale.sale_id, ship_partial=False)
    await desk.invoice(sale.sale_id)
    after = await desk.customer_standing(party)
    assert after.credit_used == Decimal("212.50")
    assert after.available_credit == Decimal("787.50")

    await tryton_stock.set_credit_hold(client, int(party), False)
    assert not (await desk.customer_standing(party)).credit_hold
    assert "no party 999999" in await refused(desk.customer_standing("999999"))
    assert "is not a Tryton customer id" in await refused(desk.customer_standing("cus_42"))


async def test_a_contract_price_wins_over_the_list_price(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    contracted, listed = f"CP-{unique}", f"LP-{unique}"
    await tryton_stock.create_item(client, contracted, "Gasket", "10")
    await tryton_stock.create_item(client, listed, "Washer", "4")
    party, other = await customer(client, f"Contract {unique}"), await customer(client, f"List {unique}")
    queries = [PriceQuery(contracted, Decimal(12)), PriceQuery(listed, Decimal(1)), PriceQuery("NO-SUCH", Decimal(1))]

    assert await desk.contract_prices(party, queries) == {contracted: Decimal(10), listed: Decimal(4)}
    await tryton_stock.set_contract_prices(client, int(party), {contracted: "8.5"})
    assert await desk.contract_prices(party, queries) == {contracted: Decimal("8.5"), listed: Decimal(4)}
    assert await desk.contract_prices(other, queries) == {contracted: Decimal(10), listed: Decimal(4)}
    assert "no party" in await refused(desk.contract_prices("999999", queries))


async def test_item_supply_tells_stocked_from_drop_ship_and_atp_drops_with_a_reservation(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    stocked, dropped = f"SK-{unique}", f"DS-{unique}"
    await tryton_stock.create_item(client, stocked, "Bracket", "3")
    await tryton_stock.create_item(client, dropped, "Compressor", "900")
    supplier = await tryton_stock.create_supplier(client, f"Compressors Inc {unique}")
    await tryton_stock.make_drop_ship_item(client, dropped, supplier, 12)
    await tryton_stock.receive_stock(client, {stocked: 10})

    supply = await desk.item_supply([stocked, dropped, "NO-SUCH"])
    assert set(supply) == {stocked, dropped}
    assert (supply[stocked].sourcing, supply[stocked].available, supply[stocked].unit) == (
        Sourcing.STOCKED,
        Decimal(10),
        "u",
    )
    assert (supply[dropped].sourcing, supply[dropped].supplier_id, supply[dropped].lead_time_days) == (
        Sourcing.DROP_SHIP,
        str(supplier),
        12,
    )

    party = await customer(client, f"Supply {unique}")
    sale = await desk.confirm_sale((await desk.create_sale(order(f"SO-SK-{unique}", party, (stocked, 4, "3")))).sale_id)
    assert await available(desk, stocked) == Decimal(10)  # an order waiting for the warehouse reserves nothing yet
    (shipment,) = sale.shipments
    await reserve(client, shipment.shipment_id)
    assert await available(desk, stocked) == Decimal(6)
    assert await desk.item_supply([]) == {}


async def test_creating_a_sale_twice_with_one_reference_makes_one_sale(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"CS-{unique}"
    await tryton_stock.create_item(client, sku, "Anchor", "5")
    party = await customer(client, f"Create {unique}")
    ship_to = AddressDraft(street="9 Dock Rd", city="Macon", postal_code="31201", subdivision="GA", country="US")
    draft = order(
        f"SO-CS-{unique}",
        party,
        (sku, 4, "5"),
        ship_to=ship_to,
        freight_amount=Decimal("12.50"),
        shipping_method="UPS Ground",
        customer_po=f"PO-{unique}",
    )

    first = await desk.create_sale(draft)
    again = await desk.create_sale(draft)
    assert again == first
    assert await client.search("sale.sale", [("reference", "=", draft.reference)]) == [int(first.sale_id)]
    assert first.state is SaleState.QUOTATION
    assert first.reference == draft.reference
    assert [(line.sku, line.quantity, line.unit_price, line.is_freight) for line in first.lines] == [
        (sku, Decimal(4), Decimal(5), False),
        ("FREIGHT", Decimal(1), Decimal("12.5"), True),
    ]
    assert first.total == Decimal("33.75")  # 20.00 + 6.25% tax + 12.50 freight
    assert await desk.find_sale(draft.reference) == first
    assert await desk.find_sale(f"NO-{unique}") is None

    (row,) = await client.read(
        "sale.sale", [int(first.sale_id)], ["shipment_address", "invoice_address", "description", "invoice_method"]
    )
    assert row["shipment_address"] != row["invoice_address"]
    assert row["description"] == f"PO PO-{unique}"
    assert row["invoice_method"] == "fulfillment"
    # The same ship-to on the next order reuses the address the first one added.
    second = await desk.create_sale(order(f"SO-CS2-{unique}", party, (sku, 1, "5"), ship_to=ship_to))
    (row2,) = await client.read("sale.sale", [int(second.sale_id)], ["shipment_address"])
    assert row2["shipment_address"] == row["shipment_address"]
    assert len(await client.search("party.address", [("party", "=", int(party))])) == 2


async def test_a_sale_that_tryton_cannot_take_is_refused_before_anything_is_created(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"RF-{unique}"
    await tryton_stock.create_item(client, sku, "Clamp", "2")
    party = await customer(client, f"Refused {unique}")
    (homeless,) = await client.create("party.party", [{"name": f"No Address {unique}"}])

    assert f"no active item NO-{unique}" in await refused(
        desk.create_sale(order(f"SO-RF1-{unique}", party, (f"NO-{unique}", 1, "1")))
    )
    bad_tax = SaleDraft(
        f"SO-RF2-{unique}", party, "USD", [SaleLineDraft(sku, Decimal(1), Decimal(2), tax_codes=("VAT 99%",))]
    )
    assert "no tax named 'VAT 99%'" in await refused(desk.create_sale(bad_tax))
    assert "no currency 'XXX'" in await refused(
        desk.create_sale(order(f"SO-RF3-{unique}", party, (sku, 1, "2"), currency="XXX"))
    )
    assert "has no address in Tryton" in await refused(
        desk.create_sale(order(f"SO-RF4-{unique}", str(homeless), (sku, 1, "2")))
    )
    assert await client.search("sale.sale", [("reference", "like", f"SO-RF%-{unique}")]) == []


async def test_a_confirmed_sale_ships_in_full_and_its_invoice_posts(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"FS-{unique}"
    await tryton_stock.create_item(client, sku, "Valve", "8")
    await tryton_stock.receive_stock(client, {sku: 10})
    party = await customer(client, f"Full {unique}")
    created = await desk.create_sale(order(f"SO-FS-{unique}", party, (sku, 4, "8")))

    confirmed = await desk.confirm_sale(created.sale_id)
    assert confirmed.state is SaleState.PROCESSING
    assert await desk.confirm_sale(created.sale_id) == confirmed
    (waiting,) = confirmed.shipments
    assert (waiting.kind, waiting.state, list(waiting.lines)) == (
        ShipmentKind.WAREHOUSE,
        ShipmentState.WAITING,
        [ShipmentLine(sku, Decimal(4))],
    )

    result = await desk.dispatch(created.sale_id, ship_partial=False)
    assert result.shipped is not None
    assert (result.shipped.shipment_id, result.shipped.state) == (waiting.shipment_id, ShipmentState.DONE)
    assert list(result.shipped.lines) == [ShipmentLine(sku, Decimal(4))]
    assert result.shipped.shipped_on is not None
    assert (list(result.backordered), result.backorder_shipment_id) == ([], None)
    assert await desk.dispatch(created.sale_id, ship_partial=False) == result  # shipped once, answered again
    assert await available(desk, sku) == Decimal(6)

    (invoice,) = await desk.invoice(created.sale_id)
    assert (invoice.state, invoice.total, invoice.tax_amount, invoice.currency) == (
        "posted",
        Decimal("34.00"),
        Decimal("2.00"),
        "USD",
    )
    assert invoice.number
    assert [(line.sku, line.quantity, line.amount) for line in invoice.lines] == [(sku, Decimal(4), Decimal("32.00"))]
    assert await desk.invoice(created.sale_id) == [invoice]
    sale = await desk.read_sale(created.sale_id)
    assert [line.shipped_quantity for line in sale.lines] == [Decimal(4)]
    assert "no sale 999999" in await refused(desk.read_sale("999999"))


async def test_a_partial_dispatch_backorders_the_rest_and_ships_it_when_stock_arrives(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"PS-{unique}"
    await tryton_stock.create_item(client, sku, "Filter", "6")
    await tryton_stock.receive_stock(client, {sku: 3})
    party = await customer(client, f"Partial {unique}")
    sale = await desk.confirm_sale((await desk.create_sale(order(f"SO-PS-{unique}", party, (sku, 5, "6")))).sale_id)

    first = await desk.dispatch(sale.sale_id, ship_partial=True)
    assert first.shipped is not None
    assert list(first.shipped.lines) == [ShipmentLine(sku, Decimal(3))]
    assert list(first.backordered) == [ShipmentLine(sku, Decimal(2))]
    assert first.backorder_shipment_id not in (None, first.shipped.shipment_id)

    no_stock = await desk.dispatch(sale.sale_id, ship_partial=True)
    assert (no_stock.shipped, list(no_stock.backordered)) == (None, [ShipmentLine(sku, Decimal(2))])
    assert no_stock.backorder_shipment_id == first.backorder_shipment_id

    await tryton_stock.receive_stock(client, {sku: 5})
    rest = await desk.dispatch(sale.sale_id, ship_partial=True)
    assert rest.shipped is not None
    assert (rest.shipped.shipment_id, list(rest.shipped.lines)) == (
        first.backorder_shipment_id,
        [ShipmentLine(sku, Decimal(2))],
    )
    assert (list(rest.backordered), rest.backorder_shipment_id) == ([], None)
    invoices = await desk.invoice(sale.sale_id)
    assert [(i.state, i.total) for i in invoices] == [("posted", Decimal("19.12")), ("posted", Decimal("12.75"))]
    done = await desk.read_sale(sale.sale_id)
    assert [line.shipped_quantity for line in done.lines] == [Decimal(5)]
    assert [s.state for s in done.shipments] == [ShipmentState.DONE, ShipmentState.DONE]
    assert await available(desk, sku) == Decimal(3)


async def test_a_held_order_ships_nothing_and_keeps_no_stock_reserved(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"HO-{unique}"
    await tryton_stock.create_item(client, sku, "Pulley", "9")
    await tryton_stock.receive_stock(client, {sku: 3})
    party = await customer(client, f"Held {unique}")
    sale = await desk.confirm_sale((await desk.create_sale(order(f"SO-HO-{unique}", party, (sku, 5, "9")))).sale_id)

    held = await desk.dispatch(sale.sale_id, ship_partial=False)
    (shipment,) = sale.shipments
    assert (held.shipped, list(held.backordered), held.backorder_shipment_id) == (
        None,
        [ShipmentLine(sku, Decimal(5))],
        shipment.shipment_id,
    )
    assert await available(desk, sku) == Decimal(3)
    now = await desk.read_sale(sale.sale_id)
    assert [(s.state, list(s.lines)) for s in now.shipments] == [
        (ShipmentState.WAITING, [ShipmentLine(sku, Decimal(5))])
    ]
    assert [line.shipped_quantity for line in now.lines] == [Decimal(0)]

    quotation = await desk.create_sale(order(f"SO-HO2-{unique}", party, (sku, 1, "9")))
    assert "is quotation and cannot be dispatched; confirm it first" in await refused(
        desk.dispatch(quotation.sale_id, ship_partial=True)
    )


async def test_a_drop_ship_sale_is_bought_shipped_by_the_supplier_and_invoiced(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    sku = f"DR-{unique}"
    await tryton_stock.create_item(client, sku, "Water heater", "450")
    supplier = await tryton_stock.create_supplier(client, f"Heaters Ltd {unique}")
    await tryton_stock.make_drop_ship_item(client, sku, supplier, 5, unit_cost="300")
    party = await customer(client, f"Drop {unique}")
    created = await desk.create_sale(order(f"SO-DR-{unique}", party, (sku, 2, "450")))
    assert [line.sourcing for line in created.lines] == [Sourcing.DROP_SHIP]

    sale = await desk.confirm_sale(created.sale_id)
    assert (sale.shipments, sale.purchases) == ([], [])
    assert "no open drop shipment" in await refused(desk.complete_drop_shipment(sale.sale_id, []))

    (purchase,) = await desk.order_drop_ship(sale.sale_id)
    assert (purchase.state, purchase.supplier_id, purchase.supplier_name) == (
        "processing",
        str(supplier),
        f"Heaters Ltd {unique}",
    )
    assert (list(purchase.lines), dict(purchase.unit_costs), purchase.currency) == (
        [ShipmentLine(sku, Decimal(2))],
        {sku: Decimal(300)},
        "USD",
    )
    assert purchase.number
    assert await desk.order_drop_ship(sale.sale_id) == [purchase]

    # The supplier ships one now and one later: Tryton opens a second drop shipment for the rest.
    first = await desk.complete_drop_shipment(sale.sale_id, [ShipmentLine(sku, Decimal(1))])
    assert (first.kind, first.state, list(first.lines)) == (
        ShipmentKind.DROP_SHIP,
        ShipmentState.DONE,
        [ShipmentLine(sku, Decimal(1))],
    )
    assert first.shipped_on is not None
    rest = await desk.complete_drop_shipment(sale.sale_id, [ShipmentLine(sku, Decimal(1))])
    assert rest.shipment_id != first.shipment_id
    assert (rest.state, list(rest.lines)) == (ShipmentState.DONE, [ShipmentLine(sku, Decimal(1))])
    assert await desk.complete_drop_shipment(sale.sale_id, [ShipmentLine(sku, Decimal(1))]) == rest
    invoices = await desk.invoice(sale.sale_id)
    assert [(i.state, i.total) for i in invoices] == [("posted", Decimal("478.12")), ("posted", Decimal("478.12"))]
    done = await desk.read_sale(sale.sale_id)
    assert [line.shipped_quantity for line in done.lines] == [Decimal(2)]
    assert [(s.kind, s.state) for s in done.shipments] == [(ShipmentKind.DROP_SHIP, ShipmentState.DONE)] * 2


async def test_drop_ship_needs_a_supplier(desk: TrytonOrderDesk, client: TrytonClient, unique: str) -> None:
    sku = f"NS-{unique}"
    product = await tryton_stock.create_item(client, sku, "Boiler", "1200")
    (row,) = await client.read("product.product", [product], ["template"])
    await client.write("product.template", [row["template"]], {"supply_on_sale": "always"})
    party = await customer(client, f"Unsourced {unique}")
    sale = await desk.confirm_sale((await desk.create_sale(order(f"SO-NS-{unique}", party, (sku, 1, "1200")))).sale_id)

    assert f"knows no supplier for {sku}" in await refused(desk.order_drop_ship(sale.sale_id))


async def test_cancelling_a_confirmed_sale_releases_its_stock_and_its_drop_ship_request(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    stocked, dropped = f"CX-{unique}", f"CD-{unique}"
    await tryton_stock.create_item(client, stocked, "Motor", "40")
    await tryton_stock.create_item(client, dropped, "Generator", "700")
    supplier = await tryton_stock.create_supplier(client, f"Generators {unique}")
    await tryton_stock.make_drop_ship_item(client, dropped, supplier, 9)
    await tryton_stock.receive_stock(client, {stocked: 10})
    party = await customer(client, f"Cancel {unique}")
    draft = order(f"SO-CX-{unique}", party, (stocked, 4, "40"), (dropped, 1, "700"), freight_amount=Decimal(25))
    sale = await desk.confirm_sale((await desk.create_sale(draft)).sale_id)
    (shipment,) = sale.shipments
    await reserve(client, shipment.shipment_id)
    assert await available(desk, stocked) == Decimal(6)

    cancelled = await desk.cancel_sale(sale.sale_id)
    assert cancelled.state is SaleState.CANCELLED
    assert await available(desk, stocked) == Decimal(10)
    assert [s.state for s in cancelled.shipments] == [ShipmentState.CANCELLED]
    assert [p.state for p in cancelled.purchases] == ["cancelled"]
    assert [i.state for i in cancelled.invoices] == ["cancelled"]  # the freight, billed on confirmation
    assert await desk.cancel_sale(sale.sale_id) == cancelled
    assert await desk.find_sale(draft.reference) is None
    assert "is cancelled in Tryton and cannot be confirmed" in await refused(desk.confirm_sale(sale.sale_id))
    assert "is cancelled and cannot be dispatched" in await refused(desk.dispatch(sale.sale_id, ship_partial=True))

    # The order number is free again: a new sale for it is a new sale.
    recreated = await desk.create_sale(draft)
    assert recreated.sale_id != sale.sale_id
    quotation = await desk.cancel_sale(recreated.sale_id)
    assert quotation.state is SaleState.CANCELLED


async def test_a_sale_that_shipped_everything_or_whose_purchase_is_confirmed_is_not_cancelled(
    desk: TrytonOrderDesk, client: TrytonClient, unique: str
) -> None:
    stocked, dropped = f"NX-{unique}", f"ND-{unique}"
    await tryton_stock.create_item(client, stocked, "Belt", "15")
    await tryton_stock.create_item(client, dropped, "Chiller", "5000")
    supplier = await tryton_stock.create_supplier(client, f"Chillers {unique}")
    await tryton_stock.make_drop_ship_item(client, dropped, supplier, 20)  # bought at 60% of its list price
    await tryton_stock.receive_stock(client, {stocked: 5})
    party = await customer(client, f"Too Late {unique}")

    shipped = await desk.confirm_sale(
        (await desk.create_sale(order(f"SO-NX-{unique}", party, (stocked, 2, "15")))).sale_id
    )
    await desk.dispatch(shipped.sale_id, ship_partial=False)
    assert "has shipped everything and cannot be cancelled" in await refused(desk.cancel_sale(shipped.sale_id))

    bought = await desk.confirm_sale(
        (await desk.create_sale(order(f"SO-ND-{unique}", party, (dropped, 1, "5000")))).sale_id
    )
    (purchase,) = await desk.order_drop_ship(bought.sale_id)
    assert purchase.unit_costs == {dropped: Decimal(3000)}
    assert "is confirmed with the supplier" in await refused(desk.cancel_sale(bought.sale_id))
    assert (await desk.read_sale(bought.sale_id)).state is SaleState.PROCESSING


async def test_the_expected_invoice_tax_warnings_pass_even_when_warnings_are_not_acknowledged(
    strict_connector: TrytonConnector, client: TrytonClient, unique: str
) -> None:
    desk = strict_connector.order_desk()
    sku = f"WN-{unique}"
    await tryton_stock.create_item(client, sku, "Spring", "1")
    await tryton_stock.receive_stock(client, {sku: 1})
    party = await customer(client, f"Warned {unique}")
    sale = await desk.confirm_sale((await desk.create_sale(order(f"SO-WN-{unique}", party, (sku, 2, "1")))).sale_id)
    await desk.dispatch(sale.sale_id, ship_partial=True)
    await tryton_stock.receive_stock(client, {sku: 1})
    await desk.dispatch(sale.sale_id, ship_partial=True)
    drafts = (await desk.read_sale(sale.sale_id)).invoices
    assert [i.state for i in drafts] == ["draft", "draft"]
    # Tryton warns, per invoice, that the line's tax is not the item's default tax; taken as it comes, posting stops.
    ids = [int(i.invoice_id) for i in drafts]
    assert "stopped at a warning" in await refused(strict_connector.client.execute("account.invoice", "post", ids))

    assert [i.state for i in await desk.invoice(sale.sale_id)] == ["posted", "posted"]


async def test_a_tryton_without_a_clear_warehouse_or_company_is_a_configuration_error(
    make_settings: Callable[..., TrytonSettings], client: TrytonClient, unique: str, tmp_path: Path
) -> None:
    zones = await client.create(
        "stock.location", [{"name": f"{zone} {unique}", "type": "storage"} for zone in ("In", "Out", "Store")]
    )
    (second,) = await client.create(
        "stock.location",
        [
            {
                "name": f"Second warehouse {unique}",
                "type": "warehouse",
                "input_location": zones[0],
                "output_location": zones[1],
                "storage_location": zones[2],
            }
        ],
    )
    try:
        fresh = TrytonOrderDesk(SYSTEM, client)
        assert "cannot tell which Tryton warehouse" in await refused(
            fresh.item_supply(["FREIGHT"]), ErrorKind.CONFIGURATION
        )
    finally:
        await client.write("stock.location", [second, *zones], {"active": False})

    secret = tmp_path / "clerk.password"
    secret.write_text(f"clerk-{unique}-password")
    # Tryton gives a new user the only company there is; this clerk is explicitly given none.
    user = {"name": f"Clerk {unique}", "login": f"clerk-{unique}", "password": secret.read_text(), "company": None}
    await client.create("res.user", [user])
    clerk = TrytonClient(make_settings(username=f"clerk-{unique}", password=SecretRef(f"file:{secret}")))
    try:
        assert "has no company" in await refused(
            TrytonOrderDesk(SYSTEM, clerk).customer_standing("1"), ErrorKind.CONFIGURATION
        )
    finally:
        await clerk.close()
