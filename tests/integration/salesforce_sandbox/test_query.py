"""SOQL evaluated against the org: filters by type, relationships both ways, ordering, COUNT(), errors, paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.salesforce_sandbox.support import V, create, soql, upsert_accounts


@pytest.fixture
async def customers(api: httpx.AsyncClient) -> dict[str, str]:
    """Three accounts (one a child of another) with contacts."""
    acme = await create(
        api,
        "Account",
        Name="Acme Supply",
        Industry="Electrical",
        BillingCity="Berlin",
        Credit_Limit__c=50000,
        Crossdock_Id__c="C-1",
    )
    bolt = await create(
        api,
        "Account",
        Name="Bolt & Nut",
        Industry="Manufacturing",
        Credit_Limit__c=1000.5,
        ParentId=acme,
        Crossdock_Id__c="C-2",
    )
    empty = await create(api, "Account", Name="zeta traders")
    ann = await create(api, "Contact", AccountId=acme, FirstName="Ann", LastName="Lee", Email="ann@acme.example")
    bob = await create(api, "Contact", AccountId=acme, LastName="O'Brien", Email="bob@acme.example")
    return {"acme": acme, "bolt": bolt, "empty": empty, "ann": ann, "bob": bob}


async def names(api: httpx.AsyncClient, where: str) -> list[str]:
    body = await soql(api, f"SELECT Name FROM Account WHERE {where} ORDER BY Name")
    return [record["Name"] for record in body["records"]]


async def test_record_shape_with_parent_and_child_relationships(
    api: httpx.AsyncClient, customers: dict[str, str]
) -> None:
    body = await soql(
        api,
        "SELECT Id, Name, BillingAddress, Parent.Name, (SELECT Id, Email, Account.Name FROM Contacts ORDER BY "
        "Email) FROM Account ORDER BY Name",
    )
    assert body["totalSize"] == 3
    assert body["done"] is True
    assert "nextRecordsUrl" not in body
    acme, bolt, zeta = body["records"]
    assert acme["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{customers['acme']}"}
    assert list(acme) == ["attributes", "Id", "Name", "BillingAddress", "Parent", "Contacts"]
    assert acme["BillingAddress"]["city"] == "Berlin"
    assert acme["Parent"] is None
    contacts = acme["Contacts"]
    assert contacts["totalSize"] == 2
    assert contacts["done"] is True
    assert [contact["Email"] for contact in contacts["records"]] == ["ann@acme.example", "bob@acme.example"]
    assert contacts["records"][0]["Account"]["Name"] == "Acme Supply"
    assert bolt["Parent"]["Name"] == "Acme Supply"
    assert bolt["Parent"]["attributes"]["type"] == "Account"
    assert zeta["Contacts"] is None  # an empty child relationship is null


async def test_filters(api: httpx.AsyncClient, customers: dict[str, str]) -> None:
    assert await names(api, "Name = 'ACME SUPPLY'") == ["Acme Supply"]  # case-insensitive, as in Salesforce
    assert await names(api, "Name LIKE 'acme%'") == ["Acme Supply"]
    assert await names(api, "Name LIKE '%&%'") == ["Bolt & Nut"]
    assert await names(api, "Industry != 'Electrical'") == ["Bolt & Nut", "zeta traders"]  # != keeps nulls
    assert await names(api, "Industry = null") == ["zeta traders"]
    assert await names(api, "Industry IN ('Electrical', 'Retail')") == ["Acme Supply"]
    assert await names(api, "Industry NOT IN ('Electrical')") == ["Bolt & Nut", "zeta traders"]
    assert await names(api, "Credit_Limit__c > 1000 AND Credit_Limit__c <= 50000") == ["Acme Supply", "Bolt & Nut"]
    assert await names(api, "Credit_Limit__c < 1000.6") == ["Bolt & Nut"]
    assert await names(api, "(Industry = 'Electrical' OR Parent.Name = 'Acme Supply') AND IsDeleted = false") == [
        "Acme Supply",
        "Bolt & Nut",
    ]
    assert await names(api, "NOT Name LIKE 'a%'") == ["Bolt & Nut", "zeta traders"]
    assert await names(api, f"Id = '{customers['bolt'][:15]}'") == ["Bolt & Nut"]  # 15-character ids too
    assert await names(api, f"ParentId = '{customers['acme']}'") == ["Bolt & Nut"]
    contacts = await soql(
        api, "SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien' AND Account.Name = 'Acme Supply'"
    )
    assert [record["LastName"] for record in contacts["records"]] == ["O'Brien"]


async def test_date_and_datetime_filters(api: httpx.AsyncClient, customers: dict[str, str]) -> None:
    # The test clock stands at 2026-03-02T09:30:15Z; every record was written then.
    assert len(await names(api, "SystemModstamp > 2026-03-02T09:30:00Z")) == 3
    assert len(await names(api, "SystemModstamp > 2026-03-02T09:30:00.000+0000")) == 3
    assert len(await names(api, "SystemModstamp >= 2026-03-02T10:30:16+01:00")) == 0
    assert len(await names(api, "CreatedDate = TODAY")) == 3
    assert len(await names(api, "CreatedDate = LAST_N_DAYS:3")) == 3
    assert len(await names(api, "CreatedDate < YESTERDAY")) == 0
    account = customers["acme"]
    await create(
        api, "Opportunity", Name="Q2 rollout", AccountId=account, StageName="Closed Won", CloseDate="2026-04-01"
    )
    deals = await soql(api, "SELECT Name, IsWon, IsClosed FROM Opportunity WHERE CloseDate > 2026-03-31")
    assert deals["records"][0]["IsWon"] is True
    assert (await soql(api, "SELECT Name FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:30"))["totalSize"] == 1


async def test_order_limit_offset_and_count(api: httpx.AsyncClient, customers: dict[str, str]) -> None:
    body = await soql(api, "SELECT Name, Industry FROM Account ORDER BY Industry DESC NULLS FIRST, Name LIMIT 2")
    assert [record["Name"] for record in body["records"]] == ["zeta traders", "Bolt & Nut"]
    body = await soql(api, "SELECT Name FROM Account ORDER BY Industry ASC")
    assert body["records"][0]["Name"] == "zeta traders"  # nulls first when ascending
    body = await soql(api, "SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1")
    assert [record["Name"] for record in body["records"]] == ["Bolt & Nut"]
    count = await soql(api, "SELECT COUNT() FROM Account WHERE Name LIKE '%a%'")
    assert count == {"totalSize": 2, "done": True, "records": []}


@pytest.mark.parametrize(
    ("query", "code", "text"),
    [
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported"),
        ("SELECT Id, Nmae FROM Account", "INVALID_FIELD", "No such column 'Nmae' on entity 'Account'"),
        ("SELECT Acount.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Acount'"),
        (
            "SELECT Id, (SELECT Id FROM Contactz) FROM Account",
            "INVALID_TYPE",
            "Didn't understand relationship 'Contactz'",
        ),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD", "must be of type dateTime"),
        ("SELECT Id FROM Account WHERE Credit_Limit__c > '5'", "INVALID_FIELD", "must be of type double"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD", "must be of type string and should be enclosed"),
        ("SELECT Id FROM Account WHERE IsDeleted = 'false'", "INVALID_FIELD", "must be of type boolean"),
        ("SELECT Id FROM Account WHERE Id = 'xyz'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: xyz"),
        ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Name = 'c'", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id, Name, name FROM Account", "MALFORMED_QUERY", "duplicate field selected: name"),
    ],
)
async def test_query_errors_look_like_salesforce(api: httpx.AsyncClient, query: str, code: str, text: str) -> None:
    response = await api.get(f"{V}/query", params={"q": query})
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code
    assert text in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


async def test_query_all_includes_deleted_records(api: httpx.AsyncClient, customers: dict[str, str]) -> None:
    assert (await api.delete(f"{V}/sobjects/Account/{customers['empty']}")).status_code == 204
    live = await soql(api, "SELECT Id FROM Account")
    everything = (
        await api.get(f"{V}/queryAll", params={"q": "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"})
    ).json()
    assert live["totalSize"] == 2
    assert [record["Id"] for record in everything["records"]] == [customers["empty"]]


async def test_paging_follows_next_records_url(api: httpx.AsyncClient) -> None:
    await upsert_accounts(api, 450)
    seen: list[str] = []
    body: dict[str, Any] = await soql(
        api, "SELECT Id, Name FROM Account ORDER BY Name", **{"Sforce-Query-Options": "batchSize=200"}
    )
    pages = [len(body["records"])]
    seen.extend(record["Name"] for record in body["records"])
    while not body["done"]:
        assert body["nextRecordsUrl"].startswith(f"{V}/query/01g")
        response = await api.get(body["nextRecordsUrl"])
        assert response.status_code == 200
        body = response.json()
        assert body["totalSize"] == 450
        pages.append(len(body["records"]))
        seen.extend(record["Name"] for record in body["records"])
    assert pages == [200, 200, 50]
    assert seen == sorted(seen)
    assert len(set(seen)) == 450
    default = await soql(api, "SELECT Id FROM Account")
    assert default["done"] is True  # the default batch is 2000
    tiny = await soql(api, "SELECT Id FROM Account", **{"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # Salesforce never pages below 200


async def test_bad_query_locator(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{V}/query/01gXXXXXXXXXXXXXXX-200")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert (await api.get(f"{V}/query", params={"q": ""})).json()[0]["errorCode"] == "MALFORMED_QUERY"
