"""Orders and opportunity products in the sandbox org: status fields, opportunity line rules, line numbers, and the
replication and change events the connector's sales order capture reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.salesforce_sandbox.support import Clock, V, create, soql

FEED = "/sandbox/cdc/data"


@dataclass(frozen=True)
class Catalogue:
    """An account, two products, and their entries in the standard and a wholesale price book."""

    account: str
    standard: str
    wholesale: str
    bolt_standard: str
    bolt_wholesale: str
    nut_wholesale: str


async def catalogue(api: httpx.AsyncClient) -> Catalogue:
    standard = (await soql(api, "SELECT Id FROM Pricebook2 WHERE IsStandard = true"))["records"][0]["Id"]
    wholesale = await create(api, "Pricebook2", Name="Wholesale", IsActive=True)
    account = await create(api, "Account", Name="Acme Hardware", Crossdock_Id__c="cus_acme")
    entries = {}
    for code in ("HB-M8", "HN-M8"):
        product = await create(api, "Product2", Name=code, ProductCode=code, IsActive=True)
        entries[code] = (
            await create(api, "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=12, IsActive=True),
            await create(
                api, "PricebookEntry", Pricebook2Id=wholesale, Product2Id=product, UnitPrice=10, IsActive=True
            ),
        )
    return Catalogue(account, standard, wholesale, entries["HB-M8"][0], entries["HB-M8"][1], entries["HN-M8"][1])


async def fields_of(api: httpx.AsyncClient, sobject: str) -> dict[str, dict[str, Any]]:
    describe = (await api.get(f"{V}/sobjects/{sobject}/describe")).json()
    return {field["name"]: field for field in describe["fields"]}


async def events(api: httpx.AsyncClient, channel: str, replay_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"{FEED}/{channel}", params={"replayId": replay_id})
    assert response.status_code == 200, response.text
    return [message["data"]["payload"] for message in response.json()["events"]]


async def test_orders_and_opportunities_carry_the_erp_status_fields(api: httpx.AsyncClient) -> None:
    for sobject in ("Order", "Opportunity"):
        fields = await fields_of(api, sobject)
        assert fields["ERP_Order_Number__c"]["length"] == 40
        assert fields["ERP_Status__c"]["length"] == 40
        assert fields["Invoice_Status__c"]["length"] == 40
        for name in ("Status_Reason__c", "Tracking_Numbers__c", "Invoice_Numbers__c"):
            assert (fields[name]["type"], fields[name]["length"]) == ("string", 255), name
        assert fields["Promised_Date__c"]["type"] == "date"
        assert fields["ERP_Status__c"]["custom"] is True
    for sobject in ("OrderItem", "OpportunityLineItem"):
        fields = await fields_of(api, sobject)
        assert fields["Shipped_Quantity__c"]["type"] == "double"
        assert fields["Backordered_Quantity__c"]["updateable"] is True
    opportunity = await fields_of(api, "Opportunity")
    assert opportunity["HasOpportunityLineItem"]["updateable"] is False
    assert opportunity["Pricebook2Id"]["referenceTo"] == ["Pricebook2"]
    describe = (await api.get(f"{V}/sobjects/OpportunityLineItem/describe")).json()
    assert describe["keyPrefix"] == "00k"
    assert describe["label"] == "Opportunity Product"
    parents = (await api.get(f"{V}/sobjects/Opportunity/describe")).json()["childRelationships"]
    assert "OpportunityLineItems" in {relationship["relationshipName"] for relationship in parents}


async def test_opportunity_products_follow_salesforces_rules(api: httpx.AsyncClient) -> None:
    books = await catalogue(api)
    deal = await create(
        api, "Opportunity", Name="Q2 bolts", AccountId=books.account, StageName="Negotiation/Review",
        CloseDate="2026-04-01", Amount=999,
    )  # fmt: skip
    # The first product chooses the price book; the next must come from it.
    first = await create(
        api, "OpportunityLineItem", OpportunityId=deal, PricebookEntryId=books.bolt_wholesale, Quantity=3,
        UnitPrice=9.5, Description="Zinc",
    )  # fmt: skip
    assert first.startswith("00k")
    other_book = await api.post(
        f"{V}/sobjects/OpportunityLineItem",
        json={"OpportunityId": deal, "PricebookEntryId": books.bolt_standard, "Quantity": 1, "UnitPrice": 12},
    )
    assert other_book.status_code == 400
    assert other_book.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    await create(api, "OpportunityLineItem", OpportunityId=deal, PricebookEntryId=books.nut_wholesale, Quantity=10,
                 UnitPrice=1.25)  # fmt: skip

    body = await soql(
        api,
        "SELECT Pricebook2Id, Amount, HasOpportunityLineItem, (SELECT ProductCode, ListPrice, TotalPrice, "
        "CurrencyIsoCode, Product2.ProductCode FROM OpportunityLineItems ORDER BY CreatedDate, Id) "
        f"FROM Opportunity WHERE Id = '{deal}'",
    )
    [record] = body["records"]
    assert record["Pricebook2Id"] == books.wholesale
    assert (record["Amount"], record["HasOpportunityLineItem"]) == (41.0, True)
    lines = record["OpportunityLineItems"]["records"]
    assert [(line["ProductCode"], line["ListPrice"], line["TotalPrice"]) for line in lines] == [
        ("HB-M8", 10.0, 28.5),
        ("HN-M8", 10.0, 12.5),
    ]
    assert {line["CurrencyIsoCode"] for line in lines} == {"USD"}
    assert lines[1]["Product2"]["ProductCode"] == "HN-M8"

    # While it has products, an opportunity's Amount is their total, whatever is written.
    assert (await api.patch(f"{V}/sobjects/Opportunity/{deal}", json={"Amount": 5})).status_code == 204
    assert (await api.get(f"{V}/sobjects/Opportunity/{deal}")).json()["Amount"] == 41.0
    assert (await api.delete(f"{V}/sobjects/OpportunityLineItem/{first}")).status_code == 204
    assert (await api.get(f"{V}/sobjects/Opportunity/{deal}")).json()["Amount"] == 12.5

    closed = await api.patch(f"{V}/sobjects/Opportunity/{deal}", json={"StageName": "Closed Won"})
    assert closed.status_code == 204
    won = await soql(api, "SELECT Id FROM Opportunity WHERE IsWon = true AND HasOpportunityLineItem = true")
    assert [row["Id"] for row in won["records"]] == [deal]
    assert (await api.delete(f"{V}/sobjects/Opportunity/{deal}")).status_code == 204
    assert (await soql(api, "SELECT COUNT() FROM OpportunityLineItem"))["totalSize"] == 0


async def test_an_opportunity_takes_no_product_from_an_inactive_price_book(api: httpx.AsyncClient) -> None:
    books = await catalogue(api)
    await api.patch(f"{V}/sobjects/Pricebook2/{books.wholesale}", json={"IsActive": False})
    deal = await create(api, "Opportunity", Name="Old prices", StageName="Prospecting", CloseDate="2026-04-01")
    refused = await api.post(
        f"{V}/sobjects/OpportunityLineItem",
        json={"OpportunityId": deal, "PricebookEntryId": books.bolt_wholesale, "Quantity": 1, "UnitPrice": 10},
    )
    assert refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert (await api.get(f"{V}/sobjects/Opportunity/{deal}")).json()["Pricebook2Id"] is None


async def test_order_item_numbers_are_unique_in_the_org(api: httpx.AsyncClient) -> None:
    books = await catalogue(api)
    numbers: list[str] = []
    for _ in range(2):
        order = await create(
            api, "Order", AccountId=books.account, EffectiveDate="2026-03-02", Pricebook2Id=books.wholesale
        )
        doomed = await create(api, "OrderItem", OrderId=order, PricebookEntryId=books.bolt_wholesale, Quantity=1,
                              UnitPrice=10)  # fmt: skip
        await api.delete(f"{V}/sobjects/OrderItem/{doomed}")
        for entry in (books.bolt_wholesale, books.nut_wholesale):
            await create(api, "OrderItem", OrderId=order, PricebookEntryId=entry, Quantity=2, UnitPrice=10)
        body = await soql(api, f"SELECT OrderItemNumber FROM OrderItem WHERE OrderId = '{order}'")
        numbers += [row["OrderItemNumber"] for row in body["records"]]
    assert numbers == ["0000000002", "0000000003", "0000000005", "0000000006"]


async def test_an_order_and_its_items_take_the_erp_status_in_one_collection_call(api: httpx.AsyncClient) -> None:
    books = await catalogue(api)
    order = await create(api, "Order", AccountId=books.account, EffectiveDate="2026-03-02",
                         Pricebook2Id=books.wholesale, Status="Activated")  # fmt: skip
    items = [
        await create(api, "OrderItem", OrderId=order, PricebookEntryId=entry, Quantity=4, UnitPrice=10)
        for entry in (books.bolt_wholesale, books.nut_wholesale)
    ]
    status = {
        "attributes": {"type": "Order"},
        "Id": order,
        "ERP_Status__c": "Partially Shipped",
        "ERP_Order_Number__c": "SO-20417",
        "Tracking_Numbers__c": "1Z999AA10123456784",
    }
    lines = [
        {"attributes": {"type": "OrderItem"}, "Id": item, "Shipped_Quantity__c": 4 - n, "Backordered_Quantity__c": n}
        for n, item in enumerate(items)
    ]
    answer = await api.patch(f"{V}/composite/sobjects", json={"allOrNone": False, "records": [status, *lines]})
    assert [result["success"] for result in answer.json()] == [True, True, True]
    body = await soql(
        api,
        "SELECT ERP_Status__c, ERP_Order_Number__c, (SELECT Shipped_Quantity__c, Backordered_Quantity__c "
        f"FROM OrderItems ORDER BY OrderItemNumber) FROM Order WHERE Id = '{order}'",
    )
    [record] = body["records"]
    assert (record["ERP_Status__c"], record["ERP_Order_Number__c"]) == ("Partially Shipped", "SO-20417")
    assert [
        (row["Shipped_Quantity__c"], row["Backordered_Quantity__c"]) for row in record["OrderItems"]["records"]
    ] == [
        (4.0, 0.0),
        (3.0, 1.0),
    ]


async def test_orders_lines_and_opportunities_are_replicated_and_streamed(api: httpx.AsyncClient, clock: Clock) -> None:
    books = await catalogue(api)
    order = await create(api, "Order", AccountId=books.account, EffectiveDate="2026-03-02",
                         Pricebook2Id=books.wholesale)  # fmt: skip
    item = await create(api, "OrderItem", OrderId=order, PricebookEntryId=books.bolt_wholesale, Quantity=2,
                        UnitPrice=10)  # fmt: skip
    deal = await create(api, "Opportunity", Name="Q2", AccountId=books.account, StageName="Closed Won",
                        CloseDate="2026-04-01")  # fmt: skip
    tip = (await api.get(f"{FEED}/ChangeEvents", params={"replayId": -1})).json()["latestReplayId"]
    clock.advance(minutes=2)

    assert (await api.patch(f"{V}/sobjects/Order/{order}", json={"Status": "Activated"})).status_code == 204
    assert (await api.patch(f"{V}/sobjects/OrderItem/{item}", json={"Description": "Rush"})).status_code == 204
    line = await create(api, "OpportunityLineItem", OpportunityId=deal, PricebookEntryId=books.nut_wholesale,
                        Quantity=5, UnitPrice=1)  # fmt: skip

    streamed = await events(api, "ChangeEvents", tip)
    headers = [
        (event["ChangeEventHeader"]["entityName"], event["ChangeEventHeader"]["changeType"]) for event in streamed
    ]
    # A line edit that leaves the total alone does not touch its order; a new opportunity product does (roll-up).
    assert headers == [
        ("Order", "UPDATE"),
        ("OrderItem", "UPDATE"),
        ("Opportunity", "UPDATE"),
        ("OpportunityLineItem", "CREATE"),
        ("Opportunity", "UPDATE"),
    ]
    assert sorted(streamed[0]["ChangeEventHeader"]["changedFields"]) == ["LastModifiedDate", "Status"]
    assert "OrderId" not in streamed[1]  # an update carries only what changed
    assert streamed[3]["OpportunityId"] == deal  # a create carries every field
    assert [event["ChangeEventHeader"]["recordIds"] for event in await events(api, "OrderItemChangeEvent", tip)] == [
        [item]
    ]

    clock.advance(minutes=2)
    window = {"start": "2026-03-02T09:31:00Z", "end": "2026-03-02T09:40:00Z"}
    for sobject, changed in (
        ("Order", order),
        ("OrderItem", item),
        ("Opportunity", deal),
        ("OpportunityLineItem", line),
    ):
        updated = (await api.get(f"{V}/sobjects/{sobject}/updated/", params=window)).json()
        assert updated["ids"] == [changed], sobject
