"""The Salesforce connector's sales orders against the sandbox org: activated Orders and won Opportunities captured
with their lines (polling and CDC) and mapped, and the ERP's status written back and read (OrderStatusBoard)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crossdock.connectors.salesforce.connector import SalesforceConnector, mapping_catalog
from crossdock.mapping import MappingCatalog, MappingError
from crossdock.model.sales import SalesOrder
from crossdock.ports.connector import ChangeBatch, ConnectorError, ErrorKind
from crossdock.ports.orders import OrderLineStatus, OrderStatusBoard, OrderStatusReport
from tests.integration.salesforce import conftest as salesforce
from tests.integration.salesforce.conftest import Sandbox

sandbox = salesforce.sandbox  # the connector tests' fixture: a fresh org served in process

CATALOG: MappingCatalog = mapping_catalog("crm")
CDC = {"mode": "cdc", "cdc_transport": "sandbox", "cdc_wait_s": 0}


def mapped(payload: dict[str, Any], canonical_id: str = "so_1") -> SalesOrder:
    """The canonical sales order the packaged inbound spec makes of a captured payload."""
    return SalesOrder.model_validate(
        {**CATALOG.get("crm", "sales_order", "inbound").apply(payload), "id": canonical_id}
    )


@dataclass
class Org:
    """A customer with a shipping address, two items in a wholesale price book, and a way to write records."""

    connector: SalesforceConnector
    account: str
    pricebook: str
    entries: dict[str, str]

    async def create(self, sobject: str, **fields: Any) -> str:
        answer = await self.connector.client.request("POST", f"sobjects/{sobject}", body=fields)
        return str(answer["id"])

    async def update(self, sobject: str, record_id: str, **fields: Any) -> None:
        await self.connector.client.request("PATCH", f"sobjects/{sobject}/{record_id}", body=fields)

    async def order(self, *, lines: list[tuple[str, float, float]], **fields: Any) -> tuple[str, list[str]]:
        """A draft order with its items: (sku, quantity, unit price)."""
        order = await self.create(
            "Order",
            AccountId=self.account,
            EffectiveDate="2026-03-02",
            Pricebook2Id=self.pricebook,
            PoNumber="PO-7781",
            ShippingStreet="1200 Peachtree Industrial Blvd\nDock 4",
            ShippingCity="Atlanta",
            ShippingState="GA",
            ShippingPostalCode="30341",
            ShippingCountry="US",
            **fields,
        )
        items = [
            await self.create(
                "OrderItem", OrderId=order, PricebookEntryId=self.entries[sku], Quantity=quantity, UnitPrice=price
            )
            for sku, quantity, price in lines
        ]
        return order, items

    async def opportunity(self, *, stage: str, lines: list[tuple[str, float, float]]) -> tuple[str, list[str]]:
        deal = await self.create(
            "Opportunity", Name="Spring restock", AccountId=self.account, StageName=stage, CloseDate="2026-03-20",
            Crossdock_Id__c="opp_spring",
        )  # fmt: skip
        items = [
            await self.create(
                "OpportunityLineItem",
                OpportunityId=deal,
                PricebookEntryId=self.entries[sku],
                Quantity=quantity,
                UnitPrice=price,
            )
            for sku, quantity, price in lines
        ]
        return deal, items


async def make_org(sandbox: Sandbox, *, account_id: str | None = "cus_acme", **settings: Any) -> Org:
    connector = sandbox.make_connector(**settings)
    org = Org(connector, "", "", {})
    org.account = await org.create(
        "Account", Name="Acme Hardware", Crossdock_Id__c=account_id, Sales_Channel__c="Field Sales",
        ShippingStreet="1 Main St", ShippingCity="Atlanta", ShippingState="GA", ShippingPostalCode="30301",
        ShippingCountry="US",
    )  # fmt: skip
    rows = await connector.client.query_all("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    standard = str(rows[0]["Id"])
    org.pricebook = await org.create("Pricebook2", Name="Wholesale", IsActive=True)
    for sku, unit in (("HB-M8", "Case"), ("HN-M8", None)):
        product = await org.create(
            "Product2", Name=f"Hex {sku}", ProductCode=sku, IsActive=True, QuantityUnitOfMeasure=unit,
            Crossdock_Id__c=f"itm_{sku.lower()}",
        )  # fmt: skip
        await org.create("PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=12, IsActive=True)
        org.entries[sku] = await org.create(
            "PricebookEntry", Pricebook2Id=org.pricebook, Product2Id=product, UnitPrice=10, IsActive=True
        )
    return org


async def drain(connector: SalesforceConnector, cursor: str | None, limit: int = 100) -> ChangeBatch:
    """Read until the capture has caught up; all records read, and the cursor to go on from."""
    records = []
    while True:
        batch = await connector.read_changes("sales_order", cursor, limit)
        records += batch.records
        cursor = batch.next_cursor
        if not batch.more:
            return ChangeBatch(records, cursor)


async def test_an_order_is_captured_when_it_is_activated_with_its_lines(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    order, items = await org.order(
        lines=[("HB-M8", 3, 9.5), ("HN-M8", 200, 0.12)], Type="Drop Ship", Description="Call before delivery"
    )
    draft = await drain(org.connector, None)
    assert draft.records == []  # a draft is not a submitted order
    sandbox.clock.advance(2)
    await org.update("Order", order, Status="Activated")

    activated = await drain(org.connector, draft.next_cursor)
    [record] = activated.records
    assert record.local_id == order
    assert record.canonical_id is None  # Crossdock has not stamped it yet
    assert record.payload["Type"] == "Drop Ship"  # kept for whoever needs the customer's request
    assert [line["Id"] for line in record.payload["OrderItems"]["records"]] == items
    sales_order = mapped(record.payload)
    assert sales_order.number == f"SF-{record.payload['OrderNumber']}"
    assert (sales_order.customer_id, sales_order.customer_po, sales_order.order_date) == (
        "cus_acme",
        "PO-7781",
        date(2026, 3, 2),
    )
    assert (sales_order.status.value, sales_order.channel, sales_order.currency) == ("submitted", "field_sales", "USD")
    assert sales_order.notes == "Call before delivery"
    assert sales_order.ship_to is not None
    assert sales_order.ship_to.lines == ["1200 Peachtree Industrial Blvd", "Dock 4"]
    assert (sales_order.ship_to.city, sales_order.ship_to.region, sales_order.ship_to.postal_code) == (
        "Atlanta",
        "GA",
        "30341",
    )
    assert [(line.line_number, line.item_id, line.sku) for line in sales_order.lines] == [
        (1, "itm_hb-m8", "HB-M8"),
        (2, "itm_hn-m8", "HN-M8"),
    ]
    assert [(line.ordered_quantity.value, line.ordered_quantity.uom) for line in sales_order.lines] == [
        (Decimal(3), "CS"),
        (Decimal(200), "EA"),
    ]
    assert [line.unit_price.amount for line in sales_order.lines] == [Decimal("9.50"), Decimal("0.12")]
    assert await org.connector.order_line_ids(order) == items  # line n is items[n - 1]

    quiet = await drain(org.connector, activated.next_cursor)
    assert quiet.records == []

    # A line edit that leaves the total alone does not touch the order in Salesforce; the capture reads it again.
    sandbox.clock.advance(2)
    await org.update("OrderItem", items[1], Description="Bag of 200")
    edited = await drain(org.connector, quiet.next_cursor)
    assert [record.local_id for record in edited.records] == [order]
    assert mapped(edited.records[0].payload).lines[1].description == "Bag of 200"
    assert edited.records[0].changed_at > record.payload["SystemModstamp"]

    # Once Crossdock stamped its canonical id into the order, a read hands it over.
    sandbox.clock.advance(2)
    await org.connector.stamp_canonical_ids("sales_order", [(order, "so_1")])
    stamped = await drain(org.connector, edited.next_cursor)
    assert [(record.local_id, record.canonical_id) for record in stamped.records] == [(order, "so_1")]
    assert mapped(stamped.records[0].payload) == mapped(edited.records[0].payload)  # nothing new: an echo


async def test_orders_are_read_in_pages_without_losing_or_repeating_one(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    orders = [(await org.order(lines=[("HB-M8", n + 1, 10)], Status="Draft"))[0] for n in range(5)]
    for order in orders:
        await org.update("Order", order, Status="Activated")
    pages = []
    cursor = None
    for _ in range(10):
        batch = await org.connector.read_changes("sales_order", cursor, 2)
        pages.append([record.local_id for record in batch.records])
        cursor = batch.next_cursor
        if not batch.more:
            break
    seen = [order for page in pages for order in page]
    assert sorted(seen) == sorted(orders)
    assert all(len(page) <= 2 for page in pages)


async def test_a_won_opportunity_with_products_is_a_sales_order(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    empty = await org.create(
        "Opportunity", Name="Services only", AccountId=org.account, StageName="Closed Won", CloseDate="2026-03-20"
    )
    deal, items = await org.opportunity(stage="Negotiation/Review", lines=[("HN-M8", 500, 0.11), ("HB-M8", 2, 9)])
    open_deals = await drain(org.connector, None)
    assert open_deals.records == []  # neither an open deal nor a won one without products is an order
    sandbox.clock.advance(2)
    await org.update("Opportunity", deal, StageName="Closed Won")

    won = await drain(org.connector, open_deals.next_cursor)
    [record] = won.records
    assert (record.local_id, record.canonical_id) == (deal, None)  # the opportunity's own id is not the order's
    assert record.payload["attributes"]["type"] == "Opportunity"
    assert record.payload["OrderNumber"] == f"OPP-{deal}"
    sales_order = mapped(record.payload)
    assert sales_order.number == f"SF-OPP-{deal}"
    assert sales_order.order_date == date(2026, 3, 20)
    assert sales_order.ship_to is not None
    assert (sales_order.ship_to.lines, sales_order.ship_to.postal_code) == (["1 Main St"], "30301")
    assert [(line.line_number, line.sku, line.ordered_quantity.value) for line in sales_order.lines] == [
        (1, "HN-M8", Decimal(500)),
        (2, "HB-M8", Decimal(2)),
    ]
    assert await org.connector.order_line_ids(deal) == items
    assert empty not in {record.local_id for record in won.records}

    sandbox.clock.advance(2)
    await org.connector.stamp_canonical_ids("sales_order", [(deal, "so_2")])  # not stamped: it is the opportunity's
    rows = await org.connector.client.query_all(f"SELECT Crossdock_Id__c FROM Opportunity WHERE Id = '{deal}'")
    assert rows[0]["Crossdock_Id__c"] == "opp_spring"


async def test_an_order_of_an_account_without_a_canonical_id_is_refused_by_name(sandbox: Sandbox) -> None:
    org = await make_org(sandbox, account_id=None)
    await org.order(lines=[("HB-M8", 1, 10)], Status="Activated")
    [record] = (await drain(org.connector, None)).records
    with pytest.raises(MappingError, match=r"customer_id.*Account\.Crossdock_Id__c") as refused:
        mapped(record.payload)
    assert record.local_id in str(refused.value)


async def test_cdc_capture_reads_orders_named_by_their_events_or_their_lines(sandbox: Sandbox) -> None:
    org = await make_org(sandbox, capture=CDC)
    start = await org.connector.read_changes("sales_order", None, 100)  # -1: from now on
    assert start.records == []
    order, items = await org.order(lines=[("HB-M8", 3, 9.5)])
    drafts = await org.connector.read_changes("sales_order", start.next_cursor, 100)
    assert drafts.records == []
    await org.update("Order", order, Status="Activated")
    activated = await org.connector.read_changes("sales_order", drafts.next_cursor, 100)
    assert [record.local_id for record in activated.records] == [order]
    assert mapped(activated.records[0].payload).lines[0].sku == "HB-M8"

    await org.update("OrderItem", items[0], Description="Zinc plated")
    edited = await org.connector.read_changes("sales_order", activated.next_cursor, 100)
    assert [record.local_id for record in edited.records] == [order]
    assert edited.records[0].payload["OrderItems"]["records"][0]["Description"] == "Zinc plated"

    deal, _ = await org.opportunity(stage="Closed Won", lines=[("HN-M8", 100, 0.1)])
    won = await org.connector.read_changes("sales_order", edited.next_cursor, 100)
    assert [record.local_id for record in won.records] == [deal]
    assert mapped(won.records[0].payload).number == f"SF-OPP-{deal}"
    assert int(won.next_cursor or 0) > int(edited.next_cursor or 0)


async def test_the_status_of_an_order_round_trips(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    order, items = await org.order(lines=[("HB-M8", 4, 9.5), ("HN-M8", 200, 0.12), ("HB-M8", 1, 9.5)])
    await org.update("Order", order, Status="Activated")
    board = org.connector
    assert isinstance(board, OrderStatusBoard)
    fresh = await board.read_order_status(order)
    assert (fresh.status, fresh.lines, fresh.tracking) == ("submitted", [], [])
    captured = await drain(org.connector, None)
    sandbox.clock.advance(2)

    report = OrderStatusReport(
        order_local_id=order,
        status="partially_shipped",
        erp_order_number="SO-20417",
        promised_date=date(2026, 3, 9),
        reason="backordered: HN-M8 x150",
        tracking=["1Z999AA10123456784", "1Z999AA10123456785"],
        invoice_numbers=["INV-5531"],
        invoice_state="posted",
        lines=[
            OrderLineStatus("1", Decimal(4), Decimal(0)),
            OrderLineStatus("2", Decimal(50), Decimal(150)),
            OrderLineStatus(items[2], Decimal("0.5"), Decimal(0)),
        ],
    )
    await sandbox.reset_stats()
    await board.report_order_status(report)
    assert (await sandbox.stats())["calls"] == 2  # the line ids by number, then one composite update
    shown = await board.read_order_status(order)
    by_id = [replace(line, line_local_id=items[n]) for n, line in enumerate(report.lines)]
    assert shown == replace(report, lines=by_id)
    rows = await org.connector.client.query_all(f"SELECT ERP_Status__c, Status FROM Order WHERE Id = '{order}'")
    assert (rows[0]["ERP_Status__c"], rows[0]["Status"]) == ("Partially Shipped", "Activated")  # as a rep reads it
    # The write moved the order's timestamp: the capture reads it again, and maps it as before (an echo, not news).
    reread = await drain(org.connector, captured.next_cursor)
    assert [record.local_id for record in reread.records] == [order]
    assert mapped(reread.records[0].payload) == mapped(captured.records[0].payload)

    # By ids, a report is one call; the same report twice leaves the same status.
    by_ids = replace(report, lines=by_id)
    await sandbox.reset_stats()
    await board.report_order_status(by_ids)
    await board.report_order_status(by_ids)
    assert (await sandbox.stats())["calls"] == 2
    assert await board.read_order_status(order) == by_ids

    # A report is the whole status: what it leaves out is cleared.
    await board.report_order_status(OrderStatusReport(order_local_id=order, status="shipped"))
    cleared = await board.read_order_status(order)
    assert (cleared.status, cleared.erp_order_number, cleared.tracking, cleared.reason) == ("shipped", None, [], None)
    assert len(cleared.lines) == 3  # line quantities stay until a report names the lines again


async def test_the_status_of_a_won_opportunity_goes_onto_the_opportunity(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    deal, items = await org.opportunity(stage="Closed Won", lines=[("HN-M8", 500, 0.11), ("HB-M8", 2, 9)])
    report = OrderStatusReport(
        order_local_id=deal,
        status="accepted",
        erp_order_number="SO-20418",
        lines=[OrderLineStatus("1", Decimal(0), Decimal(500)), OrderLineStatus("2", Decimal(2), Decimal(0))],
    )
    await org.connector.report_order_status(report)
    shown = await org.connector.read_order_status(deal)
    assert (shown.status, shown.erp_order_number) == ("accepted", "SO-20418")
    assert [(line.line_local_id, line.shipped_quantity, line.backordered_quantity) for line in shown.lines] == [
        (items[0], Decimal(0), Decimal(500)),
        (items[1], Decimal(2), Decimal(0)),
    ]
    rows = await org.connector.client.query_all(f"SELECT StageName, IsWon FROM Opportunity WHERE Id = '{deal}'")
    assert (rows[0]["StageName"], rows[0]["IsWon"]) == ("Closed Won", True)


async def test_long_lists_are_cut_to_the_field_and_refusals_are_classified(sandbox: Sandbox) -> None:
    org = await make_org(sandbox)
    order, items = await org.order(lines=[("HB-M8", 1, 10)], Status="Activated")
    tracking = [f"1Z999AA1012345{n:04d}" for n in range(20)]
    await org.connector.report_order_status(OrderStatusReport(order, "shipped", tracking=tracking))
    shown = await org.connector.read_order_status(order)
    assert shown.tracking == tracking[: len(shown.tracking)]
    assert 10 < len(shown.tracking) < 20
    rows = await org.connector.client.query_all(f"SELECT Tracking_Numbers__c FROM Order WHERE Id = '{order}'")
    text = rows[0]["Tracking_Numbers__c"]
    assert len(text) <= 255
    assert text.endswith(f", +{20 - len(shown.tracking)} more")

    cases: list[tuple[OrderStatusReport, str]] = [
        (OrderStatusReport("0015g00000000001AAA", "accepted"), "not the id of a Salesforce Order"),
        (OrderStatusReport(order, "accepted", lines=[OrderLineStatus("2", Decimal(1), Decimal(0))]), "no line 2"),
        (OrderStatusReport(order, "accepted", lines=[OrderLineStatus("a-line", Decimal(1), Decimal(0))]), "neither"),
        (
            OrderStatusReport(order, "accepted", lines=[OrderLineStatus(items[0], Decimal(1), Decimal(0))] * 2),
            "twice",
        ),
    ]
    for report, message in cases:
        with pytest.raises(ConnectorError, match=message) as refused:
            await org.connector.report_order_status(report)
        assert refused.value.kind is ErrorKind.DATA_QUALITY

    await sandbox.fault(kind="unable_to_lock_row", endpoint="composite/sobjects", times=1)
    with pytest.raises(ConnectorError, match="UNABLE_TO_LOCK_ROW") as locked:
        await org.connector.report_order_status(OrderStatusReport(order, "invoiced"))
    assert locked.value.kind is ErrorKind.TRANSIENT

    draft, _ = await org.order(lines=[("HB-M8", 1, 10)])
    await org.connector.client.request("DELETE", f"sobjects/Order/{draft}")
    with pytest.raises(ConnectorError, match="ENTITY_IS_DELETED") as deleted:
        await org.connector.report_order_status(OrderStatusReport(draft, "accepted"))
    assert deleted.value.kind is ErrorKind.DATA_QUALITY
    with pytest.raises(ConnectorError, match="not in Salesforce") as gone:
        await org.connector.read_order_status(draft)
    assert gone.value.kind is ErrorKind.DATA_QUALITY
