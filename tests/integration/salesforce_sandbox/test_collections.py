"""sObject Collections and composite requests: per-record results, allOrNone, the 200-record limit, references."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.salesforce_sandbox.support import ADMIN, V, create, soql, upsert_accounts

COLLECTION = f"{V}/composite/sobjects"


def account(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, **fields}


async def test_create_answers_each_record(api: httpx.AsyncClient) -> None:
    records = [
        account(Name="Good", Crossdock_Id__c="A"),
        account(Phone="no name"),
        {"attributes": {"type": "Contact"}, "LastName": "Lee"},
        account(Name="Dup", Crossdock_Id__c="a"),
    ]
    response = await api.post(COLLECTION, json={"allOrNone": False, "records": records})
    assert response.status_code == 200
    good, nameless, contact, dup = response.json()
    assert good["success"] is True
    assert good["id"].startswith("001")
    assert nameless == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert contact["id"].startswith("003")
    assert dup["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 1


async def test_all_or_none_rolls_everything_back(api: httpx.AsyncClient) -> None:
    records = [account(Name="First"), account(Name="x" * 300)]
    response = await api.post(COLLECTION, json={"allOrNone": True, "records": records})
    first, second = response.json()
    assert first["success"] is False
    assert "id" not in first
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 0
    events = (await api.get("/sandbox/cdc/data/ChangeEvents", params={"replayId": -2})).json()["events"]
    assert events == []  # nothing committed, nothing published


async def test_request_level_errors(api: httpx.AsyncClient) -> None:
    too_many = await api.post(COLLECTION, json={"records": [account(Name=str(n)) for n in range(201)]})
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    unknown_field = await api.post(COLLECTION, json={"records": [account(Name="a"), account(Name="b", Bogus__c=1)]})
    assert unknown_field.status_code == 400
    assert unknown_field.json()[0]["errorCode"] == "INVALID_FIELD"
    untyped = await api.post(COLLECTION, json={"records": [{"Name": "a"}]})
    assert untyped.json() == [{"message": "Must send a concrete entity type.", "errorCode": "INVALID_TYPE"}]
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 0


async def test_update_collection(api: httpx.AsyncClient) -> None:
    first = await create(api, "Account", Name="One")
    second = await create(api, "Account", Name="Two")
    await api.delete(f"{V}/sobjects/Account/{second}")
    records = [
        account(Id=first, Phone="1"),
        account(Id=second, Phone="2"),
        account(Id="bogus", Phone="3"),
        account(Phone="4"),
    ]
    results = (await api.patch(COLLECTION, json={"records": records})).json()
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1]["id"] == second
    assert results[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert results[3]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert (await api.get(f"{V}/sobjects/Account/{first}")).json()["Phone"] == "1"


async def test_upsert_collection_reports_created_and_updated(api: httpx.AsyncClient) -> None:
    first = await upsert_accounts(api, 250)
    assert all(result["success"] and result["created"] for result in first)
    again = await upsert_accounts(api, 250, start=200, Credit_Status__c="On Hold")
    assert [result["created"] for result in again[:50]] == [False] * 50
    assert all(result["created"] for result in again[50:])
    assert again[0]["id"] == first[200]["id"]
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 450
    assert (await soql(api, "SELECT COUNT() FROM Account WHERE Credit_Status__c = 'On Hold'"))["totalSize"] == 250


async def test_upsert_collection_errors(api: httpx.AsyncClient) -> None:
    url = f"{COLLECTION}/Account/Crossdock_Id__c"
    records = [account(Name="a", Crossdock_Id__c="K"), account(Name="b", Crossdock_Id__c="k"), account(Name="c")]
    results = (await api.patch(url, json={"records": records})).json()
    assert [result["errors"][0]["statusCode"] for result in results] == [
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        "MISSING_ARGUMENT",
    ]
    assert all(result["created"] is False for result in results)
    not_external = await api.patch(f"{COLLECTION}/Account/Name", json={"records": []})
    assert not_external.json()[0]["errorCode"] == "INVALID_FIELD"
    wrong_type = await api.patch(url, json={"records": [{"attributes": {"type": "Contact"}, "LastName": "x"}]})
    assert wrong_type.status_code == 400


async def test_delete_and_retrieve_collections(api: httpx.AsyncClient) -> None:
    ids = [result["id"] for result in await upsert_accounts(api, 3)]
    retrieved = (
        await api.get(f"{COLLECTION}/Account", params={"ids": f"{ids[0]},0015g0000000000AAA", "fields": "Name"})
    ).json()
    assert retrieved[0]["Name"] == "Account 00000"
    assert retrieved[1] is None
    posted = (await api.post(f"{COLLECTION}/Account", json={"ids": ids, "fields": ["Id", "Crossdock_Id__c"]})).json()
    assert [record["Crossdock_Id__c"] for record in posted] == ["ACC-0", "ACC-1", "ACC-2"]
    results = (await api.delete(COLLECTION, params={"ids": f"{ids[0]},{ids[1]},nonsense"})).json()
    assert [result["success"] for result in results] == [True, True, False]
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    too_many = await api.delete(COLLECTION, params={"ids": ",".join([ids[2]] * 201)})
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


async def test_composite_chains_subrequests_by_reference(api: httpx.AsyncClient) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "newAccount",
                "body": {"Name": "Composite Co", "Crossdock_Id__c": "CMP-1"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "newContact",
                "body": {"LastName": "Lee", "AccountId": "@{newAccount.id}"},
            },
            {"method": "GET", "url": f"{V}/sobjects/Account/@{{newAccount.id}}?fields=Name", "referenceId": "readBack"},
            {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Contact", "referenceId": "contacts"},
        ],
    }
    stats_before = (await api.get("/sandbox/stats", headers=ADMIN)).json()["apiUsage"]
    response = await api.post(f"{V}/composite", json=body)
    assert response.status_code == 200
    answers = response.json()["compositeResponse"]
    assert [answer["httpStatusCode"] for answer in answers] == [201, 201, 200, 200]
    assert answers[0]["httpHeaders"]["Location"] == f"{V}/sobjects/Account/{answers[0]['body']['id']}"
    assert answers[2]["body"]["Name"] == "Composite Co"
    assert answers[3]["body"]["records"][0]["Id"] == answers[1]["body"]["id"]
    stats_after = (await api.get("/sandbox/stats", headers=ADMIN)).json()["apiUsage"]
    assert stats_after - stats_before == 1  # a composite request is one API call, whatever it holds


async def test_composite_all_or_none_rolls_back(api: httpx.AsyncClient) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "ok", "body": {"Name": "Kept?"}},
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "bad", "body": {"Phone": "1"}},
            {"method": "GET", "url": f"{V}/sobjects/Account/@{{ok.id}}", "referenceId": "later"},
        ],
    }
    answers = (await api.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert [answer["body"][0]["errorCode"] for answer in answers] == [
        "PROCESSING_HALTED",
        "REQUIRED_FIELD_MISSING",
        "PROCESSING_HALTED",
    ]
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 0
    body["allOrNone"] = False
    answers = (await api.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert [answer["httpStatusCode"] for answer in answers] == [201, 400, 200]
    assert (await soql(api, "SELECT COUNT() FROM Account"))["totalSize"] == 1
