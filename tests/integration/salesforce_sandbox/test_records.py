"""Single records: create, read, update, delete, upsert by external id, describe, and the org's object rules."""

from __future__ import annotations

import httpx
import pytest

from crossdock.sandbox.salesforce.ids import checksum, to18
from tests.integration.salesforce_sandbox.support import V, create, soql


def test_ids_carry_their_checksum_and_accept_any_case() -> None:
    assert checksum("001A0000006Vm9r") == "IAC"
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert to18("001a0000006vm9riac") == "001A0000006Vm9rIAC"  # an 18-character id is case-insensitive
    assert to18("001A0000006Vm9rIA!") is None
    assert to18("001A0000006Vm9") is None


async def test_create_read_update_delete(api: httpx.AsyncClient) -> None:
    created = await api.post(
        f"{V}/sobjects/Account", json={"Name": "Acme", "BillingCity": "Austin", "Credit_Limit__c": "2500"}
    )
    assert created.status_code == 201
    assert created.json()["success"] is True
    assert created.json()["errors"] == []
    account_id = created.json()["id"]
    assert len(account_id) == 18
    assert account_id.startswith("001")
    assert to18(account_id[:15]) == account_id
    assert created.headers["sforce-limit-info"].startswith("api-usage=")

    record = (await api.get(f"{V}/sobjects/Account/{account_id}")).json()
    assert record["attributes"]["type"] == "Account"
    assert record["Name"] == "Acme"
    assert record["Credit_Limit__c"] == 2500.0
    assert record["BillingAddress"]["city"] == "Austin"
    assert record["CreatedDate"] == "2026-03-02T09:30:15.000+0000"
    assert record["OwnerId"].startswith("005")
    assert record["CurrencyIsoCode"] == "USD"
    some = (await api.get(f"{V}/sobjects/Account/{account_id[:15]}", params={"fields": "Name,Phone"})).json()
    assert list(some) == ["attributes", "Name", "Phone"]

    assert (await api.patch(f"{V}/sobjects/Account/{account_id}", json={"Phone": "+1 512 555 0100"})).status_code == 204
    assert (await api.get(f"{V}/sobjects/Account/{account_id}")).json()["Phone"] == "+1 512 555 0100"

    assert (await api.delete(f"{V}/sobjects/Account/{account_id}")).status_code == 204
    gone = await api.get(f"{V}/sobjects/Account/{account_id}")
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


async def test_not_found_and_malformed_ids(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"{V}/sobjects/Account/0015g0000000000AAA")
    assert missing.status_code == 404
    assert missing.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    malformed = await api.get(f"{V}/sobjects/Account/banana")
    assert malformed.status_code == 404
    assert "Provided external ID field does not exist" in malformed.json()[0]["message"]
    assert (await api.get(f"{V}/sobjects/Acount/0015g0000000000AAA")).status_code == 404
    assert (await api.patch(f"{V}/sobjects/Account/0015g0000000000AAA", json={"Name": "x"})).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"Phone": "1"}, 400, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "x", "Colour__c": "red"}, 400, "INVALID_FIELD", None),
        ({"Name": "x", "Credit_Limit__c": "lots"}, 400, "JSON_PARSER_ERROR", None),
        ({"Name": "x" * 256}, 400, "STRING_TOO_LONG", ["Name"]),
        ({"Name": "x", "CurrencyIsoCode": "XYZ"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["CurrencyIsoCode"]),
        ({"Name": "x", "IsDeleted": True}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsDeleted"]),
        ({"Name": "x", "ParentId": "nope"}, 400, "MALFORMED_ID", ["ParentId"]),
        ({"Name": "x", "ParentId": "0035g0000000001AAA"}, 400, "FIELD_INTEGRITY_EXCEPTION", ["ParentId"]),
        ({"Name": "x", "ParentId": "0015g0000000001AAA"}, 400, "INVALID_CROSS_REFERENCE_KEY", ["ParentId"]),
    ],
)
async def test_create_errors(
    api: httpx.AsyncClient, body: dict[str, object], status: int, code: str, fields: list[str] | None
) -> None:
    response = await api.post(f"{V}/sobjects/Account", json=body)
    assert response.status_code == status
    [error] = response.json()
    assert error["errorCode"] == code
    if fields is not None:
        assert error["fields"] == fields


