"""Upserts through composite sObject collections: chunks of 200, per-record results and their classification."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from crossdock.connectors.salesforce.connector import SalesforceConnector
from crossdock.ports.connector import ErrorKind, UpsertRequest

from .conftest import MakeClient
from .sf_support import API, fixture

UPSERT_ACCOUNTS = f"{API}/composite/sobjects/Account/Crossdock_Id__c"
COLLECTION = f"{API}/composite/sobjects"


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _echo_results(request: httpx.Request) -> httpx.Response:
    """Answer a collection call with one success per record, created unless it carries an Id."""
    records = _body(request)["records"]
    results = [
        {"id": r.get("Id") or f"001D{n:014d}", "success": True, "errors": [], "created": "Id" not in r}
        for n, r in enumerate(records)
    ]
    return httpx.Response(200, json=results)


@pytest.fixture
def connector(make_client: MakeClient) -> SalesforceConnector:
    """A connector on the respx router."""
    client = make_client()
    return SalesforceConnector("crm", client.settings, client=client)


async def test_upserts_go_out_in_collections_of_200_keyed_by_the_canonical_id(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    route = router.patch(UPSERT_ACCOUNTS).mock(side_effect=_echo_results)
    requests = [UpsertRequest(f"cus_{n}", {"Name": f"Account {n}", "AccountNumber": f"C-{n}"}) for n in range(450)]
    results = await connector.upsert("customer", requests)
    assert [len(_body(call.request)["records"]) for call in route.calls] == [200, 200, 50]
    first = _body(route.calls[0].request)
    assert first["allOrNone"] is False
    assert first["records"][0] == {
        "attributes": {"type": "Account"},
        "Name": "Account 0",
        "AccountNumber": "C-0",
        "Crossdock_Id__c": "cus_0",
    }
    assert [r.canonical_id for r in results] == [f"cus_{n}" for n in range(450)]
    assert all(r.ok and r.created and r.local_id for r in results)
    await connector.close()


async def test_per_record_errors_are_classified(router: respx.Router, connector: SalesforceConnector) -> None:
    router.patch(UPSERT_ACCOUNTS).respond(200, json=fixture("composite_upsert_mixed.json"))
    requests = [UpsertRequest(f"cus_{n}", {"Name": f"A{n}"}) for n in range(8)]
    results = await connector.upsert("customer", requests)
    assert [(r.ok, r.created, r.local_id) for r in results[:2]] == [
        (True, True, "001D000000IRFmaIAH"),
        (True, False, "001D000000IRFmbIAH"),
    ]
    kinds = [r.error.kind if r.error else None for r in results]
    assert kinds == [
        None,
        None,
        ErrorKind.DATA_QUALITY,  # REQUIRED_FIELD_MISSING
        ErrorKind.TRANSIENT,  # UNABLE_TO_LOCK_ROW
        ErrorKind.DATA_QUALITY,  # DUPLICATE_VALUE
        ErrorKind.TRANSIENT,  # a parent named by external id that is not there yet
        ErrorKind.CONFIGURATION,  # INSUFFICIENT_ACCESS_OR_READONLY
        ErrorKind.DATA_QUALITY,  # STRING_TOO_LONG
    ]
    missing = results[2]
    assert missing.error is not None
    assert (
        str(missing.error)
        == "Account cus_2: REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)"
    )
    assert missing.details["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[5].error is not None
    assert results[5].error.retry_after_s == 60.0
    await connector.close()


async def test_known_records_are_updated_by_id_and_stamped(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    upsert = router.patch(UPSERT_ACCOUNTS).mock(side_effect=_echo_results)
    update = router.patch(COLLECTION).mock(side_effect=_echo_results)
    requests = [
        UpsertRequest("cus_new", {"Name": "New"}),
        UpsertRequest("cus_known", {"Name": "Known", "Id": "stale"}, local_id="001D000000IRFmaIAH"),
    ]
    results = await connector.upsert("customer", requests)
    assert _body(update.calls.last.request)["records"] == [
        {"attributes": {"type": "Account"}, "Name": "Known", "Crossdock_Id__c": "cus_known", "Id": "001D000000IRFmaIAH"}
    ]
    assert [r["Crossdock_Id__c"] for r in _body(upsert.calls.last.request)["records"]] == ["cus_new"]
    assert [(r.canonical_id, r.local_id, r.created) for r in results] == [
        ("cus_new", "001D00000000000000", True),
        ("cus_known", "001D000000IRFmaIAH", False),
    ]
    await connector.close()


async def test_one_canonical_id_twice_goes_out_in_two_calls_in_order(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    route = router.patch(UPSERT_ACCOUNTS).mock(side_effect=_echo_results)
    requests = [
        UpsertRequest("cus_1", {"Name": "v1"}),
        UpsertRequest("cus_2", {"Name": "x"}),
        UpsertRequest("cus_1", {"Name": "v2"}),
    ]
    await connector.upsert("customer", requests)
    assert [[r["Name"] for r in _body(c.request)["records"]] for c in route.calls] == [["v1", "x"], ["v2"]]
    await connector.close()


async def test_a_refused_call_answers_for_its_records_and_stops_the_rest(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    route = router.patch(UPSERT_ACCOUNTS)
    route.side_effect = [
        httpx.Response(200, json=[{"id": "001", "success": True, "errors": [], "created": True}] * 200),
        httpx.Response(403, json=fixture("error_request_limit.json")),
    ]
    requests = [UpsertRequest(f"cus_{n}", {"Name": "n"}) for n in range(500)]
    results = await connector.upsert("customer", requests)
    assert route.call_count == 2
    assert all(r.ok for r in results[:200])
    errors = [r.error for r in results[200:]]
    assert all(e is not None and e.kind is ErrorKind.TRANSIENT and e.retry_after_s == 300.0 for e in errors)
    await connector.close()


async def test_a_relationship_to_no_record_clears_the_lookup(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    route = router.patch(UPSERT_ACCOUNTS).mock(side_effect=_echo_results)
    payload = {"Name": "Child", "Parent": {"Crossdock_Id__c": None}, "Region__r": {"Crossdock_Id__c": None}}
    await connector.upsert("customer", [UpsertRequest("cus_1", payload)])
    record = _body(route.calls.last.request)["records"][0]
    assert record["ParentId"] is None
    assert record["Region__c"] is None
    assert "Parent" not in record
    await connector.upsert("customer", [UpsertRequest("cus_1", {"Parent": {"Crossdock_Id__c": "cus_0"}})])
    assert _body(route.calls.last.request)["records"][0]["Parent"] == {"Crossdock_Id__c": "cus_0"}
    await connector.close()


async def test_unknown_entities_are_a_configuration_error(connector: SalesforceConnector) -> None:
    results = None
    with pytest.raises(Exception, match=r"no Salesforce object for entity 'widget'") as caught:
        results = await connector.upsert("widget", [UpsertRequest("w", {})])
    assert results is None
    assert getattr(caught.value, "kind", None) is ErrorKind.CONFIGURATION
    await connector.close()


async def test_stamping_writes_only_the_canonical_id(router: respx.Router, connector: SalesforceConnector) -> None:
    update = router.patch(COLLECTION).mock(side_effect=_echo_results)
    await connector.stamp_canonical_ids("customer", [("001D000000IRFmaIAH", "cus_a"), ("001D000000IRFmbIAH", "cus_b")])
    assert _body(update.calls.last.request)["records"] == [
        {"attributes": {"type": "Account"}, "Crossdock_Id__c": "cus_a", "Id": "001D000000IRFmaIAH"},
        {"attributes": {"type": "Account"}, "Crossdock_Id__c": "cus_b", "Id": "001D000000IRFmbIAH"},
    ]
    update.respond(200, json=[{"success": False, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "dup"}]}])
    with pytest.raises(Exception, match="1 of 1 canonical ids not stamped"):
        await connector.stamp_canonical_ids("customer", [("001D000000IRFmcIAH", "cus_a")])
    await connector.close()


async def test_price_lists_fill_price_books_without_rewriting_unchanged_entries(
    router: respx.Router, connector: SalesforceConnector
) -> None:
    queries: list[str] = []

    def query(request: httpx.Request) -> httpx.Response:
        soql = request.url.params["q"]
        queries.append(soql)
        if "FROM Pricebook2" in soql:
            return httpx.Response(200, json={"totalSize": 1, "done": True, "records": [{"Id": "01sSTD"}]})
        rows = [
            {"Id": "01uA", "Pricebook2Id": "01sSTD", "Product2": {"Crossdock_Id__c": "itm_a"}, "CurrencyIsoCode": "USD",
             "UnitPrice": 4.8, "IsActive": True},
            {"Id": "01uB", "Pricebook2Id": "01sSTD", "Product2": {"Crossdock_Id__c": "itm_b"}, "CurrencyIsoCode": "USD",
             "UnitPrice": 9.0, "IsActive": True},
        ]  # fmt: skip
        return httpx.Response(200, json={"totalSize": 2, "done": True, "records": rows})

    router.get(f"{API}/query").mock(side_effect=query)
    create = router.post(COLLECTION).mock(side_effect=_echo_results)
    update = router.patch(COLLECTION).mock(side_effect=_echo_results)
    upsert_books = router.patch(f"{API}/composite/sobjects/Pricebook2/Crossdock_Id__c").mock(side_effect=_echo_results)
    base = {
        "Crossdock_Id__c": "prl_base",
        "Name": "List prices",
        "IsActive": True,
        "IsStandard": True,
        "CurrencyIsoCode": "USD",
        "Entries": [
            {"item_id": "itm_a", "uom": "EA", "UnitPrice": 4.8},  # unchanged
            {"item_id": "itm_b", "uom": "EA", "UnitPrice": 9.5},  # new price
            {"item_id": "itm_c", "uom": "EA", "UnitPrice": 1.25},  # new entry
            {"item_id": "itm_c", "uom": "CS", "UnitPrice": 14.0},  # a second UOM: one price per product
        ],
    }
    results = await connector.upsert("price_list", [UpsertRequest("prl_base", base)])
    assert results[0].ok, results[0].error
    assert results[0].local_id == "01sSTD:prl_base", "base lists share the standard book: known by their id in it"
    assert results[0].details == {"skipped_uoms": ["itm_c:CS"], "entries": 3}
    assert upsert_books.call_count == 0  # the base list is the standard price book
    assert _body(create.calls.last.request)["records"] == [
        {
            "attributes": {"type": "PricebookEntry"},
            "Pricebook2Id": "01sSTD",
            "Product2": {"Crossdock_Id__c": "itm_c"},
            "CurrencyIsoCode": "USD",
            "UnitPrice": 1.25,
            "IsActive": True,
        }
    ]
    assert _body(update.calls.last.request)["records"] == [
        {"attributes": {"type": "PricebookEntry"}, "Id": "01uB", "UnitPrice": 9.5, "IsActive": True}
    ]
    assert "Product2.Crossdock_Id__c IN ('itm_a', 'itm_b', 'itm_c')" in queries[1]
    # A second price list reuses the standard price book id: no lookup.
    await connector.upsert("price_list", [UpsertRequest("prl_base", base)])
    assert sum("FROM Pricebook2" in q for q in queries) == 1

    group = {**base, "Crossdock_Id__c": "prl_contractors", "IsStandard": False, "Name": "Contractors"}
    group["Entries"] = [{"item_id": "itm_a", "uom": "EA", "UnitPrice": 4.5}]
    create.respond(
        200,
        json=[
            {"success": False, "errors": [{"statusCode": "STANDARD_PRICE_NOT_DEFINED", "message": "No standard price"}]}
        ],
    )
    results = await connector.upsert("price_list", [UpsertRequest("prl_contractors", group)])
    assert _body(upsert_books.calls.last.request)["records"] == [
        {
            "attributes": {"type": "Pricebook2"},
            "Crossdock_Id__c": "prl_contractors",
            "Name": "Contractors",
            "IsActive": True,
        }
    ]
    error = results[0].error
    assert error is not None
    assert error.kind is ErrorKind.TRANSIENT
    assert "1 of 1 entries refused" in str(error)
    await connector.close()
