"""The Salesforce connector against the project's sandbox org: auth, upserts, capture (poll and CDC), limits."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossdock.config import SecretRef
from crossdock.connectors.salesforce.client import SalesforceClient
from crossdock.connectors.salesforce.config import SalesforceSettings
from crossdock.connectors.salesforce.connector import SalesforceConnector, mapping_catalog
from crossdock.mapping import MappingCatalog
from crossdock.model import Address, Contact, ContactPoint, Customer, Item, Money, PaymentTerms, PriceList
from crossdock.ports.connector import ConnectorError, ErrorKind, UpsertRequest

from .conftest import CLIENT_ID, CLIENT_SECRET, HOST, Sandbox, create_app

CATALOG: MappingCatalog = mapping_catalog("crm")


def outbound(entity: str, model: Any) -> dict[str, Any]:
    """The Salesforce payload the packaged outbound spec makes of a canonical object."""
    return CATALOG.get("crm", entity, "outbound").apply(model.model_dump(mode="json"))


def inbound(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """The canonical data the packaged inbound spec makes of a Salesforce record."""
    return CATALOG.get("crm", entity, "inbound").apply(record)


def customer(n: int, **changes: Any) -> Customer:
    """An ERP customer as the canonical model holds it."""
    fields: dict[str, Any] = {
        "id": f"cus_{n:05d}",
        "number": f"C-{n:05d}",
        "name": f"Customer {n}",
        "roles": ["sold_to", "bill_to"],
        "currency": "USD",
        "payment_terms": PaymentTerms(code="NET30", net_days=30),
        "credit_limit": Money.of("25000.00", "USD"),
        "channel": "inside_sales",
        "addresses": [
            Address(
                kind="bill_to", country="US", lines=[f"{n} Main St"], city="Atlanta", region="GA", postal_code="30301"
            ),
        ],
        "contact_points": [ContactPoint(channel="phone", value="+1 404 555 0100")],
    }
    fields.update(changes)
    return Customer(**fields)


def request(model: Any, entity: str = "customer", local_id: str | None = None) -> UpsertRequest:
    """An upsert request for a canonical object."""
    return UpsertRequest(model.id, outbound(entity, model), local_id=local_id)


async def count(connector: SalesforceConnector, soql: str) -> int:
    """How many rows a query returns."""
    return len(await connector.client.query_all(soql))


async def test_client_credentials_sign_in_and_the_limit_header_is_tracked(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    users = await connector.client.query_all("SELECT Id, Username FROM User")
    assert users[0]["Username"] == "integration@crossdock.sandbox"
    stats = await sandbox.stats()
    usage = connector.api_usage
    assert (usage.used, usage.limit) == (stats["apiUsage"], stats["dailyApiLimit"])
    assert usage.token_requests == 1


async def test_a_wrong_secret_is_a_configuration_error(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_SECRET", "not-the-secret")
    connector = sandbox.make_connector()
    with pytest.raises(ConnectorError, match="invalid client credentials") as caught:
        await connector.client.query_all("SELECT Id FROM User")
    assert caught.value.kind is ErrorKind.CONFIGURATION


async def test_jwt_bearer_sign_in(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "jwt.pem").write_bytes(private)
    app = create_app(
        tmp_path / "org.db", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, admin_token="a",
        jwt_public_key=public.decode(),
    )  # fmt: skip
    settings = SalesforceSettings.model_validate(
        {
            "login_url": HOST,
            "allow_private_network": True,  # test hosts are local or made up
            "auth": {
                "grant": "jwt_bearer",
                "client_id": CLIENT_ID,
                "username": "integration@crossdock.sandbox",
                "private_key": SecretRef(f"file:{tmp_path / 'jwt.pem'}"),
            },
        }
    )
    client = SalesforceClient("crm", settings, transport=httpx.ASGITransport(app=app))
    try:
        assert len(await client.query_all("SELECT Id FROM User")) == 1
    finally:
        await client.close()
        app.state.org.close()


async def test_an_expired_token_is_refreshed_once(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    await connector.client.query_all("SELECT Id FROM User")
    await sandbox.admin.post("/sandbox/tokens/expire")
    await connector.client.query_all("SELECT Id FROM User")
    assert connector.api_usage.token_requests == 2


async def test_the_same_canonical_id_twice_is_one_account(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    first = await connector.upsert("customer", [request(customer(1))])
    again = await connector.upsert("customer", [request(customer(1, name="Customer One"))])
    assert first[0].ok
    assert first[0].created
    assert again[0].ok
    assert not again[0].created
    assert again[0].local_id == first[0].local_id
    assert first[0].local_id is not None
    assert first[0].local_id.startswith("001")
    rows = await connector.client.query_all("SELECT Id, Name FROM Account WHERE Crossdock_Id__c = 'cus_00001'")
    assert [row["Name"] for row in rows] == ["Customer One"]


async def test_records_refused_one_by_one_do_not_hold_up_the_rest(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    requests = [
        request(customer(1)),
        UpsertRequest("cus_noname", {"AccountNumber": "C-X"}),
        UpsertRequest("cus_long", {"Name": "A" * 300}),
        UpsertRequest("cus_money", {"Name": "Bad currency", "CurrencyIsoCode": "XXX"}),
        request(customer(2)),
    ]
    results = await connector.upsert("customer", requests)
    assert [r.ok for r in results] == [True, False, False, False, True]
    codes = [r.details["errors"][0]["statusCode"] for r in results[1:4]]
    assert codes == ["REQUIRED_FIELD_MISSING", "STRING_TOO_LONG", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    assert all(r.error is not None and r.error.kind is ErrorKind.DATA_QUALITY for r in results[1:4])
    assert await count(connector, "SELECT Id FROM Account") == 2


async def test_an_unknown_field_fails_the_call_as_a_setup_problem(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    results = await connector.upsert("customer", [UpsertRequest("cus_1", {"Name": "A", "Nope__c": 1})])
    error = results[0].error
    assert error is not None
    assert error.kind is ErrorKind.CONFIGURATION
    assert "Nope__c" in str(error)


async def test_known_records_are_updated_by_id_and_stamped(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    created = await connector.client.request("POST", "sobjects/Account", body={"Name": "Made in the CRM"})
    local_id = created["id"]
    await connector.stamp_canonical_ids("customer", [(local_id, "cus_crm_1")])
    rows = await connector.client.query_all(f"SELECT Crossdock_Id__c FROM Account WHERE Id = '{local_id}'")
    assert rows[0]["Crossdock_Id__c"] == "cus_crm_1"
    results = await connector.upsert("customer", [request(customer(7, id="cus_crm_1"), local_id=local_id)])
    assert results[0].ok
    assert results[0].local_id == local_id
    assert not results[0].created
    assert await count(connector, "SELECT Id FROM Account") == 1


async def test_poll_capture_reads_changes_once_and_deletes_later(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    written = await connector.upsert("customer", [request(customer(n)) for n in range(1, 6)])
    batch = await connector.read_changes("customer", None, 3)
    assert batch.more
    assert len(batch.records) == 3
    rest = await connector.read_changes("customer", batch.next_cursor, 3)
    records = batch.records + rest.records
    assert sorted(r.local_id for r in records) == sorted(r.local_id or "" for r in written)
    # What was written reads back as the same canonical customer: an echo, not news.
    acme = next(r for r in records if r.payload["AccountNumber"] == "C-00001")
    assert inbound("customer", acme.payload) == inbound("customer", outbound("customer", customer(1)))
    cursor = rest.next_cursor
    quiet = await connector.read_changes("customer", cursor, 3)
    assert quiet.records == []
    sandbox.clock.advance(2)
    await connector.upsert("customer", [request(customer(3, name="Renamed"))])
    changed = await connector.read_changes("customer", quiet.next_cursor, 10)
    assert [r.payload["Name"] for r in changed.records] == ["Renamed"]
    victim = written[4].local_id
    await connector.client.request("DELETE", f"sobjects/Account/{victim}")
    sandbox.clock.advance(180)
    deleted = await connector.read_changes("customer", changed.next_cursor, 10)
    assert [(r.local_id, r.deleted) for r in deleted.records] == [(victim, True)]


async def test_cdc_capture_gives_complete_records_with_their_origin(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector(capture={"mode": "cdc", "cdc_transport": "sandbox", "cdc_wait_s": 0})
    start = await connector.read_changes("customer", None, 100)  # -1: from now on
    assert start.records == []
    written = await connector.upsert("customer", [request(customer(1)), request(customer(2))])
    await connector.upsert("customer", [request(customer(1, name="Customer One"))])
    batch = await connector.read_changes("customer", start.next_cursor, 100)
    by_id = {r.local_id: r for r in batch.records}
    assert set(by_id) == {r.local_id for r in written}
    one = by_id[written[0].local_id]
    assert one.payload["Name"] == "Customer One"
    assert one.payload["AccountNumber"] == "C-00001"  # the full record, not only the changed fields
    assert one.payload["attributes"]["changeEvent"]["changeOrigin"].endswith("client=crossdock")
    assert one.changed_at == one.payload["SystemModstamp"]
    await connector.client.request("DELETE", f"sobjects/Account/{written[1].local_id}")
    later = await connector.read_changes("customer", batch.next_cursor, 100)
    assert [(r.local_id, r.deleted) for r in later.records] == [(written[1].local_id, True)]
    assert int(later.next_cursor or 0) > int(batch.next_cursor or 0)


async def test_calls_per_thousand_customers(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    await sandbox.reset_stats()
    requests = [request(customer(n)) for n in range(2_000)]
    results = await connector.upsert("customer", requests)
    assert all(r.ok for r in results)
    stats = await sandbox.stats()
    calls = stats["calls"]  # every HTTP call the org answered, the token request included
    assert calls == 11
    assert calls / 2 <= 6


async def test_the_org_limit_and_injected_faults_are_classified(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    await sandbox.fault(kind="http_503", endpoint="query*", times=1)
    with pytest.raises(ConnectorError) as outage:
        await connector.client.query_all("SELECT Id FROM Account")
    assert outage.value.kind is ErrorKind.DOWNSTREAM_OUTAGE
    await sandbox.fault(kind="http_429", endpoint="query*", times=1, retry_after_s=3)
    with pytest.raises(ConnectorError) as throttled:
        await connector.client.query_all("SELECT Id FROM Account")
    assert (throttled.value.kind, throttled.value.retry_after_s) == (ErrorKind.TRANSIENT, 3.0)
    await sandbox.fault(kind="unable_to_lock_row", endpoint="composite/sobjects*", times=1)
    locked = await connector.upsert("customer", [request(customer(1))])
    assert locked[0].error is not None
    assert locked[0].error.kind is ErrorKind.TRANSIENT
    await sandbox.admin.post("/sandbox/limits", json={"daily_api_limit": 10, "api_usage": 10})
    results = await connector.upsert("customer", [request(customer(2))])
    error = results[0].error
    assert error is not None
    assert error.kind is ErrorKind.TRANSIENT
    assert "REQUEST_LIMIT_EXCEEDED" in str(error)
    assert connector.api_usage.used == 10


async def test_pacing_stops_short_of_the_org_limit(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector(pacing={"slow_down_at": 0.5, "stop_at": 0.9, "max_delay_s": 0.01})
    await sandbox.admin.post("/sandbox/limits", json={"daily_api_limit": 100, "api_usage": 95})
    await connector.client.query_all("SELECT Id FROM User")  # learns the usage
    with pytest.raises(ConnectorError, match="Crossdock stops at 90%") as caught:
        await connector.client.query_all("SELECT Id FROM User")
    assert caught.value.kind is ErrorKind.TRANSIENT


async def test_contacts_name_their_account_by_canonical_id(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    jane = Contact(
        id="con_jane",
        account_id="cus_00001",
        given_name="Jane",
        family_name="Smith",
        contact_points=[ContactPoint(channel="email", value="jane@acme.example")],
    )
    early = await connector.upsert("contact", [request(jane, "contact")])
    assert early[0].error is not None
    assert early[0].error.kind is ErrorKind.TRANSIENT
    await connector.upsert("customer", [request(customer(1))])
    results = await connector.upsert("contact", [request(jane, "contact")])
    assert results[0].ok, results[0].error
    batch = await connector.read_changes("contact", None, 10)
    assert inbound("contact", batch.records[0].payload)["account_id"] == "cus_00001"


async def test_price_lists_reach_the_standard_price_book(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    items = [
        Item(id=f"itm_{n}", sku=f"SKU-{n}", description=f"Item {n}", base_uom="EA", category="fasteners")
        for n in range(3)
    ]
    assert all(r.ok for r in await connector.upsert("item", [request(i, "item") for i in items]))
    base = PriceList(
        id="prl_base",
        code="LIST",
        name="List prices",
        currency="USD",
        valid_from=date(2026, 1, 1),
        entries=[
            {
                "item_id": i.id,
                "sku": i.sku,
                "uom": "EA",
                "breaks": [{"min_quantity": 1, "unit_price": Money.of(n + 1, "USD")}],
            }
            for n, i in enumerate(items)
        ],
    )
    results = await connector.upsert("price_list", [request(base, "price_list")])
    assert results[0].ok, results[0].error
    rows = await connector.client.query_all(
        "SELECT UnitPrice, Product2.Crossdock_Id__c FROM PricebookEntry WHERE Pricebook2.IsStandard = true"
    )
    assert sorted((r["Product2"]["Crossdock_Id__c"], r["UnitPrice"]) for r in rows) == [
        ("itm_0", 1.0),
        ("itm_1", 2.0),
        ("itm_2", 3.0),
    ]
    await sandbox.reset_stats()
    await connector.upsert("price_list", [request(base, "price_list")])
    assert (await sandbox.stats())["calls"] == 1  # one query finds every price already right: nothing written
    group = base.revised(id="prl_contractors", code="CONTRACTORS", customer_group="CONTRACTORS", name="Contractors")
    results = await connector.upsert("price_list", [request(group, "price_list")])
    assert results[0].ok, results[0].error
    assert results[0].local_id is not None
    assert results[0].local_id.startswith("01s")