async def test_invalid_email_and_bad_json(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{V}/sobjects/Contact", json={"LastName": "Lee", "Email": "not-an-email"})
    assert response.json()[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    response = await api.post(f"{V}/sobjects/Contact", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


async def test_upsert_by_external_id(api: httpx.AsyncClient) -> None:
    url = f"{V}/sobjects/Account/Crossdock_Id__c/CUST-4711"
    created = await api.patch(url, json={"Name": "Wholesale Ltd", "Payment_Terms__c": "Net 30"})
    assert created.status_code == 201
    assert created.json()["created"] is True
    updated = await api.patch(url, json={"Payment_Terms__c": "Net 60"})
    assert updated.status_code == 200  # API v46.0 and later answer an update with a body
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    old_api = await api.patch(url.replace("v61.0", "v45.0"), json={"Payment_Terms__c": "Net 45"})
    assert old_api.status_code == 204
    record = (await api.get(f"{V}/sobjects/Account/Crossdock_Id__c/cust-4711")).json()  # case-insensitive key
    assert record["Payment_Terms__c"] == "Net 45"
    assert record["Name"] == "Wholesale Ltd"
    only_update = await api.patch(f"{V}/sobjects/Account/Crossdock_Id__c/NEW-1?updateOnly=true", json={"Name": "n"})
    assert only_update.status_code == 404
    not_external = await api.patch(f"{V}/sobjects/Account/Name/Acme", json={"Phone": "1"})
    assert not_external.status_code == 404
    assert (await api.delete(url)).status_code == 204
    assert (await api.get(f"{V}/sobjects/Account/Crossdock_Id__c/CUST-4711")).status_code == 404


async def test_external_ids_are_unique(api: httpx.AsyncClient) -> None:
    first = await create(api, "Account", Name="One", Crossdock_Id__c="K-1")
    response = await api.post(f"{V}/sobjects/Account", json={"Name": "Two", "Crossdock_Id__c": "k-1"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert first in response.json()[0]["message"]
    # After a delete the key is free again.
    await api.delete(f"{V}/sobjects/Account/{first}")
    await create(api, "Account", Name="Two", Crossdock_Id__c="K-1")


async def test_describe(api: httpx.AsyncClient) -> None:
    describe = (await api.get(f"{V}/sobjects/Account/describe")).json()
    assert describe["name"] == "Account"
    assert describe["keyPrefix"] == "001"
    fields = {field["name"]: field for field in describe["fields"]}
    assert fields["Crossdock_Id__c"]["externalId"] is True
    assert fields["Crossdock_Id__c"]["unique"] is True
    assert fields["Crossdock_Id__c"]["custom"] is True
    assert fields["Name"]["nillable"] is False
    assert fields["Id"]["updateable"] is False
    assert fields["ParentId"]["referenceTo"] == ["Account"]
    assert fields["ParentId"]["relationshipName"] == "Parent"
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert {"Contacts", "Opportunities", "Orders"} <= {
        rel["relationshipName"] for rel in describe["childRelationships"]
    }
    everything = (await api.get(f"{V}/sobjects")).json()
    assert {"Account", "Contact", "Opportunity", "Order", "OrderItem", "Product2", "Pricebook2", "PricebookEntry"} <= {
        item["name"] for item in everything["sobjects"]
    }
    assert (await api.get(f"{V}/sobjects/Order")).json()["objectDescribe"]["keyPrefix"] == "801"


async def test_deleting_an_account_cascades_to_contacts_and_clears_children(api: httpx.AsyncClient) -> None:
    parent = await create(api, "Account", Name="Parent")
    child = await create(api, "Account", Name="Child", ParentId=parent)
    await create(api, "Contact", LastName="Lee", AccountId=parent)
    assert (await api.delete(f"{V}/sobjects/Account/{parent}")).status_code == 204
    assert (await soql(api, "SELECT COUNT() FROM Contact"))["totalSize"] == 0
    assert (await api.get(f"{V}/sobjects/Account/{child}")).json()["ParentId"] is None


async def test_orders_follow_the_pricebook_rules(api: httpx.AsyncClient) -> None:
    standard = (await soql(api, "SELECT Id FROM Pricebook2 WHERE IsStandard = true"))["records"][0]["Id"]
    account = await create(api, "Account", Name="Acme")
    product = await create(
        api, "Product2", Name="Hex bolt M8", ProductCode="HB-M8", IsActive=True, QuantityUnitOfMeasure="Box"
    )
    wholesale = await create(api, "Pricebook2", Name="Wholesale", IsActive=True)
    refused = await api.post(
        f"{V}/sobjects/PricebookEntry", json={"Pricebook2Id": wholesale, "Product2Id": product, "UnitPrice": 9}
    )
    assert refused.json()[0]["errorCode"] == "STANDARD_PRICE_NOT_DEFINED"
    await create(api, "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=12.5, IsActive=True)
    entry = await create(api, "PricebookEntry", Pricebook2Id=wholesale, Product2Id=product, UnitPrice=10, IsActive=True)
    duplicate = await api.post(
        f"{V}/sobjects/PricebookEntry", json={"Pricebook2Id": wholesale, "Product2Id": product, "UnitPrice": 9}
    )
    assert duplicate.json()[0]["errorCode"] == "DUPLICATE_VALUE"

    no_book = await create(api, "Order", AccountId=account, EffectiveDate="2026-03-02")
    line_item = {"OrderId": no_book, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 10}
    refused = await api.post(f"{V}/sobjects/OrderItem", json=line_item)
    assert refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"

    order = await create(
        api,
        "Order",
        AccountId=account,
        EffectiveDate="2026-03-02",
        Pricebook2Id=wholesale,
        Promised_Date__c="2026-03-09",
        Crossdock_Id__c="SO-1001",
    )
    await create(api, "OrderItem", OrderId=order, PricebookEntryId=entry, Quantity=3, UnitPrice=10)
    line = await create(api, "OrderItem", OrderId=order, PricebookEntryId=entry, Quantity=2, UnitPrice=9.5)
    body = await soql(
        api,
        "SELECT OrderNumber, Status, TotalAmount, (SELECT Product2.Name, TotalPrice FROM OrderItems "
        "ORDER BY TotalPrice) FROM Order WHERE Crossdock_Id__c = 'SO-1001'",
    )
    [record] = body["records"]
    assert record["Status"] == "Draft"
    assert record["OrderNumber"].isdigit()
    assert record["TotalAmount"] == 49.0
    assert [item["TotalPrice"] for item in record["OrderItems"]["records"]] == [19.0, 30.0]
    assert record["OrderItems"]["records"][0]["Product2"]["Name"] == "Hex bolt M8"
    await api.delete(f"{V}/sobjects/OrderItem/{line}")
    assert (await api.get(f"{V}/sobjects/Order/{order}")).json()["TotalAmount"] == 30.0
    bad_status = await api.patch(f"{V}/sobjects/Order/{order}", json={"Status": "Shipped"})
    assert bad_status.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    blocked = await api.delete(f"{V}/sobjects/Account/{account}")
    assert blocked.status_code == 400
    assert blocked.json()[0]["errorCode"] == "DELETE_FAILED"


async def test_parents_named_by_external_id(api: httpx.AsyncClient) -> None:
    contact = {"LastName": "Lee", "Account": {"attributes": {"type": "Account"}, "Crossdock_Id__c": "CUST-1"}}
    early = await api.post(f"{V}/sobjects/Contact", json=contact)
    assert early.status_code == 400
    assert early.json()[0]["errorCode"] == "INVALID_FIELD"
    assert early.json()[0]["message"] == (
        "Foreign key external ID: CUST-1 not found for field Crossdock_Id__c in entity Account"
    )
    account = await create(api, "Account", Name="Acme", Crossdock_Id__c="cust-1")
    contact_id = await create(api, "Contact", **contact)
    assert (await api.get(f"{V}/sobjects/Contact/{contact_id}")).json()["AccountId"] == account
    by_name = await api.post(f"{V}/sobjects/Contact", json={"LastName": "x", "Account": {"Name": "Acme"}})
    assert by_name.status_code == 400
    assert by_name.json()[0]["errorCode"] == "INVALID_FIELD"
    records = [
        {
            "attributes": {"type": "Contact"},
            "LastName": "A",
            "Crossdock_Id__c": "P-1",
            "Account": {"Crossdock_Id__c": "CUST-1"},
        },
        {
            "attributes": {"type": "Contact"},
            "LastName": "B",
            "Crossdock_Id__c": "P-2",
            "Account": {"Crossdock_Id__c": "NOPE"},
        },
    ]
    results = (await api.patch(f"{V}/composite/sobjects/Contact/Crossdock_Id__c", json={"records": records})).json()
    assert results[0]["success"] is True
    assert "Foreign key external ID: NOPE" in results[1]["errors"][0]["message"]
