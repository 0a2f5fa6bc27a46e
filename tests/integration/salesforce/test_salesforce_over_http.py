"""The connector over real HTTP against the sandbox served by uvicorn: call counts, long-poll CDC, the org's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crossdock.config import SecretRef
from crossdock.connectors.salesforce.config import SalesforceSettings
from crossdock.connectors.salesforce.connector import SalesforceConnector
from crossdock.ports.connector import UpsertRequest
from crossdock.sandbox.salesforce.runner import SalesforceSandbox


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceSandbox]:
    """A sandbox org on a loopback port, in a background thread."""
    sandbox = SalesforceSandbox(tmp_path / "org.db")
    monkeypatch.setenv("SF_SANDBOX_SECRET", sandbox.client_secret)
    sandbox.start()
    yield sandbox
    sandbox.stop()


def connector_for(sandbox: SalesforceSandbox, **overrides: object) -> SalesforceConnector:
    """A connector configured as a user would: URLs and a secret reference."""
    raw: dict[str, object] = {
        "login_url": sandbox.url,
        "allow_private_network": True,  # test hosts are local or made up
        "auth": {
            "grant": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": SecretRef("env:SF_SANDBOX_SECRET"),
        },
    }
    raw.update(overrides)
    return SalesforceConnector("crm", SalesforceSettings.model_validate(raw))


def account(n: int) -> UpsertRequest:
    """An account as customer.outbound.yaml writes it."""
    payload = {"AccountNumber": f"C-{n:05d}", "Name": f"Customer {n}", "CurrencyIsoCode": "USD", "Phone": "+1 404 555"}
    return UpsertRequest(f"cus_{n:05d}", payload)


async def stats(sandbox: SalesforceSandbox) -> dict[str, object]:
    """The sandbox's call statistics."""
    async with httpx.AsyncClient(base_url=sandbox.url) as admin:
        response = await admin.get("/sandbox/stats", headers={"Authorization": f"Bearer {sandbox.admin_token}"})
        return dict(response.json())


async def test_two_thousand_accounts_cost_eleven_calls(served: SalesforceSandbox) -> None:
    connector = connector_for(served)
    try:
        results = await connector.upsert("customer", [account(n) for n in range(2_000)])
        assert all(r.ok and r.created for r in results)
        again = await connector.upsert("customer", [account(n) for n in range(2_000)])
        assert not any(r.created for r in again)
        counted = await stats(served)
        assert counted["calls"] == 21  # one token, then 10 collections of 200 for each pass
        assert connector.api_usage.used == counted["apiUsage"] == 20
        assert connector.client.server_time is not None  # uvicorn's Date header: capture follows the org's clock
    finally:
        await connector.close()


async def test_cdc_long_poll_returns_as_soon_as_a_change_commits(served: SalesforceSandbox) -> None:
    reader = connector_for(served, capture={"mode": "cdc", "cdc_transport": "sandbox", "cdc_wait_s": 10})
    writer = connector_for(served, capture={"mode": "cdc", "cdc_transport": "sandbox", "cdc_wait_s": 0})
    try:
        start = await writer.read_changes("customer", None, 100)  # where the channel stands now, without waiting
        assert start.next_cursor is not None
        waiting = asyncio.create_task(reader.read_changes("customer", start.next_cursor, 100))
        await asyncio.sleep(0.2)
        written = await writer.upsert("customer", [account(1)])
        batch = await asyncio.wait_for(waiting, timeout=5)
        assert [r.local_id for r in batch.records] == [written[0].local_id]
        assert batch.records[0].payload["AccountNumber"] == "C-00001"
    finally:
        await reader.close()
        await writer.close()
