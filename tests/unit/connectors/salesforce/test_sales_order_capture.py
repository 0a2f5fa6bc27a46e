"""Sales order capture and status writes against recorded REST shapes: the queries sent, child subquery paging,
the cursor, and what a status report writes."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import respx

from crossdock.connectors.salesforce.connector import SalesforceConnector
from crossdock.connectors.salesforce.orders import joined, status_values
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.orders import OrderLineStatus, OrderStatusBoard, OrderStatusReport

from .conftest import MakeClient
from .sf_support import API

ORDER_ID = "8015g00000ABcdEAAT"
_SINCE = re.compile(r"SystemModstamp >= (\S+)")
NEXT_LINES = "/services/data/v62.0/query/01g5g00000CHILDAAA-2000"


def item(n: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "OrderItem", "url": f"/services/data/v62.0/sobjects/OrderItem/8025g{n:013d}"},
        "Id": f"8025g{n:013d}",
        "Quantity": 1.0,
        "UnitPrice": 2.5,
        "CurrencyIsoCode": "USD",
        "Description": None,
        "Product2": {"ProductCode": f"SKU-{n}", "Crossdock_Id__c": f"itm_{n}", "QuantityUnitOfMeasure": None},
    }


class OrderOrg:
    """Answers the capture's queries: one activated order whose lines Salesforce pages in two batches."""

    def __init__(self, router: respx.Router) -> None:
        self.queries: list[str] = []
        self.writes: list[Any] = []
        router.get(f"{API}/query").mock(side_effect=self._query)
        router.get(f"https://acme.my.salesforce.com{NEXT_LINES}").respond(
            200, json={"totalSize": 3, "done": True, "records": [item(3)]}
        )
        router.patch(f"{API}/composite/sobjects").mock(side_effect=self._write)

    def _query(self, request: httpx.Request) -> httpx.Response:
        soql = request.url.params["q"]
        self.queries.append(soql)
        records: list[dict[str, Any]] = []
        since = _SINCE.search(soql)
        if " FROM Order WHERE" in soql and (since is None or since.group(1) <= "2026-11-22T10:05:00Z"):
            lines = {"totalSize": 3, "done": False, "nextRecordsUrl": NEXT_LINES, "records": [item(1), item(2)]}
            records = [
                {
                    "attributes": {"type": "Order"},
                    "Id": ORDER_ID,
                    "SystemModstamp": "2026-11-22T10:05:00.000+0000",
                    "OrderNumber": "00000107",
                    "OrderItems": lines,
                }
            ]
        elif soql.startswith("SELECT Id FROM OrderItem"):
            records = [{"Id": item(n)["Id"]} for n in (1, 2, 3)]
        headers = {"Date": "Sun, 22 Nov 2026 10:10:00 GMT"}
        return httpx.Response(200, json={"totalSize": len(records), "done": True, "records": records}, headers=headers)

    def _write(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        self.writes.append(body)
        answers = [{"id": record["Id"], "success": True, "errors": []} for record in body["records"]]
        if any(record.get("Backordered_Quantity__c", 0) < 0 for record in body["records"]):
            answers[-1] = {
                "id": body["records"][-1]["Id"],
                "success": False,
                "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access"}],
            }
        return httpx.Response(200, json=answers)


@pytest.fixture
def org(router: respx.Router) -> OrderOrg:
    return OrderOrg(router)


@pytest.fixture
def connector(make_client: MakeClient) -> SalesforceConnector:
    client = make_client(capture={"mode": "poll", "overlap_s": 60})
    return SalesforceConnector("crm", client.settings, client=client)


