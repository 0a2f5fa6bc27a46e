"""The change event feed: CometD-shaped events in commit order, replay from an id, long polls, 72-hour retention."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.salesforce_sandbox.support import ADMIN, Clock, V, create, get_token

FEED = "/sandbox/cdc/data"


async def events(api: httpx.AsyncClient, channel: str = "ChangeEvents", **params: Any) -> dict[str, Any]:
    response = await api.get(f"{FEED}/{channel}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_change_becomes_an_event_in_order(api: httpx.AsyncClient) -> None:
    account = await create(api, "Account", Name="Acme", BillingCity="Berlin", Crossdock_Id__c="C-1")
    await api.patch(f"{V}/sobjects/Account/{account}", json={"BillingCity": "Hamburg", "Phone": None, "Website": "a.b"})
    await api.delete(f"{V}/sobjects/Account/{account}")
    await api.post(f"/sandbox/undelete/{account}", headers=ADMIN)

    body = await events(api, "AccountChangeEvent", replayId=-2)
    assert body["channel"] == "/data/AccountChangeEvent"
    messages = body["events"]
    assert [message["data"]["event"]["replayId"] for message in messages] == [1, 2, 3, 4]
    assert body["latestReplayId"] == 4
    headers = [message["data"]["payload"]["ChangeEventHeader"] for message in messages]
    assert [header["changeType"] for header in headers] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    assert all(header["recordIds"] == [account] and header["entityName"] == "Account" for header in headers)
    assert headers[0]["changeOrigin"] == "com/salesforce/api/rest/61.0;client=crossdock"
    assert headers[3]["changeOrigin"] == ""  # undeleted in the UI
    assert all(message["channel"] == "/data/AccountChangeEvent" for message in messages)

    created = messages[0]["data"]["payload"]
    assert created["Name"] == "Acme"
    assert created["BillingAddress"] == {"City": "Berlin"}  # compound fields nest, as in CDC
    assert created["CreatedDate"] == "2026-03-02T09:30:15.000Z"
    assert headers[0]["changedFields"] == []
    assert messages[0]["data"]["schema"]

    updated = messages[1]["data"]["payload"]
    assert sorted(headers[1]["changedFields"]) == ["BillingAddress.City", "LastModifiedDate", "Website"]
    assert updated["BillingAddress"] == {"City": "Hamburg"}
    assert "Name" not in updated
    assert headers[1]["nulledFields"] == []  # Phone was null already, so nothing changed there
    assert set(messages[2]["data"]["payload"]) == {"ChangeEventHeader"}


async def test_replay_from_an_id_and_from_the_tip(api: httpx.AsyncClient) -> None:
    first = await create(api, "Account", Name="One")
    await create(api, "Contact", LastName="Lee", AccountId=first)
    await create(api, "Account", Name="Two")
    after_first = await events(api, replayId=1)
    assert [message["data"]["payload"]["ChangeEventHeader"]["entityName"] for message in after_first["events"]] == [
        "Contact",
        "Account",
    ]
    assert all(message["channel"] == "/data/ChangeEvents" for message in after_first["events"])
    accounts_only = await events(api, "AccountChangeEvent", replayId=0)
    assert [message["data"]["event"]["replayId"] for message in accounts_only["events"]] == [1, 3]
    tip = await events(api, replayId=-1)
    assert tip["events"] == []
    assert tip["latestReplayId"] == 3
    limited = await events(api, replayId=-2, limit=2)
    assert limited["latestReplayId"] == 2


async def test_a_long_poll_wakes_up_on_a_commit(api: httpx.AsyncClient) -> None:
    async def write_soon() -> None:
        await asyncio.sleep(0.1)
        await create(api, "Account", Name="Late arrival")

    poll, _ = await asyncio.gather(events(api, "AccountChangeEvent", replayId=-1, wait=5), write_soon())
    assert [message["data"]["payload"]["Name"] for message in poll["events"]] == ["Late arrival"]
    quiet = await events(api, "ContactChangeEvent", replayId=poll["latestReplayId"], wait=0.2)
    assert quiet["events"] == []


async def test_events_are_kept_72_hours(api: httpx.AsyncClient, clock: Clock) -> None:
    await create(api, "Account", Name="Old")
    clock.advance(hours=73)
    api.headers["Authorization"] = f"Bearer {await get_token(api)}"  # the old session expired meanwhile
    await create(api, "Account", Name="New")
    await api.post("/sandbox/cdc/prune", headers=ADMIN)
    body = await events(api, replayId=-2)
    assert [message["data"]["payload"]["Name"] for message in body["events"]] == ["New"]
    too_old = await api.get(f"{FEED}/ChangeEvents", params={"replayId": 0})
    assert too_old.status_code == 400
    assert too_old.json()[0]["errorCode"] == "INVALID_REPLAY_ID"
    assert (await events(api, replayId=1))["latestReplayId"] == 2


async def test_channels_and_auth(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"{FEED}/BogusChangeEvent")).status_code == 404
    assert (await api.get(f"{FEED}/ChangeEvents", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await api.get(f"{FEED}/ChangeEvents", headers=ADMIN)).status_code == 200
