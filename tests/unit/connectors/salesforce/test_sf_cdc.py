"""Change Data Capture over CometD (recorded Bayeux shapes): sessions, replay ids, complete records, deletes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from crossdock.connectors.salesforce.cdc import channel_for
from crossdock.connectors.salesforce.connector import SalesforceConnector
from crossdock.ports.connector import ConnectorError, ErrorKind

from .conftest import MakeClient
from .sf_support import API, INSTANCE, fixture

COMETD = f"{INSTANCE}/cometd/62.0"
ACME = {
    "attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001D000000IRFmaIAH"},
    "Id": "001D000000IRFmaIAH",
    "SystemModstamp": "2026-11-22T10:05:00.000+0000",
    "Name": "Acme Hardware",
    "AccountNumber": "C-1001",
    "Phone": "+1 404 555 0101",
}


def _messages(request: httpx.Request) -> list[dict[str, Any]]:
    return list(json.loads(request.content))


@pytest.fixture
def cometd(router: respx.Router) -> respx.Router:
    """CometD endpoints answering a handshake, a subscription and one connect with two events."""
    router.post(f"{COMETD}/handshake", name="handshake").respond(200, json=fixture("cometd_handshake.json"))
    router.post(f"{COMETD}/subscribe", name="subscribe").respond(200, json=fixture("cometd_subscribe.json"))
    router.post(f"{COMETD}/connect", name="connect").respond(200, json=fixture("cometd_connect_events.json"))
    router.post(f"{COMETD}/disconnect", name="disconnect").respond(200, json=[{"successful": True}])
    router.get(f"{API}/query", name="query").respond(200, json={"totalSize": 1, "done": True, "records": [ACME]})
    return router


@pytest.fixture
def connector(make_client: MakeClient) -> SalesforceConnector:
    """A connector capturing by CDC over CometD."""
    client = make_client(capture={"mode": "cdc", "cdc_wait_s": 1})
    return SalesforceConnector("crm", client.settings, client=client)


def test_channels_follow_the_object_name() -> None:
    assert channel_for("Account") == "/data/AccountChangeEvent"
    assert channel_for("Region__c") == "/data/Region__ChangeEvent"


async def test_events_become_complete_records_with_their_origin(
    cometd: respx.Router, connector: SalesforceConnector
) -> None:
    batch = await connector.read_changes("customer", None, 100)
    subscribe = _messages(cometd.routes["subscribe"].calls.last.request)[0]
    assert subscribe["subscription"] == "/data/AccountChangeEvent"
    assert subscribe["ext"] == {"replay": {"/data/AccountChangeEvent": -1}}
    assert subscribe["clientId"] == "4tp1oqmbh0yi0ds1jq6iivfm7oyy"
    soql = cometd.routes["query"].calls.last.request.url.params["q"]
    assert soql.endswith("FROM Account WHERE Id IN ('001D000000IRFmaIAH')")  # the deleted one is not fetched
    assert batch.next_cursor == "7"
    updated, deleted = batch.records
    assert updated.local_id == "001D000000IRFmaIAH"
    assert updated.payload["AccountNumber"] == "C-1001"  # the full record, not just the changed phone
    assert updated.changed_at == "2026-11-22T10:05:00.000+0000"
    event = updated.payload["attributes"]["changeEvent"]
    assert event["changeOrigin"] == "com/salesforce/api/rest/62.0;client=crossdock"
    assert event["changeType"] == "UPDATE"
    assert event["changedFields"] == ["Phone", "LastModifiedDate"]
    assert event["replayId"] == 6
    assert (deleted.local_id, deleted.deleted) == ("001D000000IRFmdIAH", True)
    assert deleted.changed_at == "2026-11-22T10:06:00.000Z"


async def test_a_session_at_the_cursor_just_connects_again(
    cometd: respx.Router, connector: SalesforceConnector
) -> None:
    batch = await connector.read_changes("customer", None, 100)
    cometd.routes["connect"].respond(200, json=[{"channel": "/meta/connect", "successful": True}])
    empty = await connector.read_changes("customer", batch.next_cursor, 100)
    assert empty.records == []
    assert empty.next_cursor == "7"
    assert cometd.routes["handshake"].call_count == 1
    # A cursor behind the session (the last batch was never logged) resubscribes from it.
    await connector.read_changes("customer", "5", 100)
    assert cometd.routes["handshake"].call_count == 2
    assert _messages(cometd.routes["subscribe"].calls.last.request)[0]["ext"]["replay"] == {
        "/data/AccountChangeEvent": 5
    }
    await connector.close()


async def test_a_dropped_session_is_transient_and_handshakes_again(
    cometd: respx.Router, connector: SalesforceConnector
) -> None:
    cometd.routes["connect"].respond(200, json=fixture("cometd_connect_unknown_client.json"))
    with pytest.raises(ConnectorError, match="403::Unknown client") as caught:
        await connector.read_changes("customer", "7", 100)
    assert caught.value.kind is ErrorKind.TRANSIENT
    cometd.routes["connect"].respond(200, json=fixture("cometd_connect_events.json"))
    await connector.read_changes("customer", "7", 100)
    assert cometd.routes["handshake"].call_count == 2


async def test_a_record_gone_before_it_is_read_is_left_to_its_delete_event(
    cometd: respx.Router, connector: SalesforceConnector
) -> None:
    cometd.routes["query"].respond(200, json={"totalSize": 0, "done": True, "records": []})
    batch = await connector.read_changes("customer", None, 100)
    assert [(r.local_id, r.deleted) for r in batch.records] == [("001D000000IRFmdIAH", True)]


async def test_cdc_reads_do_not_spend_the_call_budget(cometd: respx.Router, connector: SalesforceConnector) -> None:
    await connector.read_changes("customer", None, 100)
    assert connector.api_usage.calls == 1  # the SOQL fetch only; handshake, subscribe and connect are streaming