async def test_the_capture_reads_submitted_orders_with_every_line_numbered(
    connector: SalesforceConnector, org: OrderOrg
) -> None:
    batch = await connector.read_changes("sales_order", None, 50)
    [record] = batch.records
    lines = record.payload["OrderItems"]["records"]
    assert [(line["Id"], line["attributes"]["lineNumber"]) for line in lines] == [(item(n)["Id"], n) for n in (1, 2, 3)]
    assert record.payload["OrderItems"]["done"] is True
    orders, order_lines, opportunities, opportunity_lines = org.queries
    assert orders.startswith("SELECT Id, SystemModstamp, OrderNumber, Account.Crossdock_Id__c, ")
    assert orders.endswith(
        ", Crossdock_Id__c, Status, Type, (SELECT Id, Quantity, UnitPrice, CurrencyIsoCode, Description, "
        "Product2.ProductCode, Product2.Crossdock_Id__c, Product2.QuantityUnitOfMeasure FROM OrderItems "
        "ORDER BY OrderItemNumber) FROM Order WHERE (Status = 'Activated') ORDER BY SystemModstamp, Id LIMIT 50"
    )
    assert order_lines == (
        "SELECT Id, SystemModstamp, OrderId, Order.SystemModstamp FROM OrderItem WHERE (Order.Status = 'Activated') "
        "ORDER BY SystemModstamp, Id LIMIT 49"
    )
    assert " FROM Opportunity WHERE (IsWon = true AND HasOpportunityLineItem = true) ORDER BY" in opportunities
    assert "FROM OpportunityLineItems ORDER BY CreatedDate, Id)" in opportunities
    assert "WHERE (Opportunity.IsWon = true AND Opportunity.HasOpportunityLineItem = true) " in opportunity_lines

    cursor = orjson.loads(batch.next_cursor or "")
    assert set(cursor) == {"v", "Order", "OrderItem", "Opportunity", "OpportunityLineItem"}
    again = await connector.read_changes("sales_order", batch.next_cursor, 50)
    assert again.records == []  # seen, and no line changed since
    assert "SystemModstamp >= 2026-11-22T10:09:00Z" in org.queries[4]  # the org's clock less the overlap


async def test_an_unreadable_cursor_is_a_setup_problem(connector: SalesforceConnector, org: OrderOrg) -> None:
    with pytest.raises(ConnectorError, match="reset the flow's cursor") as caught:
        await connector.read_changes("sales_order", '{"v": 7}', 50)
    assert caught.value.kind is ErrorKind.CONFIGURATION


async def test_a_status_report_is_one_composite_call_after_resolving_line_numbers(
    connector: SalesforceConnector, org: OrderOrg
) -> None:
    assert isinstance(connector, OrderStatusBoard)
    report = OrderStatusReport(
        order_local_id=ORDER_ID,
        status="backordered",
        erp_order_number="SO-20417",
        promised_date=date(2026, 12, 1),
        reason="backordered: SKU-2 x1",
        lines=[OrderLineStatus("1", Decimal(1), Decimal(0)), OrderLineStatus("2", Decimal(0), Decimal(1))],
    )
    await connector.report_order_status(report)
    assert org.queries == [
        f"SELECT Id FROM OrderItem WHERE OrderId = '{ORDER_ID}' ORDER BY OrderItemNumber",
    ]
    [body] = org.writes
    assert body == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Order"},
                "Id": ORDER_ID,
                "ERP_Status__c": "Backordered",
                "ERP_Order_Number__c": "SO-20417",
                "Promised_Date__c": "2026-12-01",
                "Status_Reason__c": "backordered: SKU-2 x1",
                "Tracking_Numbers__c": None,
                "Invoice_Numbers__c": None,
                "Invoice_Status__c": None,
            },
            {
                "attributes": {"type": "OrderItem"},
                "Id": item(1)["Id"],
                "Shipped_Quantity__c": 1.0,
                "Backordered_Quantity__c": 0.0,
                "Cancelled_Quantity__c": 0.0,
            },
            {
                "attributes": {"type": "OrderItem"},
                "Id": item(2)["Id"],
                "Shipped_Quantity__c": 0.0,
                "Backordered_Quantity__c": 1.0,
                "Cancelled_Quantity__c": 0.0,
            },
        ],
    }


async def test_a_refused_line_fails_the_report_with_the_most_retryable_kind(
    connector: SalesforceConnector, org: OrderOrg
) -> None:
    report = OrderStatusReport(ORDER_ID, "backordered", lines=[OrderLineStatus(item(1)["Id"], Decimal(0), Decimal(-1))])
    with pytest.raises(ConnectorError, match=r"1 of 2 records refused.*UNABLE_TO_LOCK_ROW") as caught:
        await connector.report_order_status(report)
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert org.queries == []  # lines named by id need no lookup


def test_status_words_and_lists_fit_the_fields() -> None:
    values = status_values(OrderStatusReport("801", "partially_shipped", invoice_state="paid", reason="x" * 300))
    assert (values["ERP_Status__c"], values["Invoice_Status__c"]) == ("Partially Shipped", "Paid")
    assert len(values["Status_Reason__c"]) == 255
    assert values["Status_Reason__c"].endswith("...")
    assert joined([]) is None
    assert joined(["1Z1", " ", "1Z2"]) == "1Z1, 1Z2"
    many = [f"1Z999AA1012345{n:04d}" for n in range(30)]
    text = joined(many)
    assert text is not None
    assert len(text) <= 255
    kept = text.split(", ")[:-1]
    assert kept == many[: len(kept)]
    assert text.endswith(f"+{30 - len(kept)} more")
    assert joined(["x" * 300]) == "+1 more"
